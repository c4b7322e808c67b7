package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/agent/session"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// uidOpenApp is the session user of these tests when they run as root (CI
// does): an ID no account or process has, which the teardowns' sweep of
// the session user's processes may end.
const uidOpenApp = 64121

// appProc is what a test compares of a session app's process: everything
// a launch decides (user, environment, directory, cgroup).
type appProc struct {
	pid, pgid int
	cmdline   string
	uids      string // the Uid: and Gid: lines of /proc/PID/status
	environ   []string
	cwd       string
	cgroup    string
}

// sessionProcs returns the live processes of session id: those carrying
// SHIFTGATE_SESSION=id, which every app is started with.
func sessionProcs(t *testing.T, id string) []appProc {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	mustNoErr(t, err)
	marker := []byte("\x00" + session.IDEnv + "=" + id + "\x00")
	var out []appProc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + e.Name()
		env, err := os.ReadFile(dir + "/environ")
		if err != nil || !bytes.Contains(append([]byte{0}, env...), marker) {
			continue
		}
		stat, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if f[0] == "Z" || f[0] == "X" {
			continue // dead, not reaped yet
		}
		p := appProc{pid: pid, environ: strings.Split(strings.TrimRight(string(env), "\x00"), "\x00")}
		p.pgid, _ = strconv.Atoi(f[2])
		cmd, _ := os.ReadFile(dir + "/cmdline")
		p.cmdline = strings.TrimRight(strings.ReplaceAll(string(cmd), "\x00", " "), " ")
		status, _ := os.ReadFile(dir + "/status")
		for l := range strings.Lines(string(status)) {
			if strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "Gid:") {
				p.uids += l
			}
		}
		p.cwd, _ = os.Readlink(dir + "/cwd")
		cg, _ := os.ReadFile(dir + "/cgroup")
		p.cgroup = string(cg)
		out = append(out, p)
	}
	return out
}

// appProcs returns the live processes of session id running cmdline.
func appProcs(t *testing.T, id, cmdline string) []appProc {
	t.Helper()
	return slices.DeleteFunc(sessionProcs(t, id), func(p appProc) bool { return p.cmdline != cmdline })
}

// waitProcs waits until session id has n processes running cmdline, and
// returns them.
func waitProcs(t *testing.T, id, cmdline string, n int) []appProc {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ps := appProcs(t, id, cmdline)
		if len(ps) == n {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: %d processes %q, want %d (all: %+v)", id, len(ps), cmdline, n, sessionProcs(t, id))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The apps of the tests' profile: the harness grants role nurse emr and
// mail.
const (
	emrCmd  = "/bin/sleep 600"
	mailCmd = "/bin/sleep 601"
)

// openAppKiosk is the harness wired to a real session manager as the
// kiosk binaries wire it: sessions started on session.started, ended by
// the teardown, apps opened by Sessions.OpenApp. Its apps are real
// processes (emrCmd, mailCmd); running as root, they run as a session user
// in a cgroup of their own, as in production.
type openAppKiosk struct {
	*harness
	s    *Sessions
	logs *lockedBuffer
}

func newOpenAppKiosk(t *testing.T, teardown func(TeardownFunc) TeardownFunc) *openAppKiosk {
	t.Helper()
	k := &openAppKiosk{logs: new(lockedBuffer)}
	log := slog.New(slog.NewTextHandler(k.logs, nil))
	var opts []SessionsOption
	if os.Geteuid() == 0 {
		if pids := userProcs(uidOpenApp); len(pids) != 0 {
			t.Fatalf("processes %v already run as uid %d, which the test ends: pick another uid", pids, uidOpenApp)
		}
		homes := t.TempDir()
		for _, d := range []string{homes, filepath.Dir(homes)} {
			mustNoErr(t, os.Chmod(d, 0o711)) // the session user reaches its home
		}
		opts = append(opts, WithSessionUser(uidOpenApp, uidOpenApp, filepath.Join(homes, "homes")))
	}
	s, err := NewSessions(enrolledDir(t, "generic-x86"), log, opts...)
	mustNoErr(t, err)
	s.profile = &profiles.Profile{Apps: map[string][]profiles.App{"nurse": {
		{ID: "emr", Command: strings.Fields(emrCmd)},
		{ID: "mail", Command: strings.Fields(mailCmd)},
	}}}
	var mu sync.Mutex
	var started []string
	// After the agent has stopped (cleanups run last first): a test that
	// failed with a session open leaves no app running.
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range started {
			if err := s.End(context.Background(), Session{ID: id}); err != nil {
				t.Errorf("end session %s: %v", id, err)
			}
		}
		s.Close()
	})
	k.s = s
	k.harness = newHarness(t, func(h *harness, cfg *Config) {
		cfg.Logger = log
		cfg.Teardown = s.End
		if teardown != nil {
			cfg.Teardown = teardown(s.End)
		}
		cfg.OpenApp = s.OpenApp
		cfg.Events = EventFunc(func(e Event) {
			if e.Event == EventSessionStarted {
				mu.Lock()
				started = append(started, e.SessionID)
				mu.Unlock()
				s.Start(e) // before the event, as the kiosk binaries do
			}
			h.ev.Emit(e)
		})
	})
	return k
}

