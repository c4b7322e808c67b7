package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// Defaults for Config.
const (
	DefaultGrace = 3 * time.Second
	// NoGrace, as Config.Grace, sends SIGKILL right after SIGTERM (a
	// kiosk profile's terminate-processes grace of 0s): the zero value
	// means DefaultGrace.
	NoGrace     time.Duration = -1
	DefaultPath               = "/usr/local/bin:/usr/bin:/bin"
	// IDEnv is set to the session ID in every app's environment.
	IDEnv = "SHIFTGATE_SESSION"
	// MarkerEnv is set to the session directory in every app's
	// environment; teardown kills the processes that carry it.
	MarkerEnv = "SHIFTGATE_SESSION_DIR"

	// killWait bounds the wait for SIGKILLed processes to be gone.
	killWait = 2 * time.Second
	// maxEnded is how many ended, never-started session IDs the manager
	// remembers to refuse a late Start.
	maxEnded = 128
	// nobodyUID is the overflow user "nobody", shared by system services.
	nobodyUID = 65534
)

// Errors returned by Start, Launch and End; compare with errors.Is.
var (
	ErrBadID  = errors.New("invalid session id")
	ErrExists = errors.New("session directory already exists")
	ErrEnded  = errors.New("session has ended")
	ErrBadApp = errors.New("invalid app")
)

// Config configures a Manager.
type Config struct {
	// StateDir is the agent's state directory; sessions live in
	// StateDir/sessions.
	StateDir string
	// Grace is how long a teardown waits after SIGTERM before SIGKILL
	// (0: DefaultGrace; NoGrace: SIGKILL right after SIGTERM).
	Grace time.Duration
	// Clipboard, if set, clears the clipboard; it is called once at the
	// end of every teardown.
	Clipboard func(ctx context.Context) error
	// Path is the PATH apps get (default DefaultPath); an app's Env may
	// override it. Commands without a slash are looked up in it.
	Path string
	// RunAs, when set, is the user and group the apps run as, instead of
	// the agent's own: an app then cannot read the agent's state
	// directory (the device key, session.json, the sessions' pids files),
	// nor signal the agent. The agent must run as root: besides switching
	// user (CAP_SETUID, CAP_SETGID) it hands the home over (CAP_CHOWN),
	// signals the apps (CAP_KILL) and wipes what they wrote
	// (CAP_DAC_OVERRIDE, CAP_FOWNER). Neither root, nobody (65534) nor
	// the agent's own user is accepted. HomeRoot is required with it.
	//
	// The user must be dedicated to kiosk sessions: a teardown, and
	// Cleanup, end every process that runs as it (real, effective or
	// saved user ID) while no other session is live, so that an app
	// that left its process group and cleared its environment is ended
	// too.
	RunAs *Credential
	// HomeRoot is where the sessions' HOME and TMPDIR live when RunAs is
	// set, as HomeRoot/ID (owned by RunAs, 0700) and HomeRoot/ID/tmp. It
	// must lie outside StateDir and be reachable by RunAs (every parent
	// searchable); it is created 0711 if missing. An existing one must
	// be a directory of its own: not writable by group or others (as
	// /tmp is), nor owned by RunAs. Cleanup removes only the entries of
	// it that can be session homes (a session ID's name, a directory
	// owned by RunAs or by the agent).
	HomeRoot string
	// TempDirs are the shared temporary directories (nil: /tmp, /var/tmp,
	// /dev/shm, /run/lock and /dev/mqueue, the POSIX message queues; an
	// empty, non-nil list: none) that apps may write in whatever their
	// TMPDIR says. With RunAs, once the session user's processes have
	// been ended and when no other session is live (see
	// Manager.sweepUID), a teardown, End and Cleanup remove every entry
	// directly in them that the session user owns: files, sockets,
	// FIFOs, symlinks (the link, never what it points to) and directories
	// with all they hold; nothing else, and no entry the user owns deeper
	// in a directory it does not own. A directory that does not exist is
	// skipped. Without RunAs they are left alone: the apps' files would
	// then be the agent's user's, like the agent's own. Paths must be
	// absolute.
	TempDirs []string
	// Cgroup is the cgroup v2 directory the sessions' cgroups are made
	// in: "" for the agent's own cgroup when it can make groups there
	// (root, or a systemd service with Delegate=yes), used when it can
	// and said in the log when it cannot; NoCgroup for none; or a
	// directory, which must work. In a cgroup, a teardown ends every
	// process of the session at once (cgroup.kill), also one that left
	// its process group and cleared its environment. See the package doc.
	Cgroup string
	Logger *slog.Logger
}

