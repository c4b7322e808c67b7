package session

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Session users of these tests: IDs no account or process has, one per
// test, so that a teardown's sweep of the session user's processes meets
// nothing else (tests of other packages may run at the same time).
const (
	uidEscape  = 64101
	uidCleanup = 64102
	uidHomes   = 64103
	uidRunAs   = 64104
	uidTemp    = 64105
	uidTempCln = 64106
)

// needRoot skips the test when it does not run as root, as
// TestRunAsKeepsAppsOutOfState does: it switches users or changes owners,
// which only root may (CI runs as root, so CI runs it).
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("switching the apps' user needs root (CI runs as root)")
	}
}

// freeUID fails the test when a process runs as uid already: the test
// would end it.
func freeUID(t *testing.T, uid uint32) {
	t.Helper()
	if pids := userPids(uid); len(pids) != 0 {
		t.Fatalf("processes %v already run as uid %d, which the test ends: pick another uid", pids, uid)
	}
}

// reachableDir returns a new temporary directory that the session user
// can search, as can it its parent (the build's temporary directories are
// root's alone).
func reachableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// homeRoot returns a path for a HomeRoot whose parents the session user
// can search.
func homeRoot(t *testing.T) string {
	t.Helper()
	return filepath.Join(reachableDir(t), "homes")
}

// runAsConfig is the Config of a Manager with session user uid: a fresh
// state directory and HomeRoot, and a shared temporary directory of its
// own (never the machine's /tmp).
func runAsConfig(t *testing.T, uid uint32) Config {
	t.Helper()
	return Config{StateDir: t.TempDir(), RunAs: &Credential{UID: uid, GID: uid}, HomeRoot: homeRoot(t),
		Grace: 100 * time.Millisecond, TempDirs: []string{t.TempDir()}}
}

