package session

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Session users of these tests (see runas_test.go).
const (
	uidNoCore  = 64151
	uidNoLeaks = 64152
)

// appStartManager is a Manager whose apps run as uid when the test runs as
// root (CI does), as in production: a root app could raise its own limits
// and read any descriptor, which is not what the tests look at.
func appStartManager(t *testing.T, uid uint32) *Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		return mustNew(t, Config{StateDir: t.TempDir(), Grace: 100 * time.Millisecond, TempDirs: []string{}})
	}
	freeUID(t, uid)
	return mustNew(t, runAsConfig(t, uid))
}

// runApp starts a session whose one app runs script, and returns what the
// app wrote on its stdout (the session's apps.log) once it has written
// "done". The session is torn down before it returns.
func runApp(t *testing.T, m *Manager, script string) string {
	t.Helper()
	s, err := m.Start(t.Context(), Spec{ID: testID, User: "ana", Apps: []App{shApp("probe", script+"; echo done")}})
	if err != nil {
		t.Fatal(err)
	}
	out := waitFor(t, filepath.Join(s.Dir(), "apps.log"), "done")
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAppsStartWithoutCoreDumps: an app that crashes must not dump its
// memory (the worker's data, tokens): with systemd-coredump the dump would
// be kept where coredumpctl gives it to the session user, that is to the
// next worker's apps, and without it a core file lands in the app's
// working directory. Every app starts with RLIMIT_CORE 0, soft and hard,
// so that it cannot raise it either (systemd-coredump stores nothing for a
// process whose limit is below a page), whatever limit the agent was
// started with.
func TestAppsStartWithoutCoreDumps(t *testing.T) {
	// The agent may be started with core dumps allowed (a shell's ulimit
	// -c unlimited, systemd's LimitCORE=infinity): allow them here, as far
	// as this process may, so that an app that merely inherited the
	// agent's limit would show it.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &lim); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		lim.Max = ^uint64(0)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &lim); err != nil {
		t.Fatal(err)
	}

	out := runApp(t, appStartManager(t, uidNoCore),
		// The app tries to allow core dumps again, and reports its limit.
		`ulimit -H -c unlimited 2>/dev/null; ulimit -S -c unlimited 2>/dev/null; grep "^Max core file size" /proc/self/limits`)
	var got []string
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, "Max core file size") {
			got = strings.Fields(l)
		}
	}
	if len(got) != 7 || got[4] != "0" || got[5] != "0" {
		t.Errorf("the app's core file size limit (soft, hard): %q; want 0 and 0\napps.log:\n%s", got, out)
	}
}

// TestAppsInheritNoDescriptors: a descriptor the agent's process opened
// without close-on-exec (C code: libfido2's hidraw devices, pcsc, a
// library's socket; Go itself opens every file close-on-exec) must not be
// an app's: an app could talk to the badge reader directly. Only stdin,
// stdout and stderr are inherited.
func TestAppsInheritNoDescriptors(t *testing.T) {
	leak := filepath.Join(t.TempDir(), "badge-reader-stand-in")
	if err := os.WriteFile(leak, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(leak, syscall.O_RDONLY, 0) // no O_CLOEXEC, as C code opens
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	dup, err := syscall.Dup(fd) // dup(2) never sets close-on-exec
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dup)

	// ls lists the descriptors of the app's shell, the ones it inherited.
	out := runApp(t, appStartManager(t, uidNoLeaks), `ls -l /proc/$$/fd/`)
	if strings.Contains(out, leak) {
		t.Errorf("the app inherited a descriptor of %s (fds %d, %d):\n%s", leak, fd, dup, out)
	}
	if !strings.Contains(out, "apps.log") {
		t.Errorf("the app's descriptors are not listed (want its stdout, apps.log):\n%s", out)
	}
	// Nor any other: the test process's own inherited descriptors (a
	// pipe of go test's, say) are the agent's too.
	for l := range strings.Lines(out) {
		f := strings.Fields(l)
		if i := slices.Index(f, "->"); i > 0 && !slices.Contains([]string{"0", "1", "2"}, f[i-1]) {
			t.Errorf("the app inherited descriptor %s: %s", f[i-1], strings.TrimSpace(l))
		}
	}
	// The agent's own descriptors still work: only exec closes them.
	if _, err := syscall.Seek(fd, 0, 0); err != nil {
		t.Errorf("descriptor %d after the app's start: %v", fd, err)
	}
}

// TestCloseOnExecByProc: the fallback for kernels without close_range
// (before Linux 5.11) or a seccomp filter that forbids it marks every
// descriptor above stderr close-on-exec, and only those.
func TestCloseOnExecByProc(t *testing.T) {
	fd, err := syscall.Open(os.DevNull, syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := closeOnExecByProc(); err != nil {
		t.Fatal(err)
	}
	flags, err := fcntl(fd, syscall.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&syscall.FD_CLOEXEC == 0 {
		t.Errorf("descriptor %d not close-on-exec after closeOnExecByProc", fd)
	}
	for std := range 3 {
		if flags, err := fcntl(std, syscall.F_GETFD, 0); err == nil && flags&syscall.FD_CLOEXEC != 0 {
			t.Errorf("descriptor %d (stdin, stdout or stderr) made close-on-exec", std)
		}
	}
}
