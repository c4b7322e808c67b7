package session

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestMakeWritableSymlinkSwap: a process of the session that outlived the
// kill (it survived SIGKILL, or escaped it) owns the home that the wipe
// walks, and may swap a directory for a symlink between the walk's look at
// it and its chmod. The chmod must never reach outside the session: with
// the agent running as root and the apps as a session user, chmod through
// the symlink would make any file (/etc/shadow) as open as the directory
// the apps chose.
func TestMakeWritableSymlinkSwap(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "home")
	dir, aside := filepath.Join(root, "d"), filepath.Join(root, "aside")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
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
			_ = os.Chmod(dir, 0o077) // no owner bits: the walk chmods it
			_ = os.Rename(dir, aside)
			_ = os.Symlink(target, dir)
			_ = os.Remove(dir)
			_ = os.Rename(aside, dir)
		}
	})
	deadline := time.Now().Add(time.Second) // the walk without a Root lost within 0.2 s
	n := 0
	for ; time.Now().Before(deadline); n++ {
		makeWritable(root)
		if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
			break
		}
	}
	close(stop)
	wg.Wait()
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("makeWritable followed a symlink swapped in during the walk (after %d walks): %s outside the session is now %v, was 0600", n, target, fi.Mode().Perm())
	}
	t.Logf("%d walks, none reached outside the session", n)
}