// mustNew is New that fails the test.
func mustNew(t *testing.T, cfg Config) *Manager {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newRunAsManager(t *testing.T, state, homes string, uid uint32) *Manager {
	t.Helper()
	cfg := runAsConfig(t, uid)
	cfg.StateDir, cfg.HomeRoot = state, homes
	return mustNew(t, cfg)
}

// startReady starts session id with app, whose script says "ready" once
// it has done what the test needs, and waits for it to say so.
func startReady(t *testing.T, m *Manager, id string, app App) *Session {
	t.Helper()
	s, err := m.Start(t.Context(), Spec{ID: id, User: "ana", Apps: []App{app}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, filepath.Join(s.Dir(), "apps.log"), "ready")
	return s
}

// escapeScript leaves the process group (setsid) and clears the
// environment (env -i), so neither the group nor the marker finds the
// process; it says its pid on stdout, apps.log.
const escapeScript = `setsid env -i /bin/sh -c 'echo escaped $$; exec sleep 60' & echo started`

var escapedRE = regexp.MustCompile(`escaped (\d+)`)

// escapedPid waits for the escaped process to say its pid in the
// session's apps.log, and for no process to carry the session's marker
// any more: the escaped one has dropped it, and the app's own shell,
// which started it, has exited (on a loaded machine it may still be on
// its way out when the escaped process speaks).
func escapedPid(t *testing.T, s *Session) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(s.Dir(), "apps.log"))
		if m := escapedRE.FindSubmatch(b); m != nil {
			pid, _ := strconv.Atoi(string(m[1]))
			// Wait for it to have left the marker behind (exec of sleep).
			for time.Now().Before(deadline) {
				if env, err := os.ReadFile("/proc/" + string(m[1]) + "/environ"); err == nil && !strings.Contains(string(env), MarkerEnv) && len(markedPids(s.Dir())) == 0 {
					return pid
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no escaped process after 10s; apps.log: %q", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunAsTeardownEndsEscapedProcess: with a session user, an app that
// leaves its process group and clears its environment is still ended by
// the teardown, as a process of the session user; it would otherwise run
// on into the next worker's session, as the previous one.
func TestRunAsTeardownEndsEscapedProcess(t *testing.T) {
	needRoot(t)
	freeUID(t, uidEscape)
	m := newRunAsManager(t, t.TempDir(), homeRoot(t), uidEscape)
	s, err := m.Start(t.Context(), Spec{ID: "escape", User: "ana", Apps: []App{shApp("escape", escapeScript)}})
	if err != nil {
		t.Fatal(err)
	}
	pid := escapedPid(t, s)
	if pids := markedPids(s.Dir()); len(pids) != 0 {
		t.Fatalf("the escaped process still carries the marker: %v", pids)
	}
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, []int{pid})
	assertNoDir(t, s.Home())
}

// TestRunAsCleanupEndsEscapedProcess: a restarted agent ends the session
// user's processes a crashed one left, even those that left the recorded
// process groups and cleared their environment.
func TestRunAsCleanupEndsEscapedProcess(t *testing.T) {
	needRoot(t)
	freeUID(t, uidCleanup)
	state, homes := t.TempDir(), homeRoot(t)
	old := newRunAsManager(t, state, homes, uidCleanup)
	s, err := old.Start(t.Context(), Spec{ID: "crashed", User: "ana", Apps: []App{shApp("escape", escapeScript)}})
	if err != nil {
		t.Fatal(err)
	}
	pid := escapedPid(t, s)

	m := newRunAsManager(t, state, homes, uidCleanup)
	if err := m.Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	assertGone(t, []int{pid})
	assertNoDir(t, s.Home())
	assertNoDir(t, s.Dir())
}

// TestCleanupLeavesForeignHomes: at start, Cleanup removes the session
// homes left in HomeRoot and nothing else there: a HomeRoot given as /home
// must not cost every user their home.
func TestCleanupLeavesForeignHomes(t *testing.T) {
	needRoot(t)
	freeUID(t, uidHomes)
	homes := homeRoot(t)
	if err := os.MkdirAll(homes, 0o711); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, uid int, withFile bool) string {
		d := filepath.Join(homes, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if withFile {
			if err := os.WriteFile(filepath.Join(d, "notes.txt"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(d, uid, uid); err != nil {
			t.Fatal(err)
		}
		return d
	}
	keep := []string{
		mk("alice", 1000, true),    // another user's home
		mk("backup", 0, true),      // the agent's (root's), not empty
		mk("lost+found", 0, false), // no session's name
	}
	if err := os.Symlink("/etc", filepath.Join(homes, "etc-link")); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, filepath.Join(homes, "etc-link"))
	gone := []string{
		mk("left-by-crash", uidHomes, true), // a session home, owned by the session user
		mk("made-not-chowned", 0, false),    // made by the agent, empty
	}

	m := newRunAsManager(t, t.TempDir(), homes, uidHomes)
	if err := m.Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	for _, p := range keep {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("cleanup removed %s, which is no session home: %v", p, err)
		}
	}
	for _, p := range gone {
		assertNoDir(t, p)
	}
}

// TestHomeRootRefusals: New refuses a HomeRoot it must not take over (it
// makes it 0711, and removes session homes from it at start): a shared
// directory such as /tmp, or one the session user owns.
func TestHomeRootRefusals(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name string
		mode os.FileMode
		uid  int
		want string
	}{
		{"world-writable and sticky, like /tmp", 0o777 | os.ModeSticky, 0, "writable by others"},
		{"group-writable", 0o770, 0, "writable by others"},
		{"owned by the session user", 0o755, uidRunAs, "owned by the session user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			homes := homeRoot(t)
			if err := os.Mkdir(homes, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(homes, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(homes, tc.uid, tc.uid); err != nil {
				t.Fatal(err)
			}
			_, err := New(Config{StateDir: t.TempDir(), RunAs: &Credential{UID: uidRunAs, GID: uidRunAs}, HomeRoot: homes})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %q", err, tc.want)
			}
			fi, err := os.Stat(homes)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&(os.ModePerm|os.ModeSticky) != tc.mode {
				t.Errorf("the refused home root's mode changed to %v, was %v", fi.Mode(), tc.mode)
			}
		})
	}
	// A fresh or private one is taken and made 0711.
	homes := homeRoot(t)
	if _, err := New(Config{StateDir: t.TempDir(), RunAs: &Credential{UID: uidRunAs, GID: uidRunAs}, HomeRoot: homes}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(homes); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("home root: %v, %v; want a directory 0711", fi, err)
	}
}

func TestStatusHasUID(t *testing.T) {
	status := []byte("Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t2000\t3000\nGid:\t1000\t1000\t1000\t1000\n")
	for uid, want := range map[uint32]bool{1000: true, 0: true, 2000: true, 3000: false, 1: false} {
		if got := statusHasUID(status, uid); got != want {
			t.Errorf("statusHasUID(%d) = %v, want %v", uid, got, want)
		}
	}
	if statusHasUID([]byte("Name:\tx\n"), 0) {
		t.Error("statusHasUID without a Uid line: true")
	}
}

// TestStartKeepsExistingHome: a session whose home already exists in
// HomeRoot is refused (ErrExists), and that directory, which the
// session did not make, is left as it was.
func TestStartKeepsExistingHome(t *testing.T) {
	needRoot(t)
	freeUID(t, uidRunAs)
	homes := homeRoot(t)
	m := newRunAsManager(t, t.TempDir(), homes, uidRunAs)
	theirs := filepath.Join(homes, "taken")
	if err := os.Mkdir(theirs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(theirs, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(t.Context(), Spec{ID: "taken", User: "ana"}); !errors.Is(err, ErrExists) {
		t.Errorf("Start over an existing home: %v, want ErrExists", err)
	}
	if _, err := os.Stat(filepath.Join(theirs, "notes.txt")); err != nil {
		t.Errorf("the failed Start removed a home it did not make: %v", err)
	}
	assertNoDir(t, filepath.Join(m.root, "taken"))
}
