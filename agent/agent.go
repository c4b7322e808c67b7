package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// HubClient is what the session state machine needs from the device
// channel. *Client implements it; tests use a recording fake.
type HubClient interface {
	// Run keeps the channel up until ctx is done, reporting to h.
	Run(ctx context.Context, h Handler) error
	// Request sends typ with data and waits for the answer; a wire.Error
	// answer is a *RemoteError. It fails at once when not connected.
	Request(ctx context.Context, typ string, data any) (wire.Envelope, error)
	// Reply answers the push or request re with typ (ack or error).
	Reply(ctx context.Context, re, typ string, data any) error
}

// AuthenticatorSource returns the authenticator that touched the reader as
// badge name (the NAME of the stdin command "tap NAME").
type AuthenticatorSource func(name string) (authenticator.Authenticator, error)

// TeardownFunc ends a session on the kiosk: kills its processes, wipes its
// home, locks the screen. It must be idempotent (an agent restarted in the
// middle of a teardown calls it again) and give up when ctx is done. The
// agent acknowledges a session.revoke only after it has returned nil; after
// an error it keeps the session, and calls it again (with a backoff, or at
// once for a revoke of the session) until it returns nil.
type TeardownFunc func(ctx context.Context, s Session) error

// Defaults for Config.
const (
	DefaultWarning         = 5 * time.Minute
	DefaultLoginTimeout    = 15 * time.Second
	DefaultTeardownTimeout = 30 * time.Second
	// challengeMargin is the part of a challenge's life kept for signing
	// and sending: a prefetched challenge closer than this to its expiry
	// is not used.
	challengeMargin = 10 * time.Second
	maxRevoked      = 128
)

// Config configures an Agent.
type Config struct {
	// StateDir is the enrolled state directory (see Enroll); the live
	// session is kept in it.
	StateDir string
	// Hub is the device channel; nil builds a *Client from StateDir.
	Hub HubClient
	// Authenticators maps a badge name to its authenticator.
	Authenticators AuthenticatorSource
	// Teardown ends a session; nil does nothing (the session manager
	// with process groups and home wiping plugs in here).
	Teardown TeardownFunc
	// Cleanup ends what an earlier run of the agent left on the kiosk (a
	// crashed run's session apps and files, which session.json may not
	// name: it is dropped when the disk is full); it must give up when
	// ctx is done, and may be called again after it failed. Run calls it
	// once the restored session, if any, is settled, and takes no tap from
	// the locked screen until it has returned nil (a Tap that comes during
	// the first try waits for it; one during the retries is ignored,
	// cleaning_up): while it fails the
	// kiosk stays Locked, each failure emits cleanup.failed, and it is
	// tried again after 1 s, 2 s, 4 s … at most every minute, for as long
	// as it takes (cleanup.go); the hub is told of it (cleanup.report,
	// cleanup_report.go). Nil: nothing to clean up. The kiosk
	// binaries give Sessions.Cleanup.
	Cleanup func(ctx context.Context) error
	// Warning is how long before expires_at session.warning is emitted
	// (default 5 min).
	Warning time.Duration
	// IdleTimeout ends the live session with reason idle (torn down and
	// reported to the hub like a sign-out) after this long without worker
	// input (Activity, Tap); 0 never does. The kiosk binaries take it from
	// the firmware profile (Sessions.IdleTimeout).
	IdleTimeout time.Duration
	// MaxSession is the longest a session stays open after its grant,
	// whatever expires_at the hub's grant or a later session.extend gives
	// it: a longer one is cut to this (limits.go). Default
	// DefaultMaxSession; the kiosk binaries give the profile's maxSession
	// (Sessions.MaxSession). At most DefaultMaxSession.
	MaxSession time.Duration
	// OfflineGrace ends the live session with reason offline once the
	// hub has been out of reach for this long (timers.go, offlineEnd): a
	// revocation cannot reach the kiosk meanwhile, so pulling its network
	// cable must not keep a leaver's session open until its shift ends.
	// 0 never does. The kiosk binaries give the profile's offlineGrace
	// (Sessions.OfflineGrace).
	OfflineGrace time.Duration
	// OpenApp opens app in the live session s when the worker asks for it
	// (Agent.OpenApp, an app tile): it starts the app again unless it
	// still runs, and reports whether it started it (app.launched). The
	// loop calls it, only while s is open and not ending, and only for
	// one of the apps the hub granted s: no teardown of s runs while it
	// does, and none starts before it returns. It must not block for
	// long. An error wrapping ErrAppNotOffered says the kiosk does not
	// offer the app (app.refused not_offered), one wrapping ErrNoApps
	// that it opens no apps (not_supported); any other, that starting it
	// failed (error). Nil: such requests are logged and do nothing.
	// The kiosk binaries give Sessions.OpenApp.
	OpenApp func(s Session, app string) (launched bool, err error)
	// Events receives state changes; nil drops them.
	Events       EventSink
	Logger       *slog.Logger
	Clock        Clock
	AgentVersion string
	// LoginTimeout bounds a tap from badge to grant; TeardownTimeout a
	// teardown.
	LoginTimeout, TeardownTimeout time.Duration
	// Reader, if set, is the kiosk's badge reader: badges and keys
	// presented on it become taps when the state machine takes one (see
	// Reader). Nil: taps come only from Tap.
	Reader Reader
	// TouchWait bounds each wait for a touch on a USB key left plugged in
	// (default DefaultTouchWait); a wait that runs out starts again, with
	// the same challenge while it lasts.
	TouchWait time.Duration
}

type opKind int

const (
	opNone opKind = iota
	opLogin
	opRegister
)

// challenge is a prefetched login challenge and its local deadline.
type challenge struct {
	wire.Challenge
	validUntil time.Time
}

type pendingEnroll struct {
	pushID      string
	start       wire.EnrollStart
	displayName string // from the creation options, for the screen
}

