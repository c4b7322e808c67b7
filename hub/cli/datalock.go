package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/shiftgate/shiftgate/agent/lockpid"
)

// lockFile is the lock file in the data directory (0600): whoever holds an
// exclusive flock on it is the one hub (serve or demo) running on the
// directory. It holds the holder's PID, for the error message of the next.
const lockFile = "hub.lock"

// errDataDirBusy means another hub process holds the data directory's
// lock.
var errDataDirBusy = errors.New("data directory in use")

// busyError is lockDataDir's refusal of a directory another process holds:
// an errDataDirBusy that keeps the holder, for a caller's own message.
type busyError struct {
	dir    string
	holder string // " (PID n)", " (PID n: this process)", or "" when unknown
}

func (e *busyError) Error() string {
	return fmt.Sprintf("%v: %s: another hub (shiftgate-hub serve or demo) is running on it%s: stop it first, or give another --data (one hub per database)",
		errDataDirBusy, e.dir, e.holder)
}

func (e *busyError) Unwrap() error { return errDataDirBusy }

// dataLock is a process's exclusive hold on a hub data directory: one hub
// per database, because a second one would run a second scheduler, a second
// access-review pass and a second push fan-out on the same records, and
// the first one's kiosks would never hear of the second one's revocations.
//
// It is an advisory, non-blocking flock on DIR/hub.lock, released by Close
// or when the process exits, however it exits: a crash never leaves the
// directory locked. The CLI's other commands do not take it: they are
// documented to work beside a running hub, through SQLite's own locking;
// only one that must upgrade the schema holds it meanwhile, and is
// refused while a hub holds it (see openStore).
// The descriptor is not an *os.File, so no finalizer releases the lock
// early. (agent/statelock.go is the kiosk's counterpart.)
type dataLock struct {
	dir string
	fd  int // -1 once closed
}

// lockDataDir creates the data directory dir if it is missing (0700) and
// takes its lock, or fails at once with errDataDirBusy, naming dir and the
// holder's PID when the lock file gives it. Two locks of one directory
// exclude each other within one process too.
func lockDataDir(dir string) (*dataLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: open %s: %w", path, err)
	}
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		holder := ""
		if pid := lockpid.Read(fd); pid > 0 {
			holder = fmt.Sprintf(" (PID %d)", pid)
			if pid == os.Getpid() {
				holder = fmt.Sprintf(" (PID %d: this process)", pid)
			}
		}
		syscall.Close(fd)
		return nil, &busyError{dir: dir, holder: holder}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("lock data directory: flock %s: %w", path, err)
	}
	// Ours now: the PID for the next one's message, and the file's mode
	// whatever it was created with.
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := syscall.Fchmod(fd, 0o600); err == nil {
		if err = syscall.Ftruncate(fd, 0); err == nil {
			_, err = syscall.Pwrite(fd, pid, 0)
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("lock data directory: write %s: %w", path, err)
	}
	return &dataLock{dir: dir, fd: fd}, nil
}

// dataDirHeld tells, without taking it, whether a hub (serve or demo)
// holds dir's lock, and then its holder as busyError gives it. It creates
// and writes nothing, for the commands that only read: the lock file is
// opened read-only, and a missing one is held by nobody. Whether it is
// held is found by trying a shared lock, let go at once: a hub starting
// in that instant would be refused as if another hub were running, which
// is why only an error path asks. err is why it cannot be told, e.g. a
// lock file the hub's user keeps from this one (0600).
func dataDirHeld(dir string) (held bool, holder string, err error) {
	path := filepath.Join(dir, lockFile)
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ENOENT) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("open %s: %w", path, err)
	}
	defer syscall.Close(fd)
	for {
		err = syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		if pid := lockpid.Read(fd); pid > 0 {
			holder = fmt.Sprintf(" (PID %d)", pid)
		}
		return true, holder, nil
	case err != nil:
		return false, "", fmt.Errorf("flock %s: %w", path, err)
	}
	return false, "", nil // closing fd lets the shared lock go
}

// Close releases the lock; the lock file stays. Closing twice, or a nil
// lock, does nothing. It is called from one goroutine only (the command's).
func (l *dataLock) Close() error {
	if l == nil || l.fd < 0 {
		return nil
	}
	err := syscall.Close(l.fd) // the last descriptor: the flock goes with it
	l.fd = -1
	if err != nil {
		return fmt.Errorf("unlock data directory %s: %w", l.dir, err)
	}
	return nil
}
