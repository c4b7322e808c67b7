package session

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMakeWritableNeverChmodsThroughSwappedSymlink: a process that
// outlived the kill, in a directory it may write (/tmp for the sweep),
// keeps replacing its directory, which lacks owner write permission, with
// a symlink to someone else's file next to it, and putting it back. The
// directory is given owner rwx, but never through the symlink: the other
// file keeps its mode. Root.Chmod follows a symlink put there after the
// look at the entry to whatever it names inside the Root, and would give
// that file the directory's mode (here 0777). Both the entry made
// writable and a directory in it are tried.
func TestMakeWritableNeverChmodsThroughSwappedSymlink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		at   string // where the swapping entry is, in the directory made writable ("": that directory itself)
	}{
		{"entry", ""},
		{"walk", "sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shared := t.TempDir()
			base := "entry"
			dir := shared // where the swapping happens
			if tc.at != "" {
				dir = filepath.Join(shared, base)
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			victim := filepath.Join(dir, "victim")
			if err := os.WriteFile(victim, []byte("someone else's"), 0o600); err != nil {
				t.Fatal(err)
			}
			swapped := base
			if tc.at != "" {
				swapped = tc.at
			}
			d := filepath.Join(dir, swapped)
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			df, err := os.Open(d) // to reset its mode wherever it is
			if err != nil {
				t.Fatal(err)
			}
			defer df.Close()
			parent, err := os.OpenRoot(shared)
			if err != nil {
				t.Fatal(err)
			}
			defer parent.Close()
			stop, done := make(chan struct{}), make(chan struct{})
			t.Cleanup(func() { close(stop); <-done })
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					// The directory out of the way, a symlink in its
					// place, then the directory back.
					hold := filepath.Join(dir, "hold")
					if err := os.Rename(d, hold); err != nil {
						t.Errorf("swap: %v", err)
						return
					}
					if err := os.Symlink("victim", d); err != nil {
						t.Errorf("swap: %v", err)
						return
					}
					if err := os.Remove(d); err != nil {
						t.Errorf("swap: %v", err)
						return
					}
					if err := os.Rename(hold, d); err != nil {
						t.Errorf("swap: %v", err)
						return
					}
				}
			}()
			deadline := time.Now().Add(time.Second)
			for i := 0; time.Now().Before(deadline); i++ {
				if err := df.Chmod(0o577); err != nil {
					t.Fatal(err)
				}
				makeWritableAt(parent, base)
				fi, err := os.Lstat(victim)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("after %d tries, the file a swapped-in symlink points to has mode %v, want 0600", i+1, fi.Mode().Perm())
					break
				}
			}
		})
	}
}
