package session

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Session user of these tests (see runas_test.go).
const uidCoreRestore = 64153

// mayRaiseLimits reports whether the test process has CAP_SYS_RESOURCE,
// which raising a hard limit needs: root has it as a rule (CI), but a
// container or a hardened systemd unit may take it away.
func mayRaiseLimits(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			const capSysResource = 24
			return caps&(1<<capSysResource) != 0
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}

// allowCoreDumps sets the test process's RLIMIT_CORE, the agent's, to a
// limit that allows core dumps (a shell's ulimit -c, systemd's
// LimitCORE=), as far as this process may, and returns it; the limit the
// test started with is put back at its end where it may be.
func allowCoreDumps(t *testing.T) syscall.Rlimit {
	t.Helper()
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_CORE, &orig) })
	lim := orig
	if mayRaiseLimits(t) {
		// Soft and hard apart, so that one put back for the other
		// shows.
		lim = syscall.Rlimit{Cur: 1 << 30, Max: ^uint64(0)}
	} else {
		lim.Cur = lim.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &lim); err != nil {
		t.Fatal(err)
	}
	return lim
}

// agentCoreLimit is the agent's RLIMIT_CORE after an app's start when it
// was lim before: lim again, unless the agent may not raise the hard limit
// back (no CAP_SYS_RESOURCE), which then stays 0; restored says which.
func agentCoreLimit(t *testing.T, lim syscall.Rlimit) (want syscall.Rlimit, restored bool) {
	t.Helper()
	if lim.Max != 0 && !mayRaiseLimits(t) {
		return syscall.Rlimit{}, false
	}
	return lim, true
}

// appCoreLimits returns the soft and hard core file size limits in each
// "Max core file size" line of /proc/self/limits that apps wrote in out.
func appCoreLimits(out string) [][2]string {
	var got [][2]string
	for l := range strings.Lines(out) {
		if f := strings.Fields(l); strings.HasPrefix(l, "Max core file size") && len(f) == 7 {
			got = append(got, [2]string{f[4], f[5]})
		}
	}
	return got
}

// TestAppStartRestoresAgentCoreLimit: the agent lowers its own RLIMIT_CORE
// to 0 for each app to inherit, and puts its previous limit back once the
// app is started: an operator who allowed the agent core dumps to debug a
// crash in C code (libfido2, the graphics stack) still gets one after the
// first session's apps have started. The app keeps 0, soft and hard.
func TestAppStartRestoresAgentCoreLimit(t *testing.T) {
	lim := allowCoreDumps(t)
	var logs logBuffer
	cfg := Config{StateDir: t.TempDir(), Grace: 100 * time.Millisecond, TempDirs: []string{}}
	if os.Geteuid() == 0 {
		// As in production: a root app could raise its own limits.
		freeUID(t, uidCoreRestore)
		cfg = runAsConfig(t, uidCoreRestore)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	out := runApp(t, mustNew(t, cfg), `grep "^Max core file size" /proc/self/limits`)
	if got := appCoreLimits(out); len(got) != 1 || got[0] != [2]string{"0", "0"} {
		t.Errorf("the app's core file size limits (soft, hard): %q; want 0 and 0\napps.log:\n%s", got, out)
	}
	var got syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &got); err != nil {
		t.Fatal(err)
	}
	want, restored := agentCoreLimit(t, lim)
	if got != want {
		t.Errorf("the agent's core dump limit after an app's start: %+v; want %+v (before it: %+v)", got, want, lim)
	}
	// An agent that may not put its limit back says why its core dumps
	// are off, once; one that may, says nothing.
	const warning = `msg="the agent's own core dumps stay off after starting an app`
	if n := strings.Count(logs.String(), warning); restored && n != 0 || !restored && n != 1 {
		t.Errorf("%d warnings that the agent's core dumps stay off, want %d:\n%s", n, map[bool]int{false: 1}[restored], logs.String())
	}
}

// TestConcurrentAppStartsKeepCoreLimits: the limit is the whole process's,
// and apps start from many goroutines at once (sessions of one Manager,
// several Managers). Every app still starts with 0, and the agent ends up
// with the limit it had: one start's putting back never comes while
// another forks, nor does a start take another's 0 for the agent's limit.
func TestConcurrentAppStartsKeepCoreLimits(t *testing.T) {
	const sessions, apps = 6, 4
	lim := allowCoreDumps(t)
	// Apps as the agent's user: the test reads the limits the apps
	// start with, which no app here tries to change.
	ms := []*Manager{
		mustNew(t, Config{StateDir: t.TempDir(), Grace: 100 * time.Millisecond, TempDirs: []string{}}),
		mustNew(t, Config{StateDir: t.TempDir(), Grace: 100 * time.Millisecond, TempDirs: []string{}}),
	}
	var wg sync.WaitGroup
	ss := make([]*Session, sessions)
	errs := make([]error, sessions)
	for i := range sessions {
		spec := Spec{ID: fmt.Sprintf("corelimit-%d", i), User: "ana"}
		for j := range apps {
			spec.Apps = append(spec.Apps, shApp(fmt.Sprintf("probe%d", j), `grep "^Max core file size" /proc/self/limits; echo done`))
		}
		wg.Go(func() { ss[i], errs[i] = ms[i%len(ms)].Start(t.Context(), spec) })
	}
	wg.Wait()
	for i, s := range ss {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer func() {
			if err := s.Teardown(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	for _, s := range ss {
		out := waitForCount(t, filepath.Join(s.Dir(), "apps.log"), "done", apps)
		got := appCoreLimits(out)
		if len(got) != apps {
			t.Errorf("session %s: %d core file size limits in apps.log, want %d:\n%s", s.ID(), len(got), apps, out)
		}
		for _, l := range got {
			if l != [2]string{"0", "0"} {
				t.Errorf("session %s: an app's core file size limits (soft, hard): %q; want 0 and 0", s.ID(), l)
			}
		}
	}
	var got syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &got); err != nil {
		t.Fatal(err)
	}
	if want, _ := agentCoreLimit(t, lim); got != want {
		t.Errorf("the agent's core dump limit after concurrent app starts: %+v; want %+v (before them: %+v)", got, want, lim)
	}
}

// waitForCount waits until the file at path contains want n times.
func waitForCount(t *testing.T, path, want string, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Count(string(b), want) >= n {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q fewer than %d times after 10s; content %q", path, want, n, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
