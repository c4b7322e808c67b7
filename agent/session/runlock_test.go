package session

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

const uidRunLock = 64130

// TestRunAsTeardownSweepsRunLock: /run/lock (/var/lock) is world-writable
// and sticky like /tmp on Debian, Ubuntu and Fedora, and a session user
// may write there whatever TMPDIR says. With the default shared temporary
// directories, what a worker's app leaves there is gone after the
// teardown; the next worker's apps, which run as the same user, would
// read it otherwise.
func TestRunAsTeardownSweepsRunLock(t *testing.T) {
	needRoot(t)
	freeUID(t, uidRunLock)
	if fi, err := os.Stat("/run/lock"); err != nil || fi.Mode().Perm()&0o002 == 0 {
		t.Fatalf("/run/lock: %v, %v: this test needs the usual world-writable /run/lock", err, fi)
	}
	cfg := runAsConfig(t, uidRunLock)
	cfg.TempDirs = nil // the defaults: the machine's /tmp, /var/tmp, /dev/shm … (only uidRunLock's entries go)
	s := startReady(t, mustNew(t, cfg), "runlock", shApp("lock",
		`f=/run/lock/shiftgate-test-$$; echo secret > $f; echo "left $f"; echo ready; exec sleep 60`))
	b, err := os.ReadFile(filepath.Join(s.Dir(), "apps.log"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`left (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("the app left no file: %q", b)
	}
	left := string(m[1])
	t.Cleanup(func() { os.Remove(left) })
	assertKept(t, left)
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertNoDir(t, left)
}