// userProcs returns the PIDs of the processes whose real user ID is uid.
func userProcs(uid int) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if fi, err := os.Stat("/proc/" + e.Name()); err == nil && int(fi.Sys().(*syscall.Stat_t).Uid) == uid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// uniqueSession is a session ID no other test (of any package) uses.
func uniqueSession(name string) string {
	return fmt.Sprintf("%s-%d-%d", name, os.Getpid(), time.Now().UnixNano())
}

// TestSessionsOpenAppRelaunchesClosedApp: the worker closed the patient
// record app (emr) by mistake and taps its tile: it is started again in
// the session exactly as at sign-in (same user and groups, environment,
// working directory, cgroup), and app.launched says so. A tap on an app
// that runs (mail, or emr once started again) starts no second copy, and
// the log says it runs already. The teardown ends the app started again
// with the others.
func TestSessionsOpenAppRelaunchesClosedApp(t *testing.T) {
	k := newOpenAppKiosk(t, nil)
	id := uniqueSession("openapp")
	k.connect()
	k.login(id, "ana", time.Hour)
	first := waitProcs(t, id, emrCmd, 1)[0]
	waitProcs(t, id, mailCmd, 1)

	// Closed by mistake: the app's whole process group is gone.
	mustNoErr(t, syscall.Kill(-first.pgid, syscall.SIGKILL))
	waitProcs(t, id, emrCmd, 0)

	k.a.OpenApp(id, "emr")
	if e := k.ev.expect(t, EventAppLaunched)[0]; e.SessionID != id || e.User != "ana" || e.App != "emr" {
		t.Errorf("app.launched = %+v, want emr in session %s of ana", e, id)
	}
	again := waitProcs(t, id, emrCmd, 1)[0]
	if again.pid == first.pid {
		t.Fatalf("emr still runs as pid %d", first.pid)
	}
	if again.pgid != again.pid {
		t.Errorf("emr started again in process group %d, not one of its own", again.pgid)
	}
	opt := cmp.AllowUnexported(appProc{})
	if diff := cmp.Diff(first, again, opt, cmp.FilterPath(func(p cmp.Path) bool {
		f := p.Last().String()
		return f == ".pid" || f == ".pgid"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("emr started again differently from at sign-in (-sign-in +again):\n%s", diff)
	}
	if os.Geteuid() == 0 {
		if !strings.Contains(again.uids, fmt.Sprintf("Uid:\t%d\t%d\t%d", uidOpenApp, uidOpenApp, uidOpenApp)) {
			t.Errorf("emr started again as %q, want the session user %d", again.uids, uidOpenApp)
		}
		if !strings.Contains(again.cgroup, "shiftgate-") || !strings.Contains(again.cgroup, id) {
			t.Errorf("emr started again in cgroup %q, not the session's", again.cgroup)
		}
	}

	// Running: not started twice.
	k.a.OpenApp(id, "mail")
	k.a.OpenApp(id, "emr")
	k.do(func() {})
	k.ev.none(t)
	if ps := appProcs(t, id, mailCmd); len(ps) != 1 {
		t.Errorf("%d mail processes after a tap on a running mail, want 1", len(ps))
	}
	if ps := appProcs(t, id, emrCmd); len(ps) != 1 || ps[0].pid != again.pid {
		t.Errorf("emr processes after a tap on a running emr: %+v, want pid %d only", ps, again.pid)
	}
	for _, app := range []string{"mail", "emr"} {
		if want := fmt.Sprintf(`msg="app already running: not started again" session=%s app=%s`, id, app); !strings.Contains(k.logs.String(), want) {
			t.Errorf("the log does not say %s runs already:\n%s", app, k.logs.String())
		}
	}

	k.a.Signout()
	k.ev.ended(t)
	if ps := sessionProcs(t, id); len(ps) != 0 {
		t.Errorf("processes of the session after its teardown: %+v", ps)
	}
}

// TestSessionsOpenAppRaceWithTeardown (run it with -race): a worker
// tapping an app tile over and over while the session ends — a sign-out,
// and a revocation that holds the teardown a while — never leaves a
// process of the session behind once session.ended is out, and no app is
// started after session.ending.
func TestSessionsOpenAppRaceWithTeardown(t *testing.T) {
	var hold atomic.Pointer[chan struct{}] // while set, the teardown waits for it to close
	k := newOpenAppKiosk(t, func(end TeardownFunc) TeardownFunc {
		return func(ctx context.Context, s Session) error {
			if c := hold.Load(); c != nil {
				<-*c
			}
			return end(ctx, s)
		}
	})
	k.connect()
	for i := range 4 {
		held := i%2 == 1
		id := uniqueSession(fmt.Sprintf("race%d", i))
		k.login(id, "ana", time.Hour)
		emr := waitProcs(t, id, emrCmd, 1)[0]
		mustNoErr(t, syscall.Kill(-emr.pgid, syscall.SIGKILL))
		waitProcs(t, id, emrCmd, 0)

		var release chan struct{}
		if held {
			release = make(chan struct{})
			hold.Store(&release)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				k.a.OpenApp(id, "emr")
				k.a.OpenApp(id, "mail")
				runtime.Gosched()
				time.Sleep(time.Millisecond) // a fast worker, not a busy loop
			}
		})
		// The tile works until the session ends: wait for emr to be back,
		// then kill it again so the taps keep starting it.
		launches, ending := 0, false
		for !ending {
			select {
			case e := <-k.ev.ch:
				switch e.Event {
				case EventAppLaunched:
					launches++
					if launches == 3 {
						k.a.Signout()
					} else if p := appProcs(t, id, emrCmd); len(p) == 1 {
						_ = syscall.Kill(-p[0].pgid, syscall.SIGKILL)
					}
				case EventSessionEnding:
					ending = true
				default:
					t.Fatalf("session %s: unexpected event %+v", id, e)
				}
			case <-time.After(waitLimit):
				t.Fatalf("session %s: no session.ending; %d app.launched", id, launches)
			}
		}
		if held {
			// Taps go on while the teardown is held: the kiosk is ending.
			time.Sleep(50 * time.Millisecond)
			close(release)
			hold.Store(nil)
		}
		for done := false; !done; {
			select {
			case e := <-k.ev.ch:
				switch e.Event {
				case EventSessionEnded:
					done = true
				default:
					t.Fatalf("session %s: %+v after session.ending", id, e)
				}
			case <-time.After(waitLimit):
				t.Fatalf("session %s: no session.ended", id)
			}
		}
		// Ended: nothing of it runs, now or a moment later (a launch that
		// lost the race would show up here).
		if ps := sessionProcs(t, id); len(ps) != 0 {
			t.Errorf("session %s: processes left after its teardown: %+v", id, ps)
		}
		time.Sleep(30 * time.Millisecond)
		close(stop)
		wg.Wait()
		k.do(func() {})
		if ps := sessionProcs(t, id); len(ps) != 0 {
			t.Errorf("session %s: processes started after its teardown: %+v", id, ps)
		}
		k.ev.none(t)
	}
	if !strings.Contains(k.logs.String(), `msg="app not opened: the session is ending"`) {
		t.Errorf("no tap was made while a session was ending:\n%s", k.logs.String())
	}
}

