package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shiftgate/shiftgate/agent/session"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// Sessions joins the agent core to the session manager for the kiosk
// binaries: a granted session gets its own HOME, TMPDIR and the kiosk
// profile's apps for its roles (Start, called on session.started), and a
// teardown ends them all before the agent acknowledges it (End, the
// Config.Teardown).
type Sessions struct {
	mgr     *session.Manager
	profile *profiles.Profile // nil: the profile is unknown to this build, no apps
	log     *slog.Logger
	// noClipboard: the profile orders clear-clipboard but nothing here can
	// clear a clipboard (no WithClipboard).
	noClipboard bool
	clears      bool       // teardowns clear the clipboard
	noApps      bool       // WithoutApps: sessions launch nothing
	lock        *StateLock // the state directory's, held until Close
	// cleaned: a clean-up of what an earlier run left has succeeded
	// (NewSessions', or Cleanup's); Cleanup has nothing left to do.
	cleaned atomic.Bool
	// cleanMu keeps a retried Cleanup and End apart: a restored session's
	// directory is a leftover to both, and two at once would race each
	// other's kills and wipes into errors.
	cleanMu sync.Mutex
}

// ClipboardClearer clears the kiosk's clipboard; it is called at the end
// of every teardown whose profile orders clear-clipboard, and a teardown
// fails when it fails.
type ClipboardClearer func(ctx context.Context) error

// SessionsOption configures NewSessions.
type SessionsOption func(*sessionsOptions)

type sessionsOptions struct {
	clipboard ClipboardClearer
	runAs     *session.Credential
	homes     string
	noApps    bool
	command   string // the binary, in advice; default "shiftgate-agent run"
}

// WithoutApps gives sessions their own HOME and TMPDIR and a real
// teardown, but launches none of the profile's apps (shiftgate-kiosk
// --demo). Nothing then runs as the agent's own user, so NewSessions gives
// no advice about a session user.
func WithoutApps() SessionsOption {
	return func(o *sessionsOptions) { o.noApps = true }
}

// WithCommand names the binary whose flags NewSessions' advice refers to
// (default "shiftgate-agent run"; the kiosk UI gives "shiftgate-kiosk").
func WithCommand(name string) SessionsOption {
	return func(o *sessionsOptions) { o.command = name }
}

// WithSessionUser runs the sessions' apps as uid:gid, with their homes
// under homeRoot (outside the state directory), instead of as the
// agent's own user, who can read the state directory and the device key
// in it. See session.Config.RunAs.
func WithSessionUser(uid, gid uint32, homeRoot string) SessionsOption {
	return func(o *sessionsOptions) {
		o.runAs, o.homes = &session.Credential{UID: uid, GID: gid}, homeRoot
	}
}

// SessionUserFlags turns the --session-user and --session-homes flags of
// the kiosk binaries into options for NewSessions (none when both are
// empty).
func SessionUserFlags(name, homes string) ([]SessionsOption, error) {
	switch {
	case name == "" && homes == "":
		return nil, nil
	case homes == "":
		return nil, errors.New("--session-user needs --session-homes, a directory outside --state for the sessions' homes")
	case name == "":
		return nil, errors.New("--session-homes is for --session-user")
	}
	uid, gid, err := LookupSessionUser(name)
	if err != nil {
		return nil, err
	}
	return []SessionsOption{WithSessionUser(uid, gid, homes)}, nil
}

// LookupSessionUser resolves a user name (or numeric ID) for
// WithSessionUser: its user ID and primary group.
func LookupSessionUser(name string) (uid, gid uint32, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return 0, 0, fmt.Errorf("session user %q: %w", name, err)
		}
	}
	uid64, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid64, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("session user %q: IDs %q:%q are not numeric", name, u.Uid, u.Gid)
	}
	return uint32(uid64), uint32(gid64), nil
}

// WithClipboard gives the sessions the kiosk's clipboard clearer, for the
// profile's clear-clipboard teardown step. The Fyne kiosk UI gives one (the
// clipboard its window owns, ui.ClipboardClearer); the headless agent has
// no clipboard and gives none: the step is then skipped, and said so.
func WithClipboard(clear ClipboardClearer) SessionsOption {
	return func(o *sessionsOptions) { o.clipboard = clear }
}

