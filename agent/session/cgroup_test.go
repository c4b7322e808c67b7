package session

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newCgroupManager is a Manager whose sessions run in cgroups; it needs
// root (CI runs as root) on a machine with a cgroup v2 hierarchy.
func newCgroupManager(t *testing.T, state string) *Manager {
	t.Helper()
	needRoot(t)
	m, err := New(Config{StateDir: state, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if m.cgroups == "" {
		_, err := cgroupDir("")
		t.Fatalf("sessions run without cgroups as root: %v", err)
	}
	return m
}

// TestCgroupTeardownEndsEscapedProcess: in a cgroup, a process that left
// its process group and cleared its environment, without a session user
// to find it by, is still ended by the teardown (without the cgroup it
// escaped: the package's known limit). The cgroup is removed with the
// session.
func TestCgroupTeardownEndsEscapedProcess(t *testing.T) {
	m := newCgroupManager(t, t.TempDir())
	s, err := m.Start(t.Context(), Spec{ID: "escape", User: "ana", Apps: []App{shApp("escape", escapeScript)}})
	if err != nil {
		t.Fatal(err)
	}
	pid := escapedPid(t, s)
	if pids := markedPids(s.Dir()); len(pids) != 0 {
		t.Fatalf("the escaped process still carries the marker: %v", pids)
	}
	cg := s.cg
	if got := pidsOf(cgroupPids(cg)); !containsInt(got, pid) {
		t.Fatalf("escaped process %d not in the session cgroup %s (holds %v)", pid, cg, got)
	}
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, []int{pid})
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Errorf("session cgroup %s still there after teardown: %v", cg, err)
	}
}

// TestCgroupTeardownEndsForkingApp: an app that keeps forking is ended in
// one teardown (cgroup.kill takes the whole group at once), its children
// and grandchildren with it.
func TestCgroupTeardownEndsForkingApp(t *testing.T) {
	m := newCgroupManager(t, t.TempDir())
	s, err := m.Start(t.Context(), Spec{ID: "forks", User: "ana", Apps: []App{shApp("forks",
		`while :; do setsid env -i /bin/sleep 60 & sleep 0.01; done`)}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(cgroupPids(s.cg)) < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("the app forked %d processes in 10 s", len(cgroupPids(s.cg)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cg := s.cg
	pids := pidsOf(cgroupPids(cg))
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids)
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Errorf("session cgroup %s still there after teardown: %v", cg, err)
	}
}

// TestCgroupCleanupAfterCrash: a restarted agent ends what a crashed one
// left in its session cgroups, processes that escaped group and marker
// included, and removes the cgroups: those of a leftover session
// directory, and one whose directory is gone.
func TestCgroupCleanupAfterCrash(t *testing.T) {
	state := t.TempDir()
	old := newCgroupManager(t, state)
	s, err := old.Start(t.Context(), Spec{ID: "crashed", User: "ana", Apps: []App{shApp("escape", escapeScript)}})
	if err != nil {
		t.Fatal(err)
	}
	pid := escapedPid(t, s)

	// A cgroup of this state directory without a session directory,
	// holding a process.
	orphan := filepath.Join(old.cgroups, cgroupName(old.root, "orphan"))
	if err := os.Mkdir(orphan, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cgroupKill(orphan); time.Sleep(50 * time.Millisecond); _ = removeCgroup(orphan) })
	sleeper := exec.Command("/bin/sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	go sleeper.Wait()
	if err := os.WriteFile(filepath.Join(orphan, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	// Another agent's (another state directory's) cgroup is left alone.
	other := newCgroupManager(t, t.TempDir())
	os2, err := other.Start(t.Context(), Spec{ID: "crashed", User: "bo", Apps: []App{shApp("sleep", "exec sleep 60")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os2.Teardown(t.Context()) })
	otherPids := pidsOf(cgroupPids(os2.cg))

	m := newCgroupManager(t, state)
	if err := m.Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	assertGone(t, []int{pid, sleeper.Process.Pid})
	for _, cg := range []string{s.cg, orphan} {
		if _, err := os.Stat(cg); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left after cleanup: %v", cg, err)
		}
	}
	assertNoDir(t, s.Dir())
	if len(otherPids) == 0 {
		t.Fatal("the other agent's session has no process")
	}
	for _, p := range otherPids {
		if !alive(p) {
			t.Errorf("cleanup ended process %d of another state directory's session", p)
		}
	}
}

// TestCgroupConfig: NoCgroup runs sessions without cgroups; a given
// directory that is not a cgroup is refused, saying why.
func TestCgroupConfig(t *testing.T) {
	m, err := New(Config{StateDir: t.TempDir(), Cgroup: NoCgroup})
	if err != nil || m.cgroups != "" {
		t.Fatalf("NoCgroup: cgroups %q, %v", m.cgroups, err)
	}
	dir := t.TempDir()
	if _, err := New(Config{StateDir: t.TempDir(), Cgroup: dir}); err == nil || !strings.Contains(err.Error(), "is not a cgroup v2 directory") {
		t.Errorf("plain directory as cgroup: %v, want refused", err)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		"/sys/fs/cgroup":          "/sys/fs/cgroup",
		`/mnt/with\040space`:      "/mnt/with space",
		`/mnt/tab\011and\134back`: "/mnt/tab\tand\\back",
		`/odd\04`:                 `/odd\04`,
		`/odd\999`:                `/odd\999`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func containsInt(list []int, x int) bool { return slices.Contains(list, x) }

// TestCloseRemovesEmptyCgroups: an agent stopping with sessions open
// leaves them (their apps run on until the next start's Cleanup), but the
// cgroup of one no process is left in is removed, so a state directory
// deleted before any restart leaves nothing behind. A teardown after it
// still succeeds.
func TestCloseRemovesEmptyCgroups(t *testing.T) {
	m := newCgroupManager(t, t.TempDir())
	empty, err := m.Start(t.Context(), Spec{ID: "empty", User: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	busy, err := m.Start(t.Context(), Spec{ID: "busy", User: "bo", Apps: []App{shApp("sleep", "exec sleep 60")}})
	if err != nil {
		t.Fatal(err)
	}
	emptyCg, busyCg := empty.cg, busy.cg
	m.Close()
	if _, err := os.Stat(emptyCg); !os.IsNotExist(err) {
		t.Errorf("empty session cgroup %s after Close: %v, want removed", emptyCg, err)
	}
	if _, err := os.Stat(busyCg); err != nil {
		t.Errorf("cgroup of a session with a running app after Close: %v, want kept", err)
	}
	for _, s := range []*Session{empty, busy} {
		if err := s.Teardown(t.Context()); err != nil {
			t.Errorf("teardown of %s after Close: %v", s.ID(), err)
		}
	}
	if _, err := os.Stat(busyCg); !os.IsNotExist(err) {
		t.Errorf("busy cgroup after teardown: %v, want removed", err)
	}
}
