package session

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Users of TestSweepDir: nobodysUID owns no file the test makes (the
// "session user" of a sweep that must remove nothing); theirUID owns the
// files of someone else, as root can make them.
const (
	nobodysUID = 64198
	theirUID   = 64199
)

// sharedTemp returns a directory like /tmp (world-writable, sticky) that
// a session user can reach (its parents searchable).
func sharedTemp(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(reachableDir(t), "tmp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	return dir
}

// outsideFiles makes a directory with a file in it, outside the shared
// temporary directories, for symlinks to point at.
func outsideFiles(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "keep")
	if err := os.WriteFile(file, []byte("not the session's"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func assertKept(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed, want it kept: %v", p, err)
		}
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Errorf("%s: %q, %v; want %q left as it was", path, b, err, want)
	}
}

// TestSweepDir: the sweep removes every entry directly in a shared
// temporary directory that the given user owns — files (read-only ones
// too), directories with all they hold (read-only and locked ones too),
// symlinks as links (what they point to survives), FIFOs, sockets — and
// nothing of anyone else's. The test's own user plays the session user; a
// user that owns none of it stands for everyone else.
func TestSweepDir(t *testing.T) {
	t.Parallel()
	shared, other := t.TempDir(), t.TempDir()
	outDir, outFile := outsideFiles(t)
	// Read-only: a walk that followed the symlink would make it 0700.
	if err := os.Chmod(outDir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(outDir, 0o700) })
	in := func(name string) string { return filepath.Join(shared, name) }
	write := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("worker data"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(in("report.pdf"), 0o400)
	write(in(".org.chromium.Chromium.x1/Default/Cache/data_0"), 0o600)
	write(in(".org.chromium.Chromium.x1/ro/f"), 0o400)
	write(in(".org.chromium.Chromium.x1/locked/f"), 0o600)
	write(filepath.Join(other, "shm-segment"), 0o600)
	for p, mode := range map[string]os.FileMode{
		in(".org.chromium.Chromium.x1/ro"):     0o500,
		in(".org.chromium.Chromium.x1/locked"): 0,
	} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outDir, in("link-to-dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outFile, in("link-to-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent", in("dangling")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(in("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(in("socket"), syscall.S_IFSOCK|0o600, 0); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(shared)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{filepath.Join(other, "shm-segment")}
	for _, e := range ents {
		all = append(all, in(e.Name()))
	}
	// Someone else's file and directory stay, and so does a file of the
	// session user in that directory: only entries directly in the
	// shared directories are looked at. Only root can give files another
	// owner (CI runs as root).
	var theirs []string
	if os.Geteuid() == 0 {
		write(in("theirs"), 0o600)
		write(in("theirs-dir/ours-inside"), 0o600)
		for _, p := range []string{in("theirs"), in("theirs-dir")} {
			if err := os.Lchown(p, theirUID, theirUID); err != nil {
				t.Fatal(err)
			}
		}
		theirs = []string{in("theirs"), in("theirs-dir"), in("theirs-dir/ours-inside")}
	}
	dirs := []string{shared, other, filepath.Join(shared, "missing")}
	m := &Manager{cfg: Config{TempDirs: dirs}, log: slog.New(slog.DiscardHandler)}

	// Nothing of a user that owns nothing here.
	if n, err := m.sweepTemp(nobodysUID); n != 0 || err != nil {
		t.Fatalf("sweep for a user that owns nothing: removed %d, err %v", n, err)
	}
	assertKept(t, all...)

	own := uint32(os.Geteuid())
	n, err := m.sweepTemp(own)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if want := len(all); n != want {
		t.Errorf("sweep removed %d entries, want %d", n, want)
	}
	for _, p := range all {
		assertNoDir(t, p)
	}
	assertKept(t, theirs...)
	assertKept(t, shared, other)
	assertFile(t, outFile, "not the session's")
	if fi, err := os.Stat(outDir); err != nil || fi.Mode().Perm() != 0o500 {
		t.Errorf("the directory a swept symlink pointed to: %v, %v; want it kept, 0500", fi, err)
	}
}

// TestSweepDirFailure: a directory the sweep cannot go through fails it,
// naming the path; the other directories are swept all the same.
func TestSweepDirFailure(t *testing.T) {
	t.Parallel()
	shared := t.TempDir()
	if err := os.WriteFile(filepath.Join(shared, "left"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Manager{cfg: Config{TempDirs: []string{notDir, shared}}, log: slog.New(slog.DiscardHandler)}
	n, err := m.sweepTemp(uint32(os.Geteuid()))
	if err == nil || !strings.Contains(err.Error(), notDir) {
		t.Errorf("sweep: %v, want an error naming %s", err, notDir)
	}
	if n != 1 {
		t.Errorf("sweep removed %d entries, want 1", n)
	}
	assertNoDir(t, filepath.Join(shared, "left"))
}

// TestTempDirsConfig: nil means /tmp, /var/tmp, /dev/shm, /run/lock and
// /dev/mqueue (the POSIX message queues); an empty list none; relative
// paths are refused.
func TestTempDirsConfig(t *testing.T) {
	m, err := New(Config{StateDir: t.TempDir(), Cgroup: NoCgroup})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue"}; !slices.Equal(m.cfg.TempDirs, want) {
		t.Errorf("default TempDirs %q, want %q", m.cfg.TempDirs, want)
	}
	m, err = New(Config{StateDir: t.TempDir(), Cgroup: NoCgroup, TempDirs: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.cfg.TempDirs) != 0 {
		t.Errorf("TempDirs %q, want none", m.cfg.TempDirs)
	}
	if _, err := New(Config{StateDir: t.TempDir(), Cgroup: NoCgroup, TempDirs: []string{"tmp"}}); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("New with a relative TempDirs entry: %v, want an error about absolute paths", err)
	}
}

// tempScript leaves in $SHARED what a browser and a worker leave in /tmp:
// a download, a cache directory (one subdirectory read-only), a symlink to
// a file outside, a FIFO; then it says so and waits to be ended.
const tempScript = `set -e
echo secret > "$SHARED/report.pdf"
mkdir -p "$SHARED/.org.chromium.Chromium.x1/Cache/ro"
echo cached > "$SHARED/.org.chromium.Chromium.x1/Cache/ro/data"
chmod 0500 "$SHARED/.org.chromium.Chromium.x1/Cache/ro"
ln -s "$OUTSIDE" "$SHARED/link"
mkfifo "$SHARED/fifo"
echo ready
exec sleep 60`

var tempLeft = []string{"report.pdf", ".org.chromium.Chromium.x1", "link", "fifo"}

// TestRunAsTeardownSweepsTempDirs: with a session user, the teardown
// removes what the session's apps left in the shared temporary
// directories, and nothing else there: not another user's file, not the
// file a symlink of the session pointed to.
func TestRunAsTeardownSweepsTempDirs(t *testing.T) {
	needRoot(t)
	freeUID(t, uidTemp)
	shared := sharedTemp(t)
	outDir, outFile := outsideFiles(t)
	if err := os.Chmod(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(shared, "roots-file")
	if err := os.WriteFile(root, []byte("root's"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A shared directory the sweep cannot go through (here: no
	// directory) fails the teardown, which a retry completes.
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := runAsConfig(t, uidTemp)
	cfg.TempDirs = []string{notDir, shared}
	s := startReady(t, mustNew(t, cfg), "tmp", shApp("tmp", tempScript, "SHARED="+shared, "OUTSIDE="+outFile))
	for _, name := range tempLeft {
		assertKept(t, filepath.Join(shared, name))
	}
	if err := s.Teardown(t.Context()); err == nil || !strings.Contains(err.Error(), notDir) {
		t.Fatalf("teardown: %v, want it to fail naming %s", err, notDir)
	}
	for _, name := range tempLeft {
		assertNoDir(t, filepath.Join(shared, name))
	}
	if err := os.Remove(notDir); err != nil {
		t.Fatal(err)
	}
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatalf("teardown retried: %v", err)
	}
	assertFile(t, root, "root's")
	assertFile(t, outFile, "not the session's")
}

// TestRunAsCleanupSweepsTempDirs: a restarted agent removes what a crashed
// one's session left in the shared temporary directories, after ending
// its processes.
func TestRunAsCleanupSweepsTempDirs(t *testing.T) {
	needRoot(t)
	freeUID(t, uidTempCln)
	shared := sharedTemp(t)
	_, outFile := outsideFiles(t)
	cfg := runAsConfig(t, uidTempCln)
	cfg.TempDirs = []string{shared}
	startReady(t, mustNew(t, cfg), "crashed", shApp("tmp", tempScript, "SHARED="+shared, "OUTSIDE="+outFile))

	if err := mustNew(t, cfg).Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	for _, name := range tempLeft {
		assertNoDir(t, filepath.Join(shared, name))
	}
	assertFile(t, outFile, "not the session's")
}

// TestNoSweepWithoutRunAs: without a session user the apps run as the
// agent's user, and what they leave in the shared temporary directories
// cannot be told from the agent's (or its user's) own files: neither a
// teardown nor Cleanup touches them.
func TestNoSweepWithoutRunAs(t *testing.T) {
	t.Parallel()
	shared := t.TempDir()
	mine := filepath.Join(shared, "agent-users-file")
	if err := os.WriteFile(mine, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cfg := Config{StateDir: state, Grace: 100 * time.Millisecond, Cgroup: NoCgroup, TempDirs: []string{shared}}
	script := `echo x > "$SHARED/$ID"; echo ready; exec sleep 60`
	app := func(id string) App { return shApp("w", script, "SHARED="+shared, "ID="+id) }
	m := mustNew(t, cfg)
	if err := startReady(t, m, "torn-down", app("torn-down")).Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	startReady(t, m, "crashed", app("crashed"))
	m2 := mustNew(t, cfg)
	if err := m2.Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	assertKept(t, mine, filepath.Join(shared, "torn-down"), filepath.Join(shared, "crashed"))
	if err := m2.End(t.Context(), "crashed"); err != nil {
		t.Fatal(err)
	}
	assertKept(t, mine, filepath.Join(shared, "crashed"))
	if _, err := os.Stat(filepath.Join(state, "sessions", "crashed")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the crashed session's directory after cleanup: %v", err)
	}
}