// Credential is a user and group ID.
type Credential struct {
	UID, GID uint32
}

// Spec describes a session to start.
type Spec struct {
	// ID is the session ID; it names the session directory, so it must be
	// a safe path component: 1–128 of [A-Za-z0-9._-], not starting with a
	// dot or dash.
	ID string
	// User is the signed-in user's name, given to apps as USER and
	// LOGNAME.
	User string
	// Apps are started by Start, in order.
	Apps []App
}

// App is a program of a session.
type App struct {
	ID string
	// Command is the program and its arguments; a program without a slash
	// is looked up in the session's PATH.
	Command []string
	// Env is added to the app's environment ("KEY=value"). It cannot
	// change HOME, TMPDIR, USER, LOGNAME, SHIFTGATE_SESSION or
	// SHIFTGATE_SESSION_DIR.
	Env []string
}

// Manager starts sessions and tears them down. It is safe for concurrent
// use.
type Manager struct {
	cfg   Config
	root  string // StateDir/sessions
	homes string // HomeRoot, absolute; "" without RunAs
	// cgroups is where each session gets a cgroup (cgroupName); ""
	// for none.
	cgroups string
	log     *slog.Logger

	mu         sync.Mutex
	live       map[string]*Session
	ended      map[string]bool
	endedOrder []string
	// clipboardOwed: a Cleanup found leftovers and could not clear the
	// clipboard; the next one clears it, whatever it finds.
	clipboardOwed bool
}

// New builds a Manager and creates StateDir/sessions (0700). Call Cleanup
// before the first Start to remove what a crashed agent left behind.
func New(cfg Config) (*Manager, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("new session manager: state directory required")
	}
	switch {
	case cfg.Grace == NoGrace:
		cfg.Grace = 0
	case cfg.Grace < 0:
		return nil, fmt.Errorf("new session manager: grace %s is negative", cfg.Grace)
	case cfg.Grace == 0:
		cfg.Grace = DefaultGrace
	}
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TempDirs == nil {
		// /run/lock (/var/lock) is world-writable and sticky like /tmp
		// on Debian, Ubuntu and Fedora: a worker's app could leave a
		// file there for the next worker's to read. /dev/mqueue, where
		// systemd mounts the POSIX message queues, is too: removing a
		// queue's file unlinks the queue (ipc.go).
		cfg.TempDirs = []string{"/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue"}
	}
	cfg.TempDirs = slices.Clone(cfg.TempDirs)
	for i, d := range cfg.TempDirs {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("new session manager: shared temporary directory %q is not an absolute path", d)
		}
		cfg.TempDirs[i] = filepath.Clean(d)
	}
	root, err := filepath.Abs(filepath.Join(cfg.StateDir, "sessions"))
	if err != nil {
		return nil, fmt.Errorf("new session manager: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("new session manager: %w", err)
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return nil, fmt.Errorf("new session manager: %w", err)
	}
	m := &Manager{cfg: cfg, root: root, log: cfg.Logger, live: map[string]*Session{}, ended: map[string]bool{}}
	if cfg.RunAs != nil {
		homes, err := checkRunAs(cfg)
		if err != nil {
			return nil, fmt.Errorf("new session manager: %w", err)
		}
		m.homes = homes
	}
	switch cfg.Cgroup {
	case NoCgroup:
	case "":
		dir, err := cgroupDir("")
		if err != nil {
			m.log.Warn("sessions run without a cgroup: a teardown finds their processes by process group, environment and session user only; run the agent as root or give it a delegated cgroup (systemd Delegate=yes)", "err", err)
			break
		}
		m.cgroups = dir
	default:
		dir, err := cgroupDir(cfg.Cgroup)
		if err != nil {
			return nil, fmt.Errorf("new session manager: %w", err)
		}
		m.cgroups = dir
	}
	if m.cgroups != "" {
		m.log.Info("sessions run in cgroups", "parent", m.cgroups)
	}
	return m, nil
}