// Agent is the session state machine (see State). Everything that changes
// its state — taps, sign-outs, hub pushes, timers, finished operations —
// is queued and applied by one goroutine (Run), so there are no locks
// around it; slow work (signing, hub requests, teardown) runs in goroutines
// that queue their result.
type Agent struct {
	cfg   Config
	hub   HubClient
	log   *slog.Logger
	clock Clock
	// rp is the relying party the kiosk signs for (state.json,
	// RelyingParty); nil only for a Config with its own Hub and a state
	// directory never enrolled (tests).
	rp *RelyingParty

	in      chan func()
	stopped chan struct{}
	started atomic.Bool
	wg      sync.WaitGroup
	ctx     context.Context // Run's; set before the loop starts

	stateSnap atomic.Int32
	// sessions is what the next hello reports of the kiosk's sessions
	// (publish): read by the hub client's goroutine.
	sessions  atomic.Pointer[wire.Hello]
	lastInput atomic.Pointer[inputTime] // the latest worker input (Activity)

	// Loop-owned.
	state     State
	session   *liveSession
	acks      []string // revoke pushes to acknowledge after the teardown
	tearing   bool     // the teardown hook is running
	tornFails int      // consecutive failed teardowns of the session
	retry     Timer    // the next try of a failed teardown
	timers    []Timer  // the live session's warnings and expiry (timers.go)
	idle      Timer    // the live session's idle check
	check     Timer    // the live session's periodic check of the clocks
	warned    int      // how many of the live session's warning times have been announced
	// offlineWarned: the latest session.warning (the one on screen while
	// the state is Warning) was for the offline deadline (reason offline).
	offlineWarned bool
	timerGen      int
	op            opKind
	challenge     *challenge
	fetching      bool
	enroll        *pendingEnroll
	revoked       map[string]string
	revokedOrder  []string
	early         *wire.SessionExtend // a session.extend that overtook its grant (extend.go)
	present       []*presence         // badges on the reader, in the order presented (reader.go)
	rtap          *readerTap          // the operation in flight came from the reader
	readerPaused  bool                // touch waits paused a while (no challenge, impatient key)
	readerTimer   Timer               // ends readerPaused
	pending       []wire.SessionEnd
	flushing      bool
	flushTimer    Timer // the next try of reports a live channel did not take (flush)
	// failedAlone counts, per queued report, the tries the hub answered
	// wire.ErrInternal while it recorded another report (flush).
	failedAlone map[wire.SessionEnd]int
	// inDoubt are the ends of revoked sessions whose acks went out less
	// than ackDoubt ago: reported if the channel drops meanwhile.
	inDoubt   []ackInDoubt
	connected bool
	// offlineSince is when the channel to the hub was last lost (or the
	// agent started, before its first welcome); nil while it is up.
	offlineSince *inputTime
	// warnsOffline: the warning times counted in warned are the offline
	// deadline's, not the session's own end's (warningsEnd, timers.go).
	warnsOffline bool
	// monoEnd is the live session's deadline (b), on the monotonic clock
	// (monoNow; timers.go).
	monoEnd time.Duration
	// shown is the ends_at last announced for the live session: the end a
	// screen counts down to (timers.go).
	shown shownEnd
	// unclean: Config.Cleanup has not succeeded yet; no tap is taken from
	// the locked screen (cleanup.go).
	unclean    bool
	cleanFails int   // consecutive failed tries of Config.Cleanup
	cleanRetry Timer // the next try of a failed Config.Cleanup
	// cleanReport is what the hub is told of a failing clean-up
	// (cleanup_report.go).
	cleanReport cleanReport
	// heldTap is a Tap that came while the first try of Config.Cleanup
	// had not answered (cleanup.go): taken when it succeeds.
	heldTap *tapReq
	// skew is the hub clock minus the kiosk clock (a time.Duration), set
	// by the loop on welcome (or, until then, from the restored session)
	// and read by challenge fetches in goroutines.
	skew atomic.Int64
}