// TestSessionsOpenAppRefusals: Sessions.OpenApp starts nothing for a
// session without apps (WithoutApps: the demo), for an app the profile
// does not give the session's role, or for a session the manager does not
// hold (its start failed, or it has ended).
func TestSessionsOpenAppRefusals(t *testing.T) {
	noApps, err := NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.DiscardHandler), WithoutApps())
	mustNoErr(t, err)
	defer noApps.Close()
	s, err := NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.DiscardHandler))
	mustNoErr(t, err)
	defer s.Close()
	s.profile = &profiles.Profile{Apps: map[string][]profiles.App{"nurse": {{ID: "emr", Command: strings.Fields(emrCmd)}}}}
	id := uniqueSession("refusals")
	sess := Session{ID: id, User: "ana", Role: "nurse", Apps: []string{"emr", "mail"}}
	noApps.Start(Event{SessionID: id, User: "ana", Role: "nurse", Apps: sess.Apps})
	defer noApps.End(t.Context(), sess)

	for _, tc := range []struct {
		name string
		s    *Sessions
		sess Session
		app  string
		want string
	}{
		{"without apps", noApps, sess, "emr", "this kiosk runs sessions without apps"},
		{"not the role's", s, sess, "mail", `open mail in session ` + id + `: not one of the kiosk profile's apps for role "nurse"`},
		{"not granted", s, Session{ID: id, User: "ana", Role: "nurse", Apps: []string{"mail"}}, "emr", `open emr in session ` + id + `: not one of the kiosk profile's apps for role "nurse"`},
		{"not started", s, sess, "emr", "open emr in session " + id + ": the session is not open here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			launched, err := tc.s.OpenApp(tc.sess, tc.app)
			if launched || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenApp = %v, %v; want an error saying %q", launched, err, tc.want)
			}
		})
	}
	if ps := sessionProcs(t, id); len(ps) != 0 {
		t.Errorf("processes started: %+v", ps)
	}
}