// checkRunAs checks Config.RunAs and HomeRoot, creates HomeRoot and
// returns it absolute.
func checkRunAs(cfg Config) (string, error) {
	switch cfg.RunAs.UID {
	case 0:
		return "", errors.New("session apps must not run as root")
	case nobodyUID:
		return "", errors.New("session apps must not run as nobody (uid 65534): system services share it, and a teardown ends every process of the session user; create a user for the kiosk sessions")
	case uint32(os.Getuid()):
		return "", fmt.Errorf("session apps must not run as the agent's own user (uid %d): they could read its state, the device key included", cfg.RunAs.UID)
	}
	if cfg.HomeRoot == "" {
		return "", errors.New("a session user needs a home root (HomeRoot) outside the state directory")
	}
	homes, err := filepath.Abs(cfg.HomeRoot)
	if err != nil {
		return "", err
	}
	state, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(state, homes); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("home root %s lies inside the state directory %s, which the session user cannot enter", homes, state)
	}
	if fi, err := os.Stat(homes); err == nil {
		// An existing directory is made 0711 below and its entries are
		// removed at start when they look like session homes: it must
		// not be a shared one such as /tmp.
		switch st, _ := fi.Sys().(*syscall.Stat_t); {
		case !fi.IsDir():
			return "", fmt.Errorf("home root %s is not a directory", homes)
		case fi.Mode()&(0o022|os.ModeSticky) != 0:
			return "", fmt.Errorf("home root %s is writable by others (mode %v): give the session homes a directory of their own", homes, fi.Mode())
		case st != nil && st.Uid == cfg.RunAs.UID:
			return "", fmt.Errorf("home root %s is owned by the session user, who could replace the homes in it", homes)
		}
	}
	if err := os.MkdirAll(homes, 0o711); err != nil {
		return "", err
	}
	// Searchable, not listable: a session finds its own home only.
	if err := os.Chmod(homes, 0o711); err != nil {
		return "", err
	}
	return homes, nil
}

// ValidID reports whether id can name a session: 1–128 characters of
// [A-Za-z0-9._-], not starting with '.' or '-' (so never "." or "..");
// wire.ValidSessionID, which the hub checks reported IDs by.
func ValidID(id string) bool { return wire.ValidSessionID(id) }

// Start creates the session's fresh directories and starts its apps. It
// refuses an ID whose directory already exists or that was ended with
// End. If an app cannot be started, what was started is torn down and the
// error returned.
func (m *Manager) Start(ctx context.Context, spec Spec) (*Session, error) {
	if !ValidID(spec.ID) {
		return nil, fmt.Errorf("start session %q: %w", spec.ID, ErrBadID)
	}
	if spec.User == "" || strings.ContainsRune(spec.User, 0) {
		return nil, fmt.Errorf("start session %s: invalid user %q", spec.ID, spec.User)
	}
	for _, a := range spec.Apps {
		if err := checkApp(a); err != nil {
			return nil, fmt.Errorf("start session %s: %w", spec.ID, err)
		}
	}
	m.mu.Lock()
	if m.ended[spec.ID] {
		m.mu.Unlock()
		return nil, fmt.Errorf("start session %s: %w", spec.ID, ErrEnded)
	}
	if _, ok := m.live[spec.ID]; ok {
		m.mu.Unlock()
		return nil, fmt.Errorf("start session %s: %w", spec.ID, ErrExists)
	}
	s, err := m.create(spec)
	if err != nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("start session %s: %w", spec.ID, err)
	}
	m.live[spec.ID] = s
	m.mu.Unlock()

	for _, a := range spec.Apps {
		err := ctx.Err()
		if err == nil {
			err = s.Launch(a)
		}
		if err != nil {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.m.cfg.Grace+killWait+time.Second)
			if terr := s.Teardown(tctx); terr != nil {
				err = errors.Join(err, terr)
			}
			cancel()
			return nil, fmt.Errorf("start session %s: %w", spec.ID, err)
		}
	}
	// No app count: callers also launch apps afterwards (Session.Launch),
	// and each launch logs its own line.
	m.log.Info("session started", "session", spec.ID, "user", spec.User)
	return s, nil
}