// New builds an agent and reads the live session, if any, from the state
// directory. Nothing runs until Run.
//
// New does not take the state directory's lock (LockStateDir): the kiosk
// binaries call NewSessions first, which takes it before its clean-up of
// leftover sessions, and holds it for the life of the process. Code that
// runs New on a real state directory without NewSessions should hold the
// lock itself, so that no other agent process shares the directory.
func New(cfg Config) (*Agent, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("new agent: state directory required")
	}
	if cfg.Authenticators == nil {
		return nil, errors.New("new agent: authenticator required")
	}
	if cfg.Warning < 0 {
		return nil, fmt.Errorf("new agent: warning lead %s is negative", cfg.Warning)
	}
	if cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("new agent: idle timeout %s is negative", cfg.IdleTimeout)
	}
	if cfg.MaxSession < 0 || cfg.MaxSession > DefaultMaxSession {
		return nil, fmt.Errorf("new agent: longest session %s is not between 0 and %s", cfg.MaxSession, DefaultMaxSession)
	}
	if cfg.MaxSession == 0 {
		cfg.MaxSession = DefaultMaxSession
	}
	if cfg.OfflineGrace < 0 {
		return nil, fmt.Errorf("new agent: offline grace %s is negative", cfg.OfflineGrace)
	}
	if cfg.Warning == 0 {
		cfg.Warning = DefaultWarning
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = DefaultLoginTimeout
	}
	if cfg.TeardownTimeout <= 0 {
		cfg.TeardownTimeout = DefaultTeardownTimeout
	}
	if cfg.TouchWait <= 0 {
		cfg.TouchWait = DefaultTouchWait
	}
	if cfg.Teardown == nil {
		cfg.Teardown = func(context.Context, Session) error { return nil }
	}
	if cfg.Events == nil {
		cfg.Events = EventFunc(func(Event) {})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.AgentVersion == "" {
		cfg.AgentVersion = "dev"
	}
	a := &Agent{
		cfg: cfg, hub: cfg.Hub, log: cfg.Logger, clock: cfg.Clock,
		in: make(chan func(), 64), stopped: make(chan struct{}),
		state: Locked, revoked: map[string]string{},
		unclean: cfg.Cleanup != nil,
	}
	a.stateSnap.Store(int32(Locked))
	a.touch()
	start := a.inputNow()
	a.offlineSince = &start // until the first welcome
	if cfg.Hub == nil || exists(filepath.Join(cfg.StateDir, EnrollmentFile)) {
		en, err := ReadEnrollment(cfg.StateDir)
		if err != nil {
			return nil, fmt.Errorf("new agent: %w", err)
		}
		rp, err := en.RelyingParty()
		if err != nil {
			return nil, fmt.Errorf("new agent: %w", err)
		}
		a.rp = &rp
	}
	if a.hub == nil {
		c, err := ClientFromStateDir(cfg)
		if err != nil {
			return nil, fmt.Errorf("new agent: %w", err)
		}
		a.hub = c
	}
	st, err := readSessionState(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	a.session, a.pending = st.Session, st.Pending
	a.loadCleanupReport()
	if a.session != nil {
		a.setState(Active) // settled in Run: may be expired or ending
		// The last known skew, until the welcome measures it again.
		a.skew.Store(int64(time.Duration(a.session.SkewMillis) * time.Millisecond))
	}
	a.publish()
	return a, nil
}

// ClientFromStateDir builds the hub client of the kiosk enrolled in
// cfg.StateDir, as New does when cfg.Hub is nil (it uses cfg's StateDir,
// AgentVersion, Logger and Clock). It is for callers that wrap the client
// in their own HubClient, e.g. to trace its messages.
func ClientFromStateDir(cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	e, err := ReadEnrollment(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	caPEM, err := readStateFile(filepath.Join(cfg.StateDir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("read hub CA: %w", err)
	}
	pool, err := certs.CAPool(caPEM)
	if err != nil {
		return nil, err
	}
	var devicePool *x509.CertPool // nil: pool
	if pem, err := readStateFile(filepath.Join(cfg.StateDir, DeviceCAFile)); err == nil {
		if devicePool, err = certs.CAPool(pem); err != nil {
			return nil, fmt.Errorf("read %s: %w", DeviceCAFile, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", DeviceCAFile, err)
	}
	pair, err := loadKeyPair(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	r, err := certs.NewRenewer(pair)
	if err != nil {
		return nil, err
	}
	return NewClient(ClientConfig{
		HubURL: e.HubURL, CAPool: pool, DeviceCAPool: devicePool, Renewer: r, StateDir: cfg.StateDir, Profile: e.Profile,
		AgentVersion: cfg.AgentVersion, Logger: cfg.Logger, Clock: cfg.Clock,
	})
}

// State returns the current state; safe from any goroutine.
func (a *Agent) State() State { return State(a.stateSnap.Load()) }

// Tap reports that badge name touched the reader: a login from Locked, or
// a registration when the hub has sent enroll.start. Ignored (logged, and
// answered with tap.ignored) while another tap is being handled, while a
// session is being torn down, or while one is open and no enrollment is
// armed.
func (a *Agent) Tap(name string) {
	a.Activity()
	a.post(func() { a.tap(name) })
}

// Activity reports worker input — a tap, key or pointer movement on the
// screen, a command on stdin — so the live session's idle timeout starts
// again. It only records the time: it is cheap, safe from any goroutine,
// and may be called for every input event.
//
// The first input after a pause of clockCheck or more has the live
// session's deadlines checked against the clocks at once, so a kiosk
// woken from a suspend by a touch ends an expired session before showing
// it. Input that comes when the idle deadline has already passed (the kiosk
// slept through it) does not start the timeout again: it is whoever woke
// the kiosk, and the session ends idle.
func (a *Agent) Activity() {
	now := a.inputNow()
	for {
		last := a.lastInput.Load()
		live := a.State().live()
		if at, ok := a.idleDeadlineFrom(last, now); live && ok && !now.wall.Before(at) {
			a.checkSoon()
			return
		}
		if a.lastInput.CompareAndSwap(last, &now) {
			if live && (now.wall.Sub(last.wall) >= clockCheck || now.mono-last.mono >= clockCheck) {
				a.checkSoon()
			}
			return
		}
	}
}

// Signout ends the open session (reason "signout"); ignored when there is
// none.
func (a *Agent) Signout() { a.post(a.signout) }

// Run runs the hub channel and the state machine until ctx is done. The
// live session is left as it is (and in the state directory): a restarted
// agent picks it up. Run may be called once.
func (a *Agent) Run(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("agent: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	a.ctx = ctx
	defer func() {
		cancel()
		close(a.stopped)
		a.stopTimers()
		if a.retry != nil {
			a.retry.Stop()
		}
		if a.cleanRetry != nil {
			a.cleanRetry.Stop()
		}
		if a.readerTimer != nil {
			a.readerTimer.Stop()
		}
		if a.flushTimer != nil {
			a.flushTimer.Stop()
		}
		a.stopCleanupResend()
		a.wg.Wait()
	}()
	a.spawn(func(ctx context.Context) {
		if err := a.hub.Run(ctx, hubHandler{a}); err != nil {
			a.log.Error("hub client stopped", "err", err)
		}
	})
	if a.cfg.Reader != nil {
		a.spawn(a.runReader)
	}
	a.restore()
	if a.unclean {
		// After restore: a restored session's apps are started again
		// (session.started) before the clean-up looks for what is not
		// a live session's.
		a.startCleanup()
	}
	for {
		select {
		case f := <-a.in:
			if ctx.Err() != nil {
				return nil // stopping: change nothing more
			}
			f()
		case <-ctx.Done():
			return nil
		}
	}
}

// post queues f for the loop; dropped once Run has returned.
func (a *Agent) post(f func()) {
	select {
	case a.in <- f:
	case <-a.stopped:
	}
}

// spawn runs f in a goroutine that Run waits for.
func (a *Agent) spawn(f func(ctx context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f(a.ctx)
	}()
}

func (a *Agent) emit(e Event) {
	e.Time = a.clock.Now()
	a.noteShown(e)
	a.cfg.Events.Emit(e)
}

func (a *Agent) setState(s State) {
	if a.state != s {
		a.log.Debug("state", "from", a.state, "to", s)
	}
	a.state = s
	a.stateSnap.Store(int32(s))
	a.publish()
}

func (a *Agent) persist() {
	a.markBoot()
	if err := saveSessionState(a.cfg.StateDir, sessionState{Session: a.session, Pending: a.pending}); err != nil {
		a.log.Error("cannot save the session state", "err", err)
		if a.session == nil {
			a.dropSessionFile()
		}
	}
	a.publish()
}

// saveSessionState is writeSessionState; tests make it fail.
var saveSessionState = writeSessionState

// dropSessionFile removes session.json when the kiosk holds no session
// and the file could not be written to say so (a full disk, say): the
// file would still name the session that has ended, and an agent
// restarted now would restore it, signed in, for the next person at the
// kiosk. Removing needs no space. The session.end reports queued in it
// go with it; the hub makes up for them, as a hello that names no live
// session ends the kiosk's sessions the hub still holds.
func (a *Agent) dropSessionFile() {
	err := os.Remove(filepath.Join(a.cfg.StateDir, SessionFile))
	switch {
	case err == nil:
		a.log.Warn("removed the session state rather than leave it naming an ended session; its queued session.end reports are lost", "file", SessionFile)
	case !errors.Is(err, fs.ErrNotExist):
		a.log.Error("cannot remove the session state, which still names an ended session: a restarted agent would restore it; free space in the state directory or remove the file", "file", filepath.Join(a.cfg.StateDir, SessionFile), "err", err)
	}
}

// publish makes what the next hello reports of the kiosk's sessions
// (wire.Hello's LiveSession, Ended and Complete) match the loop's state.
// It runs at every change of the session or the queued reports (setState,
// persist), so a hello names a session from the moment the loop holds it
// until the hub has its session.end: the hub ends any other of this
// kiosk's live sessions as never opened.
func (a *Agent) publish() {
	h := &wire.Hello{Complete: len(a.pending) <= wire.MaxHelloEnded}
	if a.session != nil {
		h.LiveSession = a.session.ID
	}
	if h.Complete {
		for _, p := range a.pending {
			if !slices.Contains(h.Ended, p.SessionID) {
				h.Ended = append(h.Ended, p.SessionID)
			}
		}
	}
	a.sessions.Store(h)
}

// restore settles a session read from the state directory: finish its
// teardown, end it if it expired while the agent was down, or carry on.
func (a *Agent) restore() {
	s := a.session
	if s == nil {
		return
	}
	a.log.Info("restoring the live session", "session", s.ID, "user", s.User, "expires_at", s.ExpiresAt)
	if s.Ending != "" {
		// Reported whatever ended it: a revoke's push ID went with the
		// process that was tearing its session down, so the revoke is
		// never acknowledged, and the teardown usually finishes before
		// the hub is in reach, leaving no live session for a
		// welcome.revoke to ask about again. The hub takes the report as
		// the acknowledgement (and one after an ack as a no-op).
		a.beginEnd(s.Ending, "", true)
		return
	}
	// No monotonic reference survives a restart, but the boot clock
	// does, within a boot: the readings kept on it with the session
	// (markBoot) hold against a wall clock set back while the agent was
	// down. In another boot, or without them, the wall clock is all
	// there is.
	bootID, boot, bootOK := a.bootNow()
	sameBoot := bootOK && s.BootID != "" && s.BootID == bootID
	// The hub out of reach since before the restart: the offline grace
	// counts from then, not from this start (offlineEnd), by whichever
	// clock has run longer since. No welcome has come yet (restore runs
	// before the loop), so a.offlineSince is New's.
	if since := s.OfflineSince; !since.IsZero() {
		start := *a.offlineSince
		gone := start.wall.Sub(since)
		if sameBoot {
			gone = max(gone, bootMillisSince(s.BootOfflineMillis, boot))
		}
		if gone > 0 {
			a.offlineSince = &inputTime{wall: start.wall.Add(-gone), mono: start.mono - gone}
		}
	}
	// Deadline (b) starts again from the wall clock and the skew kept
	// with the session, and in the same boot ends the session no later
	// than its end on the boot clock.
	limit := maxLeft
	if sameBoot {
		limit = -bootMillisSince(s.BootEndMillis, boot)
	}
	changed := a.settleGrantTime(s)
	if a.rebaseWithin(limit) || changed || (bootOK && !sameBoot) {
		a.persist() // with this boot's readings, when they are new
	}
	a.warned = 0
	if now := a.inputNow(); !now.wall.Before(a.endAt(now)) {
		a.expire()
		return
	}
	d := a.armTimers()
	a.armIdle()
	// ends_at is the session's own end: with the hub out of reach, the
	// offline deadline is announced by its warning (warnEnd), which a
	// reconnect takes back; a countdown to it from here would stay on
	// screen after the hub is back.
	a.emit(Event{Event: EventSessionStarted, User: s.User, DisplayName: s.DisplayName, SessionID: s.ID, ExpiresAt: s.ExpiresAt,
		EndsAt: a.sessionEnd(a.inputNow()), Role: s.Role, Apps: s.Apps, Restored: true})
	a.applyDue(d)
}

// --- taps -------------------------------------------------------------

func (a *Agent) tap(name string) {
	a.startTap(tapReq{name: name})
}

// tapReq is one tap: a badge name (Tap), or a badge on the reader.
type tapReq struct {
	name string
	// auth is the reader's own handle on the badge; nil: the badge is
	// Config.Authenticators(name).
	auth authenticator.Authenticator
	// rt is set for taps from the reader.
	rt *readerTap
}

func (r tapReq) authenticator(src AuthenticatorSource) (authenticator.Authenticator, error) {
	if r.auth != nil {
		return r.auth, nil
	}
	return src(r.name)
}

// badgeUnusable says, for the log, why the authenticator of a tapped badge
// could not be had: a badge file refused for its mode, link, owner or
// contents is there, and an operator looking for a missing file would be
// sent the wrong way by "no such badge".
func badgeUnusable(err error) string {
	switch {
	case errors.Is(err, authenticator.ErrInvalidBadge):
		return "badge refused: its file is unusable (see err: fix its mode, owner or contents)"
	case errors.Is(err, authenticator.ErrInvalidName):
		return "no such badge: the name is not a badge name"
	default:
		return "badge unavailable"
	}
}

// waits reports whether the tap first waits for a touch on a plugged-in
// key: the state stays as it is until the touch.
func (r tapReq) waits() bool { return r.rt != nil && r.rt.wait }

// startTap starts a login, or a registration when an enrollment is armed,
// and reports whether it did. A tap it does not take is logged and, for a
// Tap, answered with tap.ignored.
func (a *Agent) startTap(req tapReq) bool {
	if a.state == Locked && a.unclean && a.cleanFails == 0 && req.rt == nil && a.heldTap == nil {
		// The first try of the start-up clean-up has not answered: it
		// mostly succeeds at once (NewSessions cleaned up already), and a
		// script's `tap NAME` sent as the agent starts must not be lost
		// to it. The tap waits for that try (held; cleanupDone).
		a.heldTap = &req
		return true
	}
	if reason := a.tapIgnoredFor(); reason != "" {
		a.ignoreTap(req, reason)
		return false
	}
	if a.enroll != nil {
		a.startRegister(req)
		return true
	}
	a.op = opLogin
	if !req.waits() {
		a.setState(Verifying)
	}
	ch := a.takeChallenge()
	a.spawn(func(ctx context.Context) {
		res := a.login(ctx, req, ch)
		a.post(func() { a.loginDone(res) })
	})
	return true
}

// tapIgnoredFor is why a tap would not be taken now (a TapIgnored*
// reason), or "" when it would start a login (Locked) or a registration
// (an enrollment armed, from the locked screen or during a session).
func (a *Agent) tapIgnoredFor() string {
	switch {
	case a.op != opNone || a.state == Verifying:
		return TapIgnoredBusy
	case a.state == Ending:
		return TapIgnoredEnding
	case a.state == Locked && a.unclean:
		return TapIgnoredCleaningUp
	case a.state == Locked:
		return ""
	case a.enroll != nil && (a.state == Active || a.state == Warning):
		return ""
	default:
		return TapIgnoredSessionOpen
	}
}

// ignoreTap drops req: logged, and for a Tap (not a badge on the reader,
// whose screen never changed) answered with tap.ignored, so that a screen
// that drew "Checking your badge…" for it does not wait for an answer
// that never comes.
func (a *Agent) ignoreTap(req tapReq, reason string) {
	switch reason {
	case TapIgnoredBusy:
		a.log.Info("tap ignored: the previous tap is still being handled", "badge", req.name)
	case TapIgnoredEnding:
		a.log.Info("tap ignored: the last session is still being torn down", "badge", req.name)
	case TapIgnoredCleaningUp:
		a.log.Warn("tap ignored: what an earlier run of the agent left on the kiosk is not cleaned up yet", "badge", req.name, "failed_tries", a.cleanFails)
	default:
		a.log.Info("tap ignored: a session is open; sign out first", "badge", req.name, "state", a.state)
	}
	if req.rt == nil {
		a.emit(Event{Event: EventTapIgnored, Reason: reason})
	}
}

type loginResult struct {
	grant  *wire.SessionGrant
	reason string     // refused
	unused *challenge // a challenge that did not reach the hub
	next   *challenge // the next challenge, sent with the hub's answer
	// quiet: a touch wait ended without a touch (timed out, or called
	// off); the kiosk stays as it was and nothing is emitted.
	quiet bool
	// pause: a touch wait could not get a challenge; the reader waits a
	// while before the next one.
	pause bool
}

// login runs in a goroutine: challenge, assertion, login request.
func (a *Agent) login(ctx context.Context, req tapReq, ch *challenge) loginResult {
	auth, err := req.authenticator(a.cfg.Authenticators)
	if err != nil {
		a.log.Warn("login: "+badgeUnusable(err), "badge", req.name, "err", err)
		return loginResult{reason: wire.RefusedNotRecognised, unused: ch}
	}
	if req.waits() {
		return a.loginAfterTouch(ctx, req, auth, ch)
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.LoginTimeout)
	defer cancel()
	if ch == nil {
		c, err := a.fetchChallenge(ctx)
		if err != nil {
			a.log.Warn("login: no challenge", "err", err)
			return loginResult{reason: refusalFor(err)}
		}
		ch = c
	}
	cred, err := authenticator.Authenticate(ctx, auth, ch.Origin, ch.Options)
	if err != nil {
		return loginResult{reason: a.assertionRefusal(req.name, err), unused: ch}
	}
	return a.sendLogin(ctx, cred)
}

// assertionRefusal is the login.refused reason for a badge that did not
// sign.
func (a *Agent) assertionRefusal(name string, err error) string {
	switch {
	case errors.Is(err, authenticator.ErrNoCredentials):
		return wire.RefusedNotRecognised
	case errors.Is(err, authenticator.ErrUVUnavailable):
		return wire.RefusedVerifyRequired
	default:
		a.log.Warn("login: badge failed", "badge", name, "err", err)
		return RefusedError
	}
}

// sendLogin sends the signed assertion and reads the hub's verdict.
func (a *Agent) sendLogin(ctx context.Context, cred []byte) loginResult {
	ans, err := a.hub.Request(ctx, wire.TypeLogin, wire.Login{Credential: cred})
	if err != nil {
		a.log.Warn("login: hub", "err", err)
		return loginResult{reason: refusalFor(err)}
	}
	switch ans.Type {
	case wire.TypeSessionGrant:
		var g wire.SessionGrant
		if err := ans.Unmarshal(&g); err != nil || g.SessionID == "" || g.ExpiresAt.IsZero() {
			a.log.Error("login: unusable session.grant", "err", err)
			return loginResult{reason: RefusedError}
		}
		return loginResult{grant: &g, next: a.received(g.NextChallenge)}
	case wire.TypeLoginRefused:
		var r wire.LoginRefused
		if err := ans.Unmarshal(&r); err != nil || r.Reason == "" {
			return loginResult{reason: RefusedError}
		}
		return loginResult{reason: r.Reason, next: a.received(r.NextChallenge)}
	default:
		a.log.Error("login: unexpected answer", "type", ans.Type)
		return loginResult{reason: RefusedError}
	}
}

// refusalFor maps a failed hub request to a login.refused reason.
func refusalFor(err error) string {
	var re *RemoteError
	if errors.As(err, &re) || errors.Is(err, ErrForeignRelyingParty) {
		return RefusedError
	}
	return RefusedHubUnreachable
}

func (a *Agent) loginDone(res loginResult) {
	a.op = opNone
	defer a.readerKick()
	if rt := a.rtap; rt != nil && rt.wait && !rt.touched && !res.quiet && a.state == Locked {
		a.setState(Verifying) // the key failed before a touch: refused below
	}
	a.readerTapDone(res.quiet, res.pause)
	for _, c := range []*challenge{res.next, res.unused} {
		if c != nil && a.challenge == nil && a.connected && a.challengeValid(c) {
			a.challenge = c
		}
	}
	if res.quiet {
		// A touch wait that ran out: the next one takes the challenge
		// back, or fetches a fresh one itself when it ran out too.
		return
	}
	a.prefetch() // the next challenge, right after this one was used
	if a.state != Verifying {
		if res.grant != nil {
			a.notOpened(res.grant.SessionID)
		}
		return
	}
	if res.grant == nil {
		a.setState(Locked)
		a.emit(Event{Event: EventLoginRefused, Reason: res.reason})
		return
	}
	g := res.grant
	if reason, ok := a.revoked[g.SessionID]; ok {
		// The revoke overtook the grant (they travel on different
		// paths inside the agent): never open the session.
		a.log.Info("granted session was already revoked", "session", g.SessionID, "reason", reason)
		a.setState(Locked)
		a.emit(Event{Event: EventLoginRefused, Reason: reason})
		return
	}
	if n := len(g.Apps); n > maxGrantApps {
		// No login policy grants so many (see maxGrantApps): the hub is
		// broken, and the worker is refused rather than shown a frozen
		// screen. The hub holds the session live: it is reported ended.
		a.log.Error("login: the hub's session.grant names more apps than any login policy grants: session not opened",
			"session", g.SessionID, "apps", n, "max", maxGrantApps)
		a.notOpened(g.SessionID)
		a.setState(Locked)
		a.emit(Event{Event: EventLoginRefused, Reason: RefusedError})
		return
	}
	apps := g.Apps
	if apps == nil {
		apps = []string{}
	}
	a.session = &liveSession{Session: Session{
		ID: g.SessionID, User: g.User, DisplayName: cleanName(g.DisplayName), Role: g.Role, Apps: apps, ExpiresAt: g.ExpiresAt, ExpiryReason: expiryReason(g.ExpiryReason),
		WarnSeconds: a.cleanWarnSeconds(g.WarnSeconds),
	}, GrantedAt: a.hubNow()}
	if a.offlineSince != nil {
		// The channel that brought the grant has dropped since: the
		// offline grace counts from then, after a restart too.
		a.session.OfflineSince = a.offlineSince.wall
	}
	if end, cut := a.capExpiry(a.session, g.ExpiresAt); cut {
		a.log.Warn("the hub's grant ends after the longest session this kiosk keeps open: cut",
			"session", g.SessionID, "expires_at", g.ExpiresAt, "now_ends", end, "max_session", a.cfg.MaxSession)
		a.session.ExpiresAt = end
	}
	a.rebase()
	a.persist()
	a.setState(Active)
	a.log.Info("session started", "session", g.SessionID, "user", g.User, "expires_at", a.session.ExpiresAt)
	a.warned = 0
	d := a.armTimers()
	a.armIdle()
	// ends_at is the session's own end, as in restore.
	a.emit(Event{Event: EventSessionStarted, User: g.User, DisplayName: a.session.DisplayName, SessionID: g.SessionID, ExpiresAt: a.session.ExpiresAt,
		EndsAt: a.sessionEnd(a.inputNow()), Role: g.Role, Apps: apps})
	a.applyDue(d)
	a.applyEarlyExtend()
}

// lateAnswer takes an answer of the hub's whose request had given up. A
// session.grant is a session the hub started and this kiosk never opened
// (the login ran out of time): it is reported ended.
func (a *Agent) lateAnswer(env wire.Envelope) {
	if env.Type != wire.TypeSessionGrant {
		return
	}
	var g wire.SessionGrant
	if err := env.Unmarshal(&g); err != nil || g.SessionID == "" {
		a.log.Warn("late session.grant without a session id: ignored", "err", err)
		return
	}
	a.notOpened(g.SessionID)
}

// notOpened reports the end of session id, which the hub granted and this
// kiosk did not open (reason not_opened): without the report the hub
// would show it live until it expires.
func (a *Agent) notOpened(id string) {
	if a.session != nil && a.session.ID == id {
		return
	}
	if _, ok := a.revoked[id]; ok {
		return // the hub has ended it already
	}
	if slices.ContainsFunc(a.pending, func(e wire.SessionEnd) bool { return e.SessionID == id }) {
		return
	}
	a.log.Warn("the hub granted a session that this kiosk did not open; reporting it ended", "session", id)
	a.pending = append(a.pending, wire.SessionEnd{SessionID: id, Reason: wire.ReasonNotOpened})
	a.persist()
	a.flush()
}

// --- challenges -------------------------------------------------------

func (a *Agent) challengeValid(c *challenge) bool {
	return a.clock.Now().Add(challengeMargin).Before(c.validUntil)
}

// takeChallenge returns the prefetched challenge if it is still good, and
// forgets it: challenges are single use.
func (a *Agent) takeChallenge() *challenge {
	c := a.challenge
	a.challenge = nil
	if c != nil && a.challengeValid(c) {
		return c
	}
	return nil
}

// prefetch asks for the next challenge unless one is held or on its way.
func (a *Agent) prefetch() {
	if !a.connected || a.fetching || (a.challenge != nil && a.challengeValid(a.challenge)) {
		return
	}
	a.fetching = true
	a.spawn(func(ctx context.Context) {
		c, err := a.fetchChallenge(ctx)
		a.post(func() {
			a.fetching = false
			if err != nil {
				a.log.Warn("challenge prefetch failed", "err", err)
				return
			}
			if a.connected {
				a.challenge = c
			}
		})
	})
}

func (a *Agent) fetchChallenge(ctx context.Context) (*challenge, error) {
	ans, err := a.hub.Request(ctx, wire.TypeChallengeRequest, nil)
	if err != nil {
		return nil, err
	}
	if ans.Type != wire.TypeChallenge {
		return nil, fmt.Errorf("challenge.request: hub answered %s", ans.Type)
	}
	var c wire.Challenge
	if err := ans.Unmarshal(&c); err != nil {
		return nil, err
	}
	if len(c.Options) == 0 {
		// Said for what it is: a foreign relying party's hint would send
		// the operator to state.json, and received would make it a nil
		// challenge, which login cannot sign.
		return nil, errors.New("challenge.request: the hub's challenge has no options")
	}
	if err := a.signsFor(c.Origin, c.Options, false); err != nil {
		a.log.Error("challenge refused: the hub asked for a signature for another relying party than this kiosk's", "err", err, "hint", foreignHint)
		return nil, err
	}
	return a.received(&c), nil
}

// received is a challenge from the hub with its local deadline (nil for
// nil, one without options, or one for another relying party than the
// kiosk's, which is logged).
func (a *Agent) received(c *wire.Challenge) *challenge {
	if c == nil || len(c.Options) == 0 {
		return nil
	}
	if err := a.signsFor(c.Origin, c.Options, false); err != nil {
		a.log.Error("challenge refused: the hub asked for a signature for another relying party than this kiosk's", "err", err, "hint", foreignHint)
		return nil
	}
	until := a.clock.Now().Add(wire.ChallengeTTL)
	if !c.ExpiresAt.IsZero() {
		until = minTime(until, c.ExpiresAt.Add(-time.Duration(a.skew.Load())))
	}
	return &challenge{Challenge: *c, validUntil: until}
}

func minTime(x, y time.Time) time.Time {
	if x.Before(y) {
		return x
	}
	return y
}

// --- registration -----------------------------------------------------

func (a *Agent) startRegister(req tapReq) {
	en := a.enroll
	a.op = opRegister
	if a.state == Locked && !req.waits() {
		a.setState(Verifying)
	}
	a.log.Info("registering a credential", "badge", req.name, "user", en.start.User, "touch_wait", req.waits())
	a.spawn(func(ctx context.Context) {
		res := a.register(ctx, req, en.start)
		a.post(func() { a.registerDone(en, res) })
	})
}

func (a *Agent) register(ctx context.Context, req tapReq, es wire.EnrollStart) registerResult {
	auth, err := req.authenticator(a.cfg.Authenticators)
	if err != nil {
		a.log.Warn("register: "+badgeUnusable(err), "badge", req.name, "err", err)
		return registerResult{reason: RegisterError}
	}
	var cred []byte
	if req.waits() {
		var w touchEnd
		cred, w, err = a.afterTouch(req.rt, a.cfg.TouchWait, func(ctx context.Context) ([]byte, error) {
			return authenticator.Register(ctx, auth, es.Origin, es.Options)
		})
		if w != touchedKey {
			return registerResult{quiet: true, pause: w == keyGaveUpAtOnce}
		}
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.cfg.LoginTimeout)
		defer cancel()
		cred, err = authenticator.Register(ctx, auth, es.Origin, es.Options)
	}
	if err != nil {
		return badgeRegisterFailure(a.log, req.name, err)
	}
	if req.waits() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.cfg.LoginTimeout)
		defer cancel()
	}
	return sendRegistration(ctx, a.hub, a.log, cred, es)
}

func (a *Agent) registerDone(en *pendingEnroll, res registerResult) {
	a.op = opNone
	defer a.readerKick()
	a.readerTapDone(res.quiet, res.pause)
	if res.quiet {
		return
	}
	if a.state == Verifying {
		a.setState(Locked)
	}
	current := a.enroll == en // not replaced, and the channel it came on is still up
	if res.reason == "" {
		a.log.Info("credential registered", "user", res.user)
		a.emit(Event{Event: EventCredentialRegistered, User: res.user, DisplayName: en.displayName})
		if current {
			a.enroll = nil
			a.reply(en.pushID, wire.TypeAck, nil)
			a.emit(Event{Event: EventEnrollmentEnded, User: en.start.User, Reason: EnrollmentRegistered})
		}
		return
	}
	a.emit(Event{Event: EventCredentialRefused, User: en.start.User, DisplayName: en.displayName, Reason: res.reason})
	if res.drop && current {
		a.enroll = nil
		a.reply(en.pushID, wire.TypeError, wire.Error{Code: res.code, Message: "registration refused"})
		a.emit(Event{Event: EventEnrollmentEnded, User: en.start.User, Reason: EnrollmentRefused})
	}
}

// --- hub pushes and connection ------------------------------------------

func (a *Agent) push(env wire.Envelope) {
	switch env.Type {
	case wire.TypeSessionRevoke:
		var r wire.SessionRevoke
		if err := env.Unmarshal(&r); err != nil || r.SessionID == "" {
			a.reply(env.ID, wire.TypeError, wire.Error{Code: wire.ErrBadMessage, Message: "session.revoke without session_id"})
			return
		}
		if reason := revokeReason(r.Reason); reason != r.Reason {
			if r.Reason != "" {
				a.log.Warn("session.revoke with a reason this agent does not know: ended as forced", "session", r.SessionID, "reason", r.Reason)
			}
			r.Reason = reason
		}
		a.rememberRevoked(r.SessionID, r.Reason)
		if a.session != nil && a.session.ID == r.SessionID && a.state.hasSession() {
			a.log.Info("session revoked by the hub", "session", r.SessionID, "reason", r.Reason)
			if a.state == Ending {
				a.acks = append(a.acks, env.ID)
				if !a.tearing {
					// An earlier teardown failed and waits for its retry:
					// the hub insists, so try again now.
					a.log.Info("revoke for a session whose teardown failed: trying it again now", "session", r.SessionID)
					a.startTeardown()
				}
				return
			}
			a.beginEnd(r.Reason, env.ID, false)
			return
		}
		a.log.Info("revoke for a session not open here; acknowledged", "session", r.SessionID)
		a.reply(env.ID, wire.TypeAck, nil)
	case wire.TypeEnrollStart:
		var es wire.EnrollStart
		if err := env.Unmarshal(&es); err != nil || len(es.Options) == 0 {
			a.reply(env.ID, wire.TypeError, wire.Error{Code: wire.ErrBadMessage, Message: "enroll.start without options"})
			return
		}
		if err := a.signsFor(es.Origin, es.Options, true); err != nil {
			// Refused before it is armed: no tap registers a badge for
			// it, and a pending enrollment stays as it was.
			a.log.Error("enroll.start refused: the hub asked for a registration for another relying party than this kiosk's", "user", es.User, "err", err, "hint", foreignHint)
			a.reply(env.ID, wire.TypeError, wire.Error{Code: wire.ErrBadMessage, Message: "enroll.start for another relying party than this kiosk's"})
			return
		}
		if a.enroll != nil {
			a.log.Info("enroll.start replaces the pending one", "user", a.enroll.start.User)
			a.reply(a.enroll.pushID, wire.TypeAck, nil)
		}
		a.enroll = &pendingEnroll{pushID: env.ID, start: es, displayName: creationDisplayName(es.Options)}
		a.log.Info("the next tap registers a credential", "user", es.User)
		a.emit(Event{Event: EventEnrollmentArmed, User: es.User, DisplayName: a.enroll.displayName})
		a.enrollmentArmed()
	case wire.TypeSessionExtend:
		a.extendPush(env)
	}
}

func (a *Agent) rememberRevoked(id, reason string) {
	if _, ok := a.revoked[id]; ok {
		return
	}
	a.revoked[id] = reason
	a.revokedOrder = append(a.revokedOrder, id)
	if len(a.revokedOrder) > maxRevoked {
		delete(a.revoked, a.revokedOrder[0])
		a.revokedOrder = a.revokedOrder[1:]
	}
}

// reply answers a push without blocking the loop.
func (a *Agent) reply(re, typ string, data any) {
	a.spawn(func(ctx context.Context) {
		if err := a.hub.Reply(ctx, re, typ, data); err != nil {
			a.log.Warn("cannot answer the hub; it will resend", "re", re, "type", typ, "err", err)
		}
	})
}

func (a *Agent) onConnected(w wire.Welcome) {
	a.connected = true
	if !w.ServerTime.IsZero() {
		skew := w.ServerTime.Sub(a.clock.Now())
		a.skew.Store(int64(skew))
		if skew > 30*time.Second || skew < -30*time.Second {
			a.log.Warn("kiosk clock differs from the hub's; sessions end by the hub's clock, or at expires_at on the kiosk's if that comes first", "skew", skew.Round(time.Second))
		}
	}
	a.emit(Event{Event: EventConnected, DeviceID: w.DeviceID, DeviceName: w.DeviceName, Site: w.Site})
	backOnline, wasOffline := a.backInReach(w)
	// The expiry as the hub has it now first: the old one may have passed.
	moved := false
	if w.Extend != nil {
		moved, _ = a.applyExpiry(*w.Extend)
	}
	// A session the welcome revokes ends next: its end is not announced
	// again first.
	announce := w.Revoke == nil || a.session == nil || w.Revoke.SessionID != a.session.ID
	switch {
	case moved:
	case !w.ServerTime.IsZero():
		a.resync(backOnline, announce)
	case wasOffline:
		// The timers were armed for the offline deadline, which is gone.
		a.rearm(backOnline, announce)
	}
	a.prefetch()
	a.flush()
	a.cleanupReconnected()
	a.readerKick()
}

// backInReach drops the offline deadline once the hub is in reach again
// (welcome w), and reports whether there was one. A live session whose
// deadline passed before the hub came back (the timer that ends it had not
// run yet, or the kiosk slept through it) ends now, as it would have a
// moment earlier: the hub came back too late. Otherwise, when the session
// is in Warning for the offline deadline, the warning is taken back: the
// session goes back to Active, and the session.extended (reason
// reconnected) to emit once the timers are armed for the session's own
// end is returned. Not when w revokes the session: its end follows at
// once, and the screen should not show it again first.
func (a *Agent) backInReach(w wire.Welcome) (backOnline *Event, wasOffline bool) {
	if a.offlineSince == nil {
		return nil, false
	}
	if a.state.live() {
		if now := a.inputNow(); !now.wall.Before(a.endAt(now)) {
			a.checkClock() // ends it: offline, or its own reason if that came first
		}
	}
	a.offlineSince = nil
	if a.session != nil && !a.session.OfflineSince.IsZero() {
		a.session.OfflineSince = time.Time{}
		a.persist()
	}
	if !a.state.live() {
		return nil, true
	}
	a.log.Info("hub in reach again; the session runs to its own end", "session", a.session.ID)
	revoked := w.Revoke != nil && w.Revoke.SessionID == a.session.ID
	if a.state == Warning && a.offlineWarned && !revoked {
		// Also when the session's own end, by the hub's clock the welcome
		// has just shown, is nearer than the offline deadline was: the
		// warning on screen gives the wrong reason and time, and one for
		// the session's own end follows when it is due.
		a.setState(Active)
		a.warned = 0
		backOnline = &Event{Event: EventSessionExtended, SessionID: a.session.ID, User: a.session.User,
			ExpiresAt: a.session.ExpiresAt, Reason: ExtendedReconnected}
	}
	return backOnline, true
}

func (a *Agent) onDisconnected(err error) {
	a.connected = false
	lost := a.offlineSince == nil // not when told twice
	var d due
	if lost {
		now := a.inputNow()
		a.offlineSince = &now
		if a.state.live() {
			a.session.OfflineSince = now.wall
			a.persist()
		}
		if a.cfg.OfflineGrace > 0 && a.state.live() {
			a.log.Warn("hub out of reach with a session open: it ends if the hub stays out of reach",
				"session", a.session.ID, "offline_grace", a.cfg.OfflineGrace)
			// The offline deadline may be the nearer end now: the
			// session's end is armed for it, and its warning for when
			// the hub has been out of reach for offlineWarnSettle (a
			// blip shows nothing; then the worker is warned for the
			// offline deadline, also when a warning for the session's
			// own end is on screen: warningsEnd). Armed before
			// disconnected is emitted (see armTimers), and what is due
			// applied after it.
			d = a.rearmOnly()
		}
		a.reportEndsInDoubt()
	}
	a.challenge = nil // bound to the channel that fetched it
	en := a.enroll
	a.enroll = nil // unacknowledged: the hub sends it again after the next hello while it is pending
	a.emit(Event{Event: EventDisconnected})
	if en != nil {
		a.emit(Event{Event: EventEnrollmentEnded, User: en.start.User, Reason: EnrollmentDisconnected})
	}
	a.callOffWait(errWaitDisconnected) // its challenge or enrollment is gone
	a.applyDue(d)
}

// --- ending sessions ----------------------------------------------------

func (a *Agent) signout() {
	if a.state != Active && a.state != Warning {
		a.log.Info("signout ignored: no open session", "state", a.state)
		return
	}
	a.beginEnd(wire.ReasonSignout, "", true)
}

// beginEnd starts tearing the session down and says so (session.ending),
// so that a screen stops showing the session before its apps are killed,
// not only once the teardown is over (session.ended, from endDone). The
// teardown is started before the event is emitted: a slow event sink never
// holds up a revocation. ackID, if set, is a revoke to acknowledge when
// done; report says the hub must be sent session.end.
func (a *Agent) beginEnd(reason, ackID string, report bool) {
	a.stopTimers()
	s := a.session
	s.Ending, s.Report = reason, report
	a.persist()
	if ackID != "" {
		a.acks = append(a.acks, ackID)
	}
	a.setState(Ending)
	a.log.Info("session ending", "session", s.ID, "user", s.User, "reason", reason)
	a.tornFails = 0
	a.startTeardown()
	a.emit(Event{Event: EventSessionEnding, SessionID: s.ID, User: s.User, Reason: reason})
}

// Retries of a failed teardown: the n-th waits teardownRetryBase·2^(n-1),
// at most teardownRetryCap.
const (
	teardownRetryBase = time.Second
	teardownRetryCap  = time.Minute
)

func teardownRetryDelay(fails int) time.Duration {
	d := teardownRetryBase
	for i := 1; i < fails && d < teardownRetryCap; i++ {
		d *= 2
	}
	return min(d, teardownRetryCap)
}

// startTeardown runs the teardown hook on the ending session; endDone gets
// its result.
func (a *Agent) startTeardown() {
	if a.retry != nil {
		a.retry.Stop()
		a.retry = nil
	}
	a.tearing = true
	sess := a.session.Session
	a.spawn(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, a.cfg.TeardownTimeout)
		defer cancel()
		err := a.cfg.Teardown(ctx, sess)
		if a.ctx.Err() != nil {
			return // interrupted by shutdown: session.json says to finish it on restart
		}
		a.post(func() { a.endDone(err) })
	})
}

// endDone takes the teardown's result. A failed teardown leaves the session
// recorded (session.json, with its end reason) and the kiosk Ending — no
// tap is taken over what may be left of it — answers the revokes waiting
// for it with an internal error, and is tried again after a backoff, or at
// once when a revoke for the session comes; each failure emits
// session.teardown_failed, so that a screen can ask for help instead of
// saying "Signing out…" for ever. Only a teardown that succeeded
// locks the kiosk, acknowledges the revokes, queues session.end and emits
// session.ended. A revoked session's end is reported too when its revokes
// cannot be acknowledged: they were answered with an error, or the kiosk
// is offline (the report is the hub's acknowledgement then).
func (a *Agent) endDone(err error) {
	a.tearing = false
	s := a.session
	if err != nil {
		a.tornFails++
		d := teardownRetryDelay(a.tornFails)
		a.log.Error("session teardown failed: the kiosk stays locked, the session recorded, and the teardown is tried again",
			"session", s.ID, "attempt", a.tornFails, "retry_in", d, "err", err)
		for _, id := range a.acks {
			a.reply(id, wire.TypeError, wire.Error{Code: wire.ErrInternal, Message: "session teardown failed on the kiosk; retrying"})
		}
		if len(a.acks) > 0 && !s.Report {
			// The revokes are answered: nothing will be left to ack when
			// a retry succeeds, so that teardown is reported instead
			// (the hub takes a session.end of a session it ended as the
			// acknowledgement its revocation waits for).
			s.Report = true
			a.persist()
		}
		a.acks = nil
		a.retry = a.clock.AfterFunc(d, func() {
			a.post(func() {
				if a.state == Ending && a.session == s && !a.tearing {
					a.log.Info("trying the failed teardown again", "session", s.ID)
					a.startTeardown()
				}
			})
		})
		// Said last, as in beginEnd: a slow event sink never holds up
		// the answers to the revokes or the retry.
		a.emit(Event{Event: EventSessionTeardownFailed, SessionID: s.ID, Attempt: a.tornFails})
		return
	}
	a.tornFails = 0
	a.session = nil
	if len(a.acks) > 0 && !a.connected {
		// The acks cannot reach the hub, and a reconnecting kiosk
		// without a live session gets no verdict to answer: report the
		// teardown, which the hub takes as the acknowledgement.
		s.Report = true
	}
	if s.Report {
		a.pending = append(a.pending, wire.SessionEnd{SessionID: s.ID, Reason: s.Ending})
	}
	a.persist()
	a.setState(Locked)
	a.log.Info("session ended", "session", s.ID, "user", s.User, "reason", s.Ending)
	a.emit(Event{Event: EventSessionEnded, SessionID: s.ID, User: s.User, Reason: s.Ending})
	if len(a.acks) > 0 && !s.Report {
		a.doubt(wire.SessionEnd{SessionID: s.ID, Reason: s.Ending})
	}
	for _, id := range a.acks {
		a.reply(id, wire.TypeAck, nil)
	}
	a.acks = nil
	a.flush()
	a.readerKick()
}

// ackDoubt is how long after a revoke's ack went out a drop of the channel
// leaves it in doubt. The channel takes the ack without a word from the
// hub, and one whose network has gone silently (a Wi-Fi roam, a NAT or a
// load balancer forgetting it) is noticed only once the hub has been
// silent for wire.PongWait: an ack written into it is lost, and the kiosk
// comes back without the session, so no welcome.revoke asks again.
// WriteWait is the margin for an ack still on its way when the network
// went.
const ackDoubt = wire.PongWait + wire.WriteWait

type ackInDoubt struct {
	end wire.SessionEnd
	at  time.Duration // monotonic (monoNow)
}

// doubt keeps end, whose revokes are being acked (and which is not
// reported otherwise), for ackDoubt: a drop of the channel meanwhile
// reports it (onDisconnected).
func (a *Agent) doubt(end wire.SessionEnd) {
	now := a.monoNow()
	a.inDoubt = slices.DeleteFunc(a.inDoubt, func(d ackInDoubt) bool { return now-d.at > ackDoubt })
	a.inDoubt = append(a.inDoubt, ackInDoubt{end: end, at: now})
}

// reportEndsInDoubt queues the reports of the ends whose acks may have
// been lost with the channel that has just dropped; the next welcome sends
// them (flush). The hub takes a session.end of a session it ended as the
// acknowledgement, and a second one as a no-op.
func (a *Agent) reportEndsInDoubt() {
	now := a.monoNow()
	queued := false
	for _, d := range a.inDoubt {
		if now-d.at <= ackDoubt && !slices.Contains(a.pending, d.end) {
			a.log.Info("the channel dropped right after a revocation was acknowledged; reporting the session's end too", "session", d.end.SessionID)
			a.pending = append(a.pending, d.end)
			queued = true
		}
	}
	a.inDoubt = nil
	if queued {
		a.persist()
	}
}

// flush sends queued session.end reports, oldest first. A report the hub
// refuses is dropped (resending cannot help); one that fails in transit,
// or that the hub could not record (wire.ErrInternal: its disk full, its
// database locked by another program), stays queued, and is sent again
// after flushRetry while the kiosk is connected, or at the next
// connection. Dropped, it would leave the session live on the hub after
// the worker left, without its audit record, and the revocation it
// acknowledges unacknowledged.
//
// A report the hub could not record does not hold back the ones after
// it, which are sent all the same: an internal error that is the
// report's own (one the hub fails on every time) would otherwise keep
// every later report queued for good. It is dropped once the hub has
// answered it so maxFailedAlone times in tries where it recorded another
// report, which an outage of its store (refusing every write) does not
// do. Two such answers in a row end the try, as a transit failure does:
// in an outage every report is answered so, each after the hub's busy
// wait, and a try that sent them all would take seconds per report for
// nothing. The next try starts with the reports such a try did not reach,
// then the ones it ended on: two reports the hub fails on every time
// would otherwise end every try before the rest.
func (a *Agent) flush() {
	if !a.connected || a.flushing || len(a.pending) == 0 {
		return
	}
	a.flushing = true
	items := append([]wire.SessionEnd(nil), a.pending...)
	a.spawn(func(ctx context.Context) {
		// failed[i]: items[i] was not taken, and is kept; tried of them
		// had an answer (the rest were not sent: the channel failed).
		failed := make([]bool, len(items))
		tried, recorded, internal := 0, false, 0
		// cut: the try ended on maxInternalInARow internal answers in a
		// row, before the reports from items[tried:] on.
		cut := false
		for i, it := range items {
			_, err := a.hub.Request(ctx, wire.TypeSessionEnd, it)
			var re *RemoteError
			switch {
			case err == nil:
				recorded, internal = true, 0
			case errors.As(err, &re) && re.Code == wire.ErrInternal:
				a.log.Warn("the hub could not record a session.end report; kept for later", "session", it.SessionID, "message", re.Message)
				failed[i] = true
				internal++
			case errors.As(err, &re):
				a.log.Warn("hub refused a session.end report; dropped", "session", it.SessionID, "code", re.Code)
			default:
				a.log.Warn("session.end not delivered; kept for later", "session", it.SessionID, "err", err)
			}
			if err != nil && re == nil {
				for j := i; j < len(items); j++ {
					failed[j] = true
				}
				break
			}
			tried = i + 1
			if internal == maxInternalInARow {
				for j := i + 1; j < len(items); j++ {
					failed[j] = true
				}
				cut = true
				break
			}
		}
		a.post(func() {
			a.flushing = false
			var kept, notReached []wire.SessionEnd
			for i, it := range items {
				if !failed[i] {
					delete(a.failedAlone, it)
					continue
				}
				if i < tried && recorded {
					if a.failedAlone == nil {
						a.failedAlone = make(map[wire.SessionEnd]int)
					}
					if a.failedAlone[it]++; a.failedAlone[it] >= maxFailedAlone {
						a.log.Error("the hub failed on a session.end report every time while it recorded others; dropped", "session", it.SessionID, "reason", it.Reason, "tries", a.failedAlone[it])
						delete(a.failedAlone, it)
						continue
					}
				}
				if cut && i >= tried {
					notReached = append(notReached, it)
					continue
				}
				kept = append(kept, it)
			}
			// The reports a cut try did not reach go first next time:
			// left behind the ones it ended on, they would never be
			// sent while those are reports the hub fails on every time
			// (a bug on reports of one kind, not an outage), and those
			// would never fail in a try where the hub records another,
			// so never be dropped. In an outage the order only turns.
			kept = append(notReached, kept...)
			a.pending = append(kept, a.pending[len(items):]...)
			a.persist()
			switch {
			case len(kept) == 0:
				a.flush() // what was queued meanwhile
			case a.connected:
				// The hub did not answer in time, or could not record a
				// report, or the channel this try used dropped and
				// another came up meanwhile (its welcome found this try
				// running): try again shortly, not only at the next
				// connection.
				if a.flushTimer != nil {
					a.flushTimer.Stop()
				}
				a.flushTimer = a.clock.AfterFunc(flushRetry, func() { a.post(a.flush) })
			}
		})
	})
}

// maxFailedAlone is how many times the hub may answer a session.end
// report wire.ErrInternal, in tries where it recorded another report,
// before the report is dropped (flush).
const maxFailedAlone = 3

// maxInternalInARow is how many wire.ErrInternal answers in a row end a
// try of the queued session.end reports (flush): the hub's store is
// failing, not one report.
const maxInternalInARow = 2

// flushRetry is the wait before session.end reports that failed in transit
// are sent again while the kiosk is connected.
const flushRetry = 5 * time.Second

// hubHandler is the Agent as the Client's Handler: everything is queued
// for the loop.
type hubHandler struct{ a *Agent }

func (h hubHandler) HelloSessions() wire.Hello { return *h.a.sessions.Load() }
func (h hubHandler) LateAnswer(env wire.Envelope) {
	h.a.post(func() { h.a.lateAnswer(env) })
}
func (h hubHandler) Connected(w wire.Welcome) { h.a.post(func() { h.a.onConnected(w) }) }
func (h hubHandler) Disconnected(err error)   { h.a.post(func() { h.a.onDisconnected(err) }) }
func (h hubHandler) Push(env wire.Envelope)   { h.a.post(func() { h.a.push(env) }) }