// NewSessions reads the kiosk's enrollment in state, takes the state
// directory's lock (LockStateDir: it fails with ErrStateDirBusy while
// another agent process runs on it), loads its profile and cleans up
// whatever a crashed run left behind. A clean-up that fails is logged
// and does not fail NewSessions: Cleanup, the agent's Config.Cleanup,
// tries it again, and the agent keeps the kiosk locked until it succeeds.
// The lock is held until Close, or until the process exits: it is what
// keeps a second shiftgate-agent run or shiftgate-kiosk from ending this
// one's session apps in its own clean-up, and from taking over the
// kiosk's hub channel.
func NewSessions(state string, log *slog.Logger, opts ...SessionsOption) (_ *Sessions, err error) {
	var o sessionsOptions
	for _, opt := range opts {
		opt(&o)
	}
	en, err := ReadEnrollment(state)
	if err != nil {
		return nil, err
	}
	lock, err := LockStateDir(state)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	s := &Sessions{log: log, lock: lock, noApps: o.noApps}
	cfg := session.Config{StateDir: state, Logger: log, RunAs: o.runAs, HomeRoot: o.homes}
	if o.command == "" {
		o.command = "shiftgate-agent run"
	}
	if o.runAs == nil && !o.noApps {
		log.Warn(fmt.Sprintf("session apps run as the agent's own user and can read its state directory, the device key included: give a session user (%s --session-user, --session-homes)", o.command),
			"uid", os.Getuid())
	}
	if p, err := profiles.Get(en.Profile); err == nil {
		s.profile = p
		if cfg.Grace = p.TerminateGrace(); cfg.Grace == 0 {
			cfg.Grace = session.NoGrace // the profile's 0s, not the manager's default
		}
		if slices.ContainsFunc(p.Teardown, func(st profiles.Step) bool { return st.Action == profiles.ActionClearClipboard }) {
			if o.clipboard != nil {
				cfg.Clipboard = o.clipboard
			} else {
				s.noClipboard = true
				log.Warn("the kiosk profile's clear-clipboard teardown step cannot be done here: this agent has no clipboard to clear (the kiosk UI does it); teardowns skip it",
					"profile", en.Profile)
			}
		}
	} else {
		log.Warn("kiosk profile not built in: sessions get no apps", "profile", en.Profile, "err", err)
		cfg.Clipboard = o.clipboard // clear it anyway, if it can be
	}
	s.clears = cfg.Clipboard != nil
	if s.mgr, err = session.New(cfg); err != nil {
		return nil, err
	}
	// Bounded as each of the agent's tries is (DefaultTeardownTimeout:
	// the kiosk binaries leave Config.TeardownTimeout unset). A failed
	// try here is only logged, and the agent's tries of Cleanup go on
	// from it and say so (cleanup.failed); one that hung here would hold
	// up the binary's start before anything could say why.
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTeardownTimeout)
	defer cancel()
	if err := s.mgr.Cleanup(ctx); err != nil {
		log.Error("cleaning up what an earlier run left failed: the kiosk stays locked until a retry succeeds", "err", err)
	} else {
		s.cleaned.Store(true)
	}
	return s, nil
}

// Cleanup is a Config.Cleanup: it tries again the clean-up of what an
// earlier run left (session.Manager.Cleanup) when the one NewSessions did,
// or the last try, failed, and returns nil at once once one has
// succeeded. Sessions this process started are not touched. Until it
// returns nil the agent signs nobody in: a crashed run's session whose
// apps could not be ended (a process that would not die) or whose files
// could not be removed is not named in session.json when that was dropped
// (a full disk), and nothing else would try again. It gives up when ctx is
// done, with an error (session.Manager.Cleanup).
func (s *Sessions) Cleanup(ctx context.Context) error {
	if s.cleaned.Load() {
		return nil
	}
	s.cleanMu.Lock()
	defer s.cleanMu.Unlock()
	if err := s.mgr.Cleanup(ctx); err != nil {
		return err
	}
	s.cleaned.Store(true)
	s.log.Info("cleaned up what an earlier run left")
	return nil
}

// Profile is the kiosk's hardware profile, nil when this build does not
// know it.
func (s *Sessions) Profile() *profiles.Profile { return s.profile }

// IdleTimeout is the profile's idle timeout (Config.IdleTimeout), 0 when
// this build does not know the profile.
func (s *Sessions) IdleTimeout() time.Duration {
	if s.profile == nil {
		return 0
	}
	return s.profile.IdleTimeout
}

// MaxSession is the profile's maxSession (Config.MaxSession): the longest
// a session stays open after its grant, whatever the hub says. 0 (the
// agent's DefaultMaxSession) when this build does not know the profile.
func (s *Sessions) MaxSession() time.Duration {
	if s.profile == nil {
		return 0
	}
	return s.profile.MaxSession
}

// OfflineGrace is the profile's offlineGrace (Config.OfflineGrace): how
// long a session stays open with the hub out of reach. The profiles
// package's default when this build does not know the profile.
func (s *Sessions) OfflineGrace() time.Duration {
	if s.profile == nil {
		return profiles.DefaultOfflineGrace
	}
	return s.profile.OfflineGrace
}

