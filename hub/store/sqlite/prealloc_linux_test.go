package sqlite

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The write-ahead log owns walPrealloc bytes of disk blocks from Open on,
// without looking any bigger (see walPrealloc).
func TestWALPreallocated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	openTest(t, path)
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if got := st.Blocks * 512; got < walPrealloc {
		t.Errorf("write-ahead log has %d bytes of blocks, want at least %d", got, walPrealloc)
	}
	if fi.Size() >= walPrealloc {
		t.Errorf("write-ahead log is %d bytes: preallocation changed its size", fi.Size())
	}
}
