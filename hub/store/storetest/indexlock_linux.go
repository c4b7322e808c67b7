package storetest

import (
	"os"
	"sync"
	"syscall"
	"testing"
)

// fOFDSetLKW is Linux's F_OFD_SETLKW (the same number on every
// architecture), which package syscall does not name.
const fOFDSetLKW = 38

// HoldIndexRebuild puts the SQLite database at path in the state its readers
// find while another process rebuilds the write-ahead log's index (the
// -shm file): that process holds the index's write, checkpoint and
// recovery locks, and the index's header is not valid yet. In WAL mode
// this is the one lock a reader waits for: a reader needs no lock on the
// database file beyond the shared one it keeps from its first read, and
// the write lock of a CLI command (BEGIN IMMEDIATE) or a checkpoint does
// not stop it. So this is how a read gets SQLITE_BUSY (BUSY_RECOVERY)
// once its busy timeout is over; a process that crashed in the middle of
// a commit leaves the header for the next one to rebuild.
//
// The locks are open file description locks, which conflict with the
// POSIX locks SQLite takes in this process as another process's would.
// They are taken (waiting for a write or checkpoint in progress) before
// the header is cleared, so no connection of the store can write a
// header meanwhile. The release lets the store's next read rebuild the
// index from the log: nothing committed is lost.
func HoldIndexRebuild(t testing.TB, path string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(path+"-shm", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// SQLite's unix VFS keeps the index's locks in bytes 120 on: write
	// (120), checkpoint (121), recover (122), then the read marks.
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 120, Len: 3}
	if err := syscall.FcntlFlock(f.Fd(), fOFDSetLKW, &lk); err != nil {
		f.Close()
		t.Fatalf("lock the index: %v", err)
	}
	// The two copies of the index header: zero, as a process that opens
	// the file first leaves them until it has rebuilt them.
	if _, err := f.WriteAt(make([]byte, 96), 0); err != nil {
		f.Close()
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			lk.Type = syscall.F_UNLCK
			if err := syscall.FcntlFlock(f.Fd(), fOFDSetLKW, &lk); err != nil {
				t.Errorf("unlock the index: %v", err)
			}
			f.Close()
		})
	}
	t.Cleanup(release)
	return release
}
