package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The tests start real processes (/bin/sh, sleep) and check the real
// process table. A process counts as gone when it has no /proc entry or is
// a zombie: a dead orphan whose new parent (PID 1 in many containers)
// never reaps it.

const testID = "3f2b8c1e-7a4d-4e0f-9b6a-2d5c8e1f0a7b"

type clip struct{ n atomic.Int32 }

func (c *clip) clear(context.Context) error { c.n.Add(1); return nil }

func newManager(t *testing.T, stateDir string, grace time.Duration, c *clip) *Manager {
	t.Helper()
	cfg := Config{StateDir: stateDir, Grace: grace}
	if c != nil {
		cfg.Clipboard = c.clear
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// shApp runs script with /bin/sh; env adds variables (the tests pass the
// path of a report file outside the session as OUT).
func shApp(id, script string, env ...string) App {
	return App{ID: id, Command: []string{"/bin/sh", "-c", script}, Env: env}
}

// waitFor waits until the file at path contains want.
func waitFor(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after 10s; content %q", path, want, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pidsIn returns the numbers on the lines of report.
func pidsIn(t *testing.T, report string) []int {
	t.Helper()
	var pids []int
	for _, l := range strings.Fields(report) {
		if pid, err := strconv.Atoi(l); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitPids waits until the file at path holds n pids.
func waitPids(t *testing.T, path string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if pids := pidsIn(t, string(b)); len(pids) >= n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: fewer than %d pids after 10s; content %q", path, n, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether a thread of process pid is neither a zombie nor
// being reaped, reading every thread's own stat: /proc/PID/stat shows the
// main thread's state, Z for a process whose main thread has exited while
// others run on (see TestTeardownEndsZombieLeader).
func alive(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if st, ok := parseStat(b); ok && st.state != 'Z' && st.state != 'X' {
			return true
		}
	}
	return false
}

func assertGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d still alive after teardown", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func assertNoDir(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after teardown (err %v)", dir, err)
	}
}

// treeScript starts a child that ignores SIGTERM, an orphaned grandchild
// (its parent exits at once), a grandchild whose parent waits for it, and
// writes into HOME and TMPDIR; it reports every pid, then, once the
// background ones have reported theirs too, "ready".
const treeScript = `
echo $$ >> "$OUT"
sh -c 'trap "" TERM; echo $$ >> "$OUT"; exec sleep 60' &
sh -c 'sleep 60 & echo $! >> "$OUT"'
sh -c 'sleep 60 & echo $! >> "$OUT"; echo $$ >> "$OUT"; wait' &
echo secret > "$HOME/secret.txt"
mkdir -p "$HOME/.config/app" && echo x > "$HOME/.config/app/state"
echo scratch > "$TMPDIR/scratch"
while [ "$(wc -l < "$OUT")" -lt 5 ]; do sleep 0.01; done
echo ready >> "$OUT"
wait
`

func TestTeardownKillsProcessTree(t *testing.T) {
	t.Parallel()
	c := &clip{}
	m := newManager(t, t.TempDir(), 200*time.Millisecond, c)
	out := filepath.Join(t.TempDir(), "pids")
	s, err := m.Start(t.Context(), Spec{ID: testID, User: "ada", Apps: []App{shApp("tree", treeScript, "OUT="+out)}})
	if err != nil {
		t.Fatal(err)
	}
	pids := pidsIn(t, waitFor(t, out, "ready"))
	if len(pids) != 5 {
		t.Fatalf("want 5 pids in the tree, got %v", pids)
	}
	for _, f := range []string{filepath.Join(s.Home(), "secret.txt"), filepath.Join(s.TempDir(), "scratch")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the app did not write %s: %v", f, err)
		}
	}

	t0 := time.Now()
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	t.Logf("teardown with a SIGTERM-ignoring child took %s (grace 200ms)", time.Since(t0))
	assertGone(t, pids)
	assertNoDir(t, s.Dir())
	if n := c.n.Load(); n != 1 {
		t.Errorf("clipboard cleared %d times, want 1", n)
	}

	// Idempotent, and the session is closed.
	if err := s.Teardown(t.Context()); err != nil {
		t.Errorf("second teardown: %v", err)
	}
	if err := m.End(t.Context(), testID); err != nil {
		t.Errorf("End after teardown: %v", err)
	}
	if n := c.n.Load(); n != 2 {
		t.Errorf("clipboard cleared %d times after End of an ended session, want 2", n)
	}
	if err := s.Launch(shApp("late", "sleep 60")); !errors.Is(err, ErrEnded) {
		t.Errorf("Launch after teardown: got %v, want ErrEnded", err)
	}
	if _, err := m.Start(t.Context(), Spec{ID: testID, User: "ada"}); !errors.Is(err, ErrEnded) {
		t.Errorf("Start of an ended session: got %v, want ErrEnded", err)
	}
}

func TestTeardownKillsEscapedProcess(t *testing.T) {
	t.Parallel()
	m := newManager(t, t.TempDir(), 200*time.Millisecond, nil)
	out := filepath.Join(t.TempDir(), "pids")
	// setsid leaves the process group (and session); the environment
	// marker still finds it.
	script := `setsid sh -c 'echo $$ >> "$OUT"; exec sleep 60' & echo ready >> "$OUT"; wait`
	s, err := m.Start(t.Context(), Spec{ID: "escape", User: "ada", Apps: []App{shApp("escape", script, "OUT="+out)}})
	if err != nil {
		t.Fatal(err)
	}
	pids := waitPids(t, out, 1)
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids)
}