// Start opens a session.started event's directories and launches its
// apps. An app that cannot start is logged; the session goes on without it.
// It logs how many apps were launched, of how many the session should
// have.
func (s *Sessions) Start(e Event) {
	sess, err := s.mgr.Start(context.Background(), session.Spec{ID: e.SessionID, User: e.User})
	if err != nil {
		s.log.Error("start session", "session", e.SessionID, "err", err)
		return
	}
	apps := s.apps(e.Role, e.Apps)
	launched := 0
	for _, app := range apps {
		if err := sess.Launch(app); err != nil {
			s.log.Warn("launch app", "session", e.SessionID, "app", app.ID, "err", err)
			continue
		}
		launched++
	}
	if s.noApps {
		s.log.Info("no session apps launched: this kiosk runs sessions without apps", "session", e.SessionID)
		return
	}
	s.log.Info("session apps launched", "session", e.SessionID, "launched", launched, "of", len(apps))
}

// ErrAppNotOffered is wrapped by the error of a Config.OpenApp asked for an
// app that the kiosk's profile does not give the session's role (Sessions
// would not have launched it at sign-in either); the state machine answers
// it with app.refused not_offered, not error: nothing failed.
var ErrAppNotOffered = errors.New("not one of the kiosk profile's apps")

// ErrNoApps is wrapped by the error of a Config.OpenApp on a kiosk whose
// sessions launch no apps (WithoutApps); the state machine answers it with
// app.refused not_supported, as for an agent without an app opener, not
// error: nothing failed.
var ErrNoApps = errors.New("this kiosk runs sessions without apps")

// OpenApp is a Config.OpenApp: it starts app in the session manager's
// session sess.ID, as Start launched it at sign-in (same user, HOME,
// TMPDIR, environment and cgroup), unless it still runs
// (session.Session.Open), and reports whether it started it. It starts
// nothing for an app that Start would not have launched (one the hub did
// not grant, or the profile does not give the session's role: an error
// wrapping ErrAppNotOffered), with
// WithoutApps (an error wrapping ErrNoApps), or for a session the manager
// does not hold (its start failed, or it has ended).
func (s *Sessions) OpenApp(sess Session, app string) (launched bool, err error) {
	if s.noApps {
		return false, fmt.Errorf("open %s in session %s: %w", app, sess.ID, ErrNoApps)
	}
	apps := s.apps(sess.Role, sess.Apps)
	i := slices.IndexFunc(apps, func(a session.App) bool { return a.ID == app })
	if i < 0 {
		return false, fmt.Errorf("open %s in session %s: %w for role %q that the session was granted", app, sess.ID, ErrAppNotOffered, sess.Role)
	}
	ms, ok := s.mgr.Lookup(sess.ID)
	if !ok {
		return false, fmt.Errorf("open %s in session %s: the session is not open here (its start failed, or it has ended)", app, sess.ID)
	}
	return ms.Open(apps[i])
}

// apps are the profile's apps for the granted roles that the hub granted;
// none with WithoutApps.
func (s *Sessions) apps(roles string, granted []string) []session.App {
	if s.profile == nil || s.noApps {
		return nil
	}
	var out []session.App
	for role := range strings.SplitSeq(roles, ",") {
		for _, a := range s.profile.AppsFor(role) {
			if slices.Contains(granted, a.ID) && !slices.ContainsFunc(out, func(x session.App) bool { return x.ID == a.ID }) {
				out = append(out, session.App{ID: a.ID, Command: a.Command})
			}
		}
	}
	return out
}

// End is a TeardownFunc: the session's processes and files are gone when
// it returns nil, and its clipboard cleared when the profile orders it and
// a clearer was given (WithClipboard; without one the step is skipped and
// logged).
func (s *Sessions) End(ctx context.Context, sess Session) error {
	s.cleanMu.Lock()
	defer s.cleanMu.Unlock()
	if err := s.mgr.End(ctx, sess.ID); err != nil && !errors.Is(err, session.ErrBadID) {
		return fmt.Errorf("tear down session %s: %w", sess.ID, err)
	}
	if s.noClipboard {
		s.log.Info("teardown step skipped: clear-clipboard (no clipboard clearer in this agent)", "session", sess.ID)
	}
	return nil
}

// ClearsClipboard reports whether teardowns clear the clipboard.
func (s *Sessions) ClearsClipboard() bool { return s.clears }

// Close releases the state directory's lock (see NewSessions) and removes
// the cgroups of open sessions that no process is left in
// (session.Manager.Close); the sessions are left as they are. Without it
// the lock goes when the process exits.
func (s *Sessions) Close() error {
	s.mgr.Close()
	return s.lock.Close()
}