// create makes the session directory and its files. m.mu is held.
func (m *Manager) create(spec Spec) (*Session, error) {
	dir := filepath.Join(m.root, spec.ID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, ErrExists
		}
		return nil, err
	}
	s := &Session{m: m, id: spec.ID, user: spec.User, dir: dir,
		home: filepath.Join(dir, "home"), tmp: filepath.Join(dir, "tmp")}
	if m.homes != "" {
		// The apps' files live outside the state directory, owned by
		// the session user; the session directory (logs, pids) stays
		// the agent's.
		s.base = filepath.Join(m.homes, spec.ID)
		s.home, s.tmp = s.base, filepath.Join(s.base, "tmp")
	}
	madeBase := false // s.base is ours to remove: this call made it
	err := func() error {
		if err := os.Chmod(dir, 0o700); err != nil { // umask-proof
			return err
		}
		for _, d := range []string{s.home, s.tmp} {
			if err := os.Mkdir(d, 0o700); err != nil {
				if d == s.base && errors.Is(err, os.ErrExist) {
					return fmt.Errorf("home %s: %w", d, ErrExists)
				}
				return err
			}
			if d == s.base {
				madeBase = true
			}
			if err := os.Chmod(d, 0o700); err != nil {
				return err
			}
			if c := m.cfg.RunAs; c != nil {
				if err := os.Lchown(d, int(c.UID), int(c.GID)); err != nil {
					return err
				}
			}
		}
		var err error
		s.out, err = os.OpenFile(filepath.Join(dir, "apps.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		// Written before the first record, so that every record has it:
		// a later agent's Cleanup believes more of the records of its own
		// boot (groupOurs, recordedThisBoot).
		if ok, err := recordBoot(dir); err != nil {
			return err
		} else if !ok {
			m.log.Warn("cannot read the boot's ID: after a crash, only the apps' leaders and marked processes are taken for the session's", "session", spec.ID)
		}
		s.pids, err = os.OpenFile(filepath.Join(dir, pidsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o600)
		if err != nil || m.cgroups == "" {
			return err
		}
		// Made after the session directory, removed before it: a
		// session cgroup always has its directory, through which a
		// later agent's Cleanup finds it.
		cg := filepath.Join(m.cgroups, cgroupName(m.root, spec.ID))
		if err := os.Mkdir(cg, 0o755); err != nil {
			return fmt.Errorf("session cgroup: %w", err)
		}
		s.cg = cg
		s.cgfd, err = os.Open(cg)
		return err
	}()
	if err != nil {
		s.closeFiles()
		_ = removeCgroup(s.cg)
		_ = os.RemoveAll(dir)
		if madeBase {
			_ = wipe(s.base)
		}
		return nil, err
	}
	return s, nil
}

// Close is called when the agent stops. Live sessions stay as they are
// (their apps run on until the next start's Cleanup, or the restored
// session's teardown), except that a session cgroup no process is left in
// is removed: it is only clutter, which a state directory removed before
// any restart would otherwise leave behind for good. Teardown and Cleanup
// treat a missing cgroup as an empty one.
func (m *Manager) Close() {
	m.mu.Lock()
	live := make([]*Session, 0, len(m.live))
	for _, s := range m.live {
		live = append(live, s)
	}
	m.mu.Unlock()
	for _, s := range live {
		s.mu.Lock()
		if s.cg != "" && len(cgroupPids(s.cg)) == 0 && removeCgroup(s.cg) == nil {
			m.log.Info("removed the empty cgroup of a session left open", "session", s.id)
		}
		s.mu.Unlock()
	}
}

// Lookup returns the live session id, for launching more apps.
func (m *Manager) Lookup(id string) (*Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.live[id]
	return s, ok
}

// End tears down session id. A live session is torn down with
// Session.Teardown; otherwise (the agent restarted, or the session was
// never started) whatever is left of it on disk and in the process table
// is removed, the clipboard is cleared, and a later Start of id is
// refused. It is idempotent, which
// makes it fit agent.TeardownFunc.
func (m *Manager) End(ctx context.Context, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("end session %q: %w", id, ErrBadID)
	}
	m.mu.Lock()
	s, ok := m.live[id]
	if !ok {
		m.markEnded(id)
	}
	m.mu.Unlock()
	if ok {
		return s.Teardown(ctx)
	}
	err := m.cleanupOne(ctx, id)
	if c := m.cfg.Clipboard; c != nil {
		if cerr := c(ctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clear clipboard: %w", cerr))
		}
	}
	if err != nil {
		return fmt.Errorf("end session %s: %w", id, err)
	}
	return nil
}

// sweepUID is the user every process of which a teardown of session id
// ends, or nil. With Config.RunAs that is the session user, whose
// processes are the session's alone (the user is dedicated to kiosk
// sessions): they are found even after leaving the process groups and
// clearing their environment. While another session is live, its apps run
// as the same user, so nil.
func (m *Manager) sweepUID(id string) *uint32 {
	if m.cfg.RunAs == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for other := range m.live {
		if other != id {
			return nil
		}
	}
	uid := m.cfg.RunAs.UID
	return &uid
}

// markEnded remembers id as ended. m.mu is held.
func (m *Manager) markEnded(id string) {
	if m.ended[id] {
		return
	}
	m.ended[id] = true
	m.endedOrder = append(m.endedOrder, id)
	if len(m.endedOrder) > maxEnded {
		delete(m.ended, m.endedOrder[0])
		m.endedOrder = m.endedOrder[1:]
	}
}

// forget drops a torn-down session from the live set.
func (m *Manager) forget(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live[s.id] == s {
		delete(m.live, s.id)
	}
	m.markEnded(s.id)
}

// Session is a started session. Its methods are safe for concurrent use.
type Session struct {
	m              *Manager
	id, user       string
	dir, home, tmp string
	base           string // HomeRoot/ID with Config.RunAs, else ""
	cg             string // the session's cgroup, or ""

	mu      sync.Mutex
	out     *os.File // apps.log
	pids    *os.File
	cgfd    *os.File // the cgroup's directory, for CLONE_INTO_CGROUP
	procs   []*proc
	closing bool // Teardown called: no more Launch
	done    bool // Teardown completed without error
}

// proc is a launched app: the leader of process group pgid.
type proc struct {
	app   string
	pgid  int
	start uint64        // leader's start time (/proc/PID/stat field 22)
	ended chan struct{} // closed once the leader is reaped; nil if not our child
	// gone is set once the group is known to have emptied after the
	// leader was reaped: its number may name another's group since.
	gone atomic.Bool
}

// ID returns the session ID.
func (s *Session) ID() string { return s.id }

// Home returns the session's HOME directory.
func (s *Session) Home() string { return s.home }

// TempDir returns the session's TMPDIR.
func (s *Session) TempDir() string { return s.tmp }

// Dir returns the session directory that Teardown removes.
func (s *Session) Dir() string { return s.dir }

// Launch starts app in the session, in a process group and terminal
// session of its own (without a controlling terminal), with the session's
// HOME and TMPDIR. It fails once Teardown has been called.
func (s *Session) Launch(app App) error {
	if err := checkApp(app); err != nil {
		return fmt.Errorf("launch %s in session %s: %w", app.ID, s.id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.launch(app)
}

// Open starts app in the session as Launch does (the same user, HOME,
// TMPDIR, environment and cgroup as every app of the session), unless a
// process group launched for app.ID still has a live member: a worker
// asking again for an app that runs gets no second copy. It reports
// whether it started app. Like Launch it fails with ErrEnded once Teardown
// has been called; the check and the start happen under the lock Teardown
// holds, so an app Open starts is either ended by the teardown or never
// started.
func (s *Session) Open(app App) (launched bool, err error) {
	if err := checkApp(app); err != nil {
		return false, fmt.Errorf("open %s in session %s: %w", app.ID, s.id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false, fmt.Errorf("open %s in session %s: %w", app.ID, s.id, ErrEnded)
	}
	for _, p := range s.procs {
		// Its group, not its leader: a launcher that handed over to a
		// child and exited leaves the app running in the group. A group
		// whose number another process has taken since is not the app's
		// (group.ours).
		g := group{pgid: p.pgid, start: p.start, ended: p.ended, gone: &p.gone}
		if p.app == app.ID && g.ours() && groupAlive(p.pgid) {
			return false, nil
		}
	}
	if err := s.launch(app); err != nil {
		return false, err
	}
	return true, nil
}

// launch is Launch with s.mu held.
func (s *Session) launch(app App) error {
	if s.closing {
		return fmt.Errorf("launch %s in session %s: %w", app.ID, s.id, ErrEnded)
	}
	env := s.env(app)
	path, err := lookPath(app.Command[0], envValue(env, "PATH"))
	if err != nil {
		return fmt.Errorf("launch %s in session %s: %w", app.ID, s.id, err)
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   app.Command,
		Env:    env,
		Dir:    s.home,
		Stdout: s.out,
		Stderr: s.out,
		// A session of its own (setsid), which also makes the app the
		// leader of a process group of its own: in the agent's session
		// it would share the agent's controlling terminal, if the agent
		// has one (started from a shell or a getty's autologin), and
		// could open /dev/tty and push input into it (TIOCSTI, run by
		// the agent's user's shell) or read the next worker's typing.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if s.cgfd != nil {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(s.cgfd.Fd())
	}
	if c := s.m.cfg.RunAs; c != nil {
		// No supplementary groups: the agent's are not the app's.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: []uint32{}}
	}
	// With a session keyring of its own, not the agent's (keyring.go),
	// no core dumps and no descriptor of the agent's but stdout and
	// stderr (appstart.go), set right before the fork.
	start := func() error {
		restore, err := noCoreDumps()
		if err != nil {
			return err
		}
		if err = closeOnExec(); err == nil {
			err = cmd.Start()
		}
		// The app, if it started, keeps its 0 whatever happens here, and
		// runs: its start is not undone for the agent's own limit.
		if rerr := restore(); rerr != nil {
			s.m.log.Warn("the agent's own core dumps stay off after starting an app: raising RLIMIT_CORE back needs CAP_SYS_RESOURCE", "session", s.id, "app", app.ID, "err", rerr)
		}
		return err
	}
	if err := startInNewKeyring(start); err != nil {
		return fmt.Errorf("launch %s in session %s: %w", app.ID, s.id, err)
	}
	p := &proc{app: app.ID, pgid: cmd.Process.Pid, ended: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // reaps the leader; the group is watched through kill(-pgid, 0)
		// No member left, zombies included: the group is gone for good
		// and its number free for another process's group (group.ours).
		if errors.Is(syscall.Kill(-p.pgid, 0), syscall.ESRCH) {
			p.gone.Store(true)
		}
		close(p.ended)
	}()
	if st, ok := readStat(p.pgid); ok {
		p.start = st.start
	}
	s.procs = append(s.procs, p)
	if _, err := fmt.Fprintf(s.pids, "%d %d\n", p.pgid, p.start); err != nil {
		// The app runs and Teardown knows it; only a crashed agent's
		// successor would miss it (the environment marker still finds it).
		s.m.log.Warn("record app pid", "session", s.id, "app", app.ID, "err", err)
	}
	s.m.log.Info("app launched", "session", s.id, "app", app.ID, "pgid", p.pgid)
	return nil
}

// env is app's environment: a minimal PATH the app may override, its Env,
// and the session's variables, which it may not.
func (s *Session) env(app App) []string {
	env := make([]string, 0, len(app.Env)+6)
	env = append(env, "PATH="+s.m.cfg.Path)
	env = append(env, app.Env...)
	return append(env,
		"HOME="+s.home,
		"TMPDIR="+s.tmp,
		"USER="+s.user,
		"LOGNAME="+s.user,
		IDEnv+"="+s.id,
		MarkerEnv+"="+s.dir,
	) // exec keeps the last value of a duplicated key
}

// Teardown ends the session: SIGTERM to every process group, SIGKILL to
// what is left after the grace period, the session directory removed
// (with Config.RunAs also the home, and what the session user left in the
// shared temporary directories, Config.TempDirs, after detaching the
// mounts in the home and the session user's FUSE mounts), the clipboard
// cleared.
// It tries every step even when one fails and
// returns all failures joined. Once it has succeeded, further calls return
// nil; after a failure a further call tries again. When ctx is done it
// stops waiting for SIGTERM and kills at once, but still does every step
// (waiting at most 2 s for SIGKILLed processes to be gone).
func (s *Session) Teardown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	s.closing = true
	t0 := time.Now()
	groups := make([]group, 0, len(s.procs))
	for _, p := range s.procs {
		groups = append(groups, group{pgid: p.pgid, start: p.start, ended: p.ended, gone: &p.gone})
	}
	var errs []error
	sweep := s.m.sweepUID(s.id)
	killed := s.m.kill(ctx, s.dir, s.cg, groups, sweep)
	if killed != nil {
		errs = append(errs, killed)
	}
	s.closeFiles()
	cgGone, err := s.m.removeRemains(killed, s.dir, s.base, s.cg, sweep)
	if cgGone {
		s.cg = ""
	}
	if err != nil {
		errs = append(errs, err)
	}
	if c := s.m.cfg.Clipboard; c != nil {
		if err := c(ctx); err != nil {
			errs = append(errs, fmt.Errorf("clear clipboard: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		s.m.log.Error("session teardown incomplete", "session", s.id, "err", err)
		return fmt.Errorf("teardown session %s: %w", s.id, err)
	}
	s.done = true
	s.m.forget(s)
	s.m.log.Info("session torn down", "session", s.id, "took", time.Since(t0))
	return nil
}

// removeRemains removes what session directory dir leaves once kill has
// returned killed (Teardown, and End and Cleanup through cleanupOne).
// Only when the kill succeeded: the session's cgroup cg, then its mounts
// (the mounts in dir and home and, with sweep, the session user's FUSE
// mounts; see detachMounts), which would fail the wipe and the sweep.
// Whatever killed: dir and home ("" for none) wiped. With sweep, and only
// when the kill succeeded, the session user's entries in the shared
// temporary directories, keyrings and System V IPC objects: a process of
// that user that outlived the kill could swap its entries there while
// they are removed, or make new ones, and the failed kill fails the
// teardown, whose retry sweeps. It reports whether cg is gone, and
// returns every failure joined.
func (m *Manager) removeRemains(killed error, dir, home, cg string, sweep *uint32) (cgGone bool, err error) {
	var errs []error
	if killed == nil {
		if err := removeKilledCgroup(cg); err != nil {
			errs = append(errs, err)
		} else {
			cgGone = true
		}
		if _, err := m.detachMounts([]string{dir, home}, sweep); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range []string{dir, home} {
		if d == "" {
			continue
		}
		if err := wipe(d); err != nil {
			errs = append(errs, err)
		}
	}
	if sweep != nil && killed == nil {
		if _, err := m.sweepTemp(*sweep); err != nil {
			errs = append(errs, err)
		}
		if err := clearKeyrings(*sweep); err != nil {
			errs = append(errs, err)
		}
		if _, err := m.sweepIPC(*sweep); err != nil {
			errs = append(errs, err)
		}
	}
	return cgGone, errors.Join(errs...)
}

func (s *Session) closeFiles() {
	for _, f := range []*os.File{s.out, s.pids, s.cgfd} {
		if f != nil {
			_ = f.Close()
		}
	}
	s.out, s.pids, s.cgfd = nil, nil, nil
}

func checkApp(a App) error {
	if len(a.Command) == 0 || a.Command[0] == "" {
		return fmt.Errorf("%w %q: empty command", ErrBadApp, a.ID)
	}
	for _, e := range a.Env {
		if !strings.Contains(e, "=") || strings.HasPrefix(e, "=") || strings.ContainsRune(e, 0) {
			return fmt.Errorf("%w %q: environment entry %q is not KEY=value", ErrBadApp, a.ID, e)
		}
	}
	return nil
}

func envValue(env []string, key string) string {
	v := ""
	for _, e := range env {
		if k, val, ok := strings.Cut(e, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// lookPath finds file in path (the app's PATH, not the agent's).
func lookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // never the current directory
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in PATH %s: %w", file, path, exec.ErrNotFound)
}