func TestFreshHomePerSession(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	m := newManager(t, state, time.Second, nil)
	out1 := filepath.Join(t.TempDir(), "s1")
	write := `echo "$HOME|$TMPDIR|$USER|$LOGNAME|$PATH|$SHIFTGATE_SESSION|$X" > "$OUT"
echo one > "$HOME/mine"; echo one > "$TMPDIR/mine"; echo ready >> "$OUT"; exec sleep 60`
	s1, err := m.Start(t.Context(), Spec{ID: "s1", User: "ada", Apps: []App{shApp("w", write, "OUT="+out1, "X=y", "HOME=/etc")}})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.SplitN(waitFor(t, out1, "ready"), "\n", 2)[0]
	want := strings.Join([]string{s1.Home(), s1.TempDir(), "ada", "ada", DefaultPath, "s1", "y"}, "|")
	if got != want {
		t.Errorf("app environment:\n got %s\nwant %s", got, want)
	}
	for _, d := range []string{s1.Dir(), s1.Home(), s1.TempDir()} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
	if err := s1.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}

	out2 := filepath.Join(t.TempDir(), "s2")
	look := `ls -A "$HOME" "$TMPDIR" > "$OUT"; find "$SHIFTGATE_SESSION_DIR/.." -name mine >> "$OUT"; echo ready >> "$OUT"`
	s2, err := m.Start(t.Context(), Spec{ID: "s2", User: "bob", Apps: []App{shApp("l", look, "OUT="+out2)}})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Teardown(context.WithoutCancel(t.Context()))
	if s2.Home() == s1.Home() || s2.TempDir() == s1.TempDir() {
		t.Errorf("session 2 reuses session 1's directories: %s %s", s2.Home(), s2.TempDir())
	}
	report := waitFor(t, out2, "ready")
	if strings.Contains(report, "mine") {
		t.Errorf("session 2 sees session 1's files:\n%s", report)
	}

	// A session directory that exists is never reused.
	if err := os.Mkdir(filepath.Join(state, "sessions", "s3"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(t.Context(), Spec{ID: "s3", User: "ada"}); !errors.Is(err, ErrExists) {
		t.Errorf("Start over an existing directory: got %v, want ErrExists", err)
	}
}

func TestTeardownBeforeGraceWhenAppsObey(t *testing.T) {
	t.Parallel()
	const grace = 8 * time.Second
	m := newManager(t, t.TempDir(), grace, nil)
	out := filepath.Join(t.TempDir(), "pids")
	s, err := m.Start(t.Context(), Spec{ID: "obey", User: "ada", Apps: []App{
		shApp("a", `echo $$ >> "$OUT"; exec sleep 60`, "OUT="+out),
		{ID: "b", Command: []string{"sleep", "60"}}, // looked up in the session PATH
	}})
	if err != nil {
		t.Fatal(err)
	}
	pids := waitPids(t, out, 1)
	t0 := time.Now()
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	t.Logf("teardown of SIGTERM-obeying apps took %s (grace %s)", took, grace)
	if took > grace/2 {
		t.Errorf("teardown took %s: SIGTERM-obeying apps should end well before the %s grace", took, grace)
	}
	assertGone(t, pids)
	assertNoDir(t, s.Dir())
}

func TestReadOnlyFilesWiped(t *testing.T) {
	t.Parallel()
	m := newManager(t, t.TempDir(), time.Second, nil)
	out := filepath.Join(t.TempDir(), "out")
	script := `mkdir -p "$HOME/ro/sub" "$HOME/locked" "$TMPDIR/ro"
echo x > "$HOME/ro/sub/f"; echo x > "$HOME/ro/f"; echo x > "$TMPDIR/ro/f"; echo x > "$HOME/locked/f"
chmod 0400 "$HOME/ro/sub/f" "$HOME/ro/f" "$TMPDIR/ro/f"
chmod 0500 "$HOME/ro/sub" "$HOME/ro" "$TMPDIR/ro" "$TMPDIR"
chmod 0000 "$HOME/locked"
echo ready > "$OUT"`
	s, err := m.Start(t.Context(), Spec{ID: "ro", User: "ada", Apps: []App{shApp("ro", script, "OUT="+out)}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "ready")
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertNoDir(t, s.Dir())
}

// Root may remove read-only directories anyway; this checks the chmod
// walk itself, and that it never follows a symlink out of the session.
func TestMakeWritable(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "root")
	outside := t.TempDir()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(root, "a", "link")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{outside, 0o500}, {filepath.Join(root, "a/b"), 0o500}, {filepath.Join(root, "a"), 0o500}, {filepath.Join(root, "c"), 0}, {root, 0}} {
		if err := os.Chmod(c.path, c.mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = os.Chmod(outside, 0o700) })
	makeWritable(root)
	for _, d := range []string{".", "a", "a/b", "c"} {
		fi, err := os.Stat(filepath.Join(root, d))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o700 != 0o700 {
			t.Errorf("%s: mode %v after makeWritable", d, fi.Mode().Perm())
		}
	}
	fi, err := os.Stat(outside)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o500 {
		t.Errorf("makeWritable followed a symlink: %s is %v, want 0500", outside, fi.Mode().Perm())
	}
}

func TestCleanupLeftovers(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	// The "crashed" agent: sessions started and never torn down.
	old := newManager(t, state, time.Second, nil)
	out := filepath.Join(t.TempDir(), "pids")
	s, err := old.Start(t.Context(), Spec{ID: "left", User: "ada", Apps: []App{
		shApp("tree", treeScript, "OUT="+out),
		{ID: "sleep", Command: []string{"sleep", "60"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	pids := pidsIn(t, waitFor(t, out, "ready"))
	// A stale record whose group no longer exists, a torn line, and a
	// stray file are tolerated.
	f, err := os.OpenFile(filepath.Join(s.Dir(), pidsFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%d 1\n1 1\n12", 4194000)
	f.Close()
	if err := os.WriteFile(filepath.Join(state, "sessions", "stray"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	c := &clip{}
	m := newManager(t, state, 200*time.Millisecond, c)
	if err := m.Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	assertGone(t, pids)
	ents, err := os.ReadDir(filepath.Join(state, "sessions"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("sessions left after cleanup: %v", ents)
	}
	if n := c.n.Load(); n != 1 {
		t.Errorf("clipboard cleared %d times by cleanup, want 1", n)
	}
	// Nothing left: a second cleanup does nothing.
	if err := m.Cleanup(t.Context()); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
	if n := c.n.Load(); n != 1 {
		t.Errorf("clipboard cleared %d times after an empty cleanup, want 1", n)
	}
	// The old manager's session is still torn down without error.
	if err := s.Teardown(t.Context()); err != nil {
		t.Errorf("teardown after cleanup: %v", err)
	}
}

func TestEndWithoutLiveSession(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	old := newManager(t, state, time.Second, nil)
	out := filepath.Join(t.TempDir(), "pids")
	if _, err := old.Start(t.Context(), Spec{ID: "restarted", User: "ada", Apps: []App{
		shApp("a", `trap "" TERM; echo $$ >> "$OUT"; sleep 60`, "OUT="+out),
	}}); err != nil {
		t.Fatal(err)
	}
	pids := waitPids(t, out, 1)
	// The agent restarted mid-teardown and calls its TeardownFunc again.
	m := newManager(t, state, 200*time.Millisecond, nil)
	if err := m.End(t.Context(), "restarted"); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids)
	assertNoDir(t, filepath.Join(state, "sessions", "restarted"))
	if err := m.End(t.Context(), "never-started"); err != nil {
		t.Errorf("End of an unknown session: %v", err)
	}
}

func TestBadIDs(t *testing.T) {
	t.Parallel()
	m := newManager(t, t.TempDir(), time.Second, nil)
	for _, id := range []string{"", "../x", "a/b", ".", "..", ".hidden", "-rf", "a b", "a\x00b", "/abs", strings.Repeat("a", 129)} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			if _, err := m.Start(t.Context(), Spec{ID: id, User: "ada"}); !errors.Is(err, ErrBadID) {
				t.Errorf("Start: got %v, want ErrBadID", err)
			}
			if err := m.End(t.Context(), id); !errors.Is(err, ErrBadID) {
				t.Errorf("End: got %v, want ErrBadID", err)
			}
		})
	}
	for _, id := range []string{testID, "a", "s_1.x-2"} {
		if !ValidID(id) {
			t.Errorf("ValidID(%q) = false", id)
		}
	}
}

func TestStartFailureCleansUp(t *testing.T) {
	t.Parallel()
	m := newManager(t, t.TempDir(), 200*time.Millisecond, nil)
	out := filepath.Join(t.TempDir(), "pids")
	_, err := m.Start(t.Context(), Spec{ID: "broken", User: "ada", Apps: []App{
		shApp("ok", `echo $$ >> "$OUT"; exec sleep 60`, "OUT="+out),
		{ID: "missing", Command: []string{"no-such-program-shiftgate"}},
	}})
	if err == nil {
		t.Fatal("Start succeeded with a missing program")
	}
	b, _ := os.ReadFile(out)
	assertGone(t, pidsIn(t, string(b)))
	assertNoDir(t, filepath.Join(m.root, "broken"))
	if _, err := m.Start(t.Context(), Spec{ID: "x", User: "ada", Apps: []App{{ID: "empty"}}}); !errors.Is(err, ErrBadApp) {
		t.Errorf("empty command: got %v, want ErrBadApp", err)
	}
}

func TestLaunchConcurrentWithTeardown(t *testing.T) {
	t.Parallel()
	m := newManager(t, t.TempDir(), 200*time.Millisecond, nil)
	s, err := m.Start(t.Context(), Spec{ID: "race", User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			<-start
			for {
				if err := s.Launch(App{ID: "s", Command: []string{"sleep", "60"}}); err != nil {
					if !errors.Is(err, ErrEnded) {
						t.Errorf("Launch: %v", err)
					}
					return
				}
			}
		})
	}
	close(start)
	time.Sleep(50 * time.Millisecond)
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if pids := markedPids(s.Dir()); len(pids) != 0 {
		t.Errorf("session processes left after teardown: %v", pids)
	}
	assertNoDir(t, s.Dir())
}

func TestParseStat(t *testing.T) {
	st, ok := parseStat([]byte("42 (a) (b c) S 1 40 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0"))
	if !ok || st.state != 'S' || st.pgrp != 40 || st.start != 12345 {
		t.Errorf("parseStat = %+v, %v", st, ok)
	}
	if _, ok := parseStat([]byte("42 (x")); ok {
		t.Error("parseStat accepted a truncated line")
	}
}

// With RunAs, apps run as the session user: they cannot read the agent's
// state directory (the device key), and their HOME lies outside it, owned
// by them; teardown removes it.
func TestRunAsKeepsAppsOutOfState(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching the apps' user needs root (CI runs as root)")
	}
	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, "device-key.pem"), []byte("DEVICEKEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	// The session user must reach its home: every parent searchable.
	for _, d := range []string{parent, filepath.Dir(parent)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	homes := filepath.Join(parent, "homes")
	freeUID(t, uidRunAs)
	m, err := New(Config{StateDir: state, RunAs: &Credential{UID: uidRunAs, GID: uidRunAs}, HomeRoot: homes, Grace: 100 * time.Millisecond,
		TempDirs: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	script := `id -u; cat "` + filepath.Join(state, "device-key.pem") + `" 2>&1; echo x > "$HOME/f" && echo wrote; echo done`
	s, err := m.Start(t.Context(), Spec{ID: "s1", User: "ana", Apps: []App{{ID: "sh", Command: []string{"/bin/sh", "-c", script}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Home(), homes+string(filepath.Separator)) {
		t.Errorf("home %s is not under the home root %s", s.Home(), homes)
	}
	var out string
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out, "done") {
		if time.Now().After(deadline) {
			t.Fatalf("app did not finish; output so far:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
		b, _ := os.ReadFile(filepath.Join(s.Dir(), "apps.log"))
		out = string(b)
	}
	if !strings.Contains(out, strconv.Itoa(uidRunAs)+"\n") {
		t.Errorf("app did not run as uid %d:\n%s", uidRunAs, out)
	}
	if strings.Contains(out, "DEVICEKEY") {
		t.Errorf("the app read the device key:\n%s", out)
	}
	if !strings.Contains(out, "wrote") {
		t.Errorf("the app could not write in its own home:\n%s", out)
	}
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Home()); !os.IsNotExist(err) {
		t.Errorf("home after teardown: %v, want it gone", err)
	}
}

// RunAs refuses what would give apps the agent's reach.
func TestRunAsRefusals(t *testing.T) {
	state := t.TempDir()
	type refusal struct {
		name string
		cfg  Config
		want string
	}
	cases := []refusal{
		{"root", Config{StateDir: state, RunAs: &Credential{UID: 0}, HomeRoot: t.TempDir()}, "root"},
		{"nobody", Config{StateDir: state, RunAs: &Credential{UID: 65534, GID: 65534}, HomeRoot: t.TempDir()}, "nobody"},
		{"no home root", Config{StateDir: state, RunAs: &Credential{UID: uidRunAs, GID: uidRunAs}}, "home root"},
		{"homes in the state", Config{StateDir: state, RunAs: &Credential{UID: uidRunAs, GID: uidRunAs}, HomeRoot: filepath.Join(state, "homes")}, "inside the state directory"},
		{"homes in the state, named like a parent", Config{StateDir: state, RunAs: &Credential{UID: uidRunAs, GID: uidRunAs}, HomeRoot: filepath.Join(state, "..homes")}, "inside the state directory"},
		{"the state itself", Config{StateDir: state, RunAs: &Credential{UID: uidRunAs, GID: uidRunAs}, HomeRoot: state}, "inside the state directory"},
	}
	if own := uint32(os.Getuid()); own != 0 { // as root, the root case is this one
		cases = append(cases, refusal{"the agent's user", Config{StateDir: state, RunAs: &Credential{UID: own}, HomeRoot: t.TempDir()}, "agent's own user"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// TestGraceConfig: a zero Grace is DefaultGrace, NoGrace is none at all (a
// kiosk profile's grace of 0s: SIGKILL right after SIGTERM), and any other
// negative grace is refused.
func TestGraceConfig(t *testing.T) {
	for _, tc := range []struct {
		in, want time.Duration
		ok       bool
	}{
		{0, DefaultGrace, true},
		{NoGrace, 0, true},
		{250 * time.Millisecond, 250 * time.Millisecond, true},
		{-2 * time.Second, 0, false},
	} {
		m, err := New(Config{StateDir: t.TempDir(), Grace: tc.in})
		if (err == nil) != tc.ok {
			t.Errorf("New with grace %v: %v", tc.in, err)
			continue
		}
		if err == nil && m.cfg.Grace != tc.want {
			t.Errorf("grace %v became %v, want %v", tc.in, m.cfg.Grace, tc.want)
		}
	}
}
