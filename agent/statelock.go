package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/shiftgate/shiftgate/agent/lockpid"
)

// LockFile is the lock file in the state directory (0600): whoever holds
// an exclusive flock on it is the one agent process of the kiosk. It holds
// the holder's PID, for the error message of the next one.
const LockFile = "agent.lock"

// ErrStateDirBusy means another process (shiftgate-agent run, register or
// enroll, shiftgate-kiosk) holds the state directory's lock. Test with
// errors.Is.
var ErrStateDirBusy = errors.New("state directory in use")

// StateLock is a process's exclusive hold on a kiosk state directory:
// one agent process per kiosk, because the hub keeps one device channel
// per kiosk (a second one would take it over) and session.json and the
// session directories have one owner (a second agent's start-up cleanup
// would end the first one's session apps).
//
// It is an advisory, non-blocking flock on STATE/agent.lock, released by
// Close or when the process exits, however it exits: a crash never leaves
// the directory locked. The descriptor is not an *os.File, so no
// finalizer releases the lock early: it is held until Close.
type StateLock struct {
	dir string

	mu sync.Mutex
	fd int // -1 once closed
}

// LockStateDir takes the exclusive lock of the state directory dir, which
// must exist, or fails at once with ErrStateDirBusy, naming dir and the
// holder's PID when the lock file gives it. Two locks of one directory
// exclude each other within one process too. NewSessions (shiftgate-agent
// run, shiftgate-kiosk), Register and Enroll take it; code that runs New
// without NewSessions should take it itself.
func LockStateDir(dir string) (*StateLock, error) {
	path := filepath.Join(dir, LockFile)
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, uint32(stateFileMode))
	if err != nil {
		return nil, fmt.Errorf("lock state directory: open %s: %w", path, err)
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
		return nil, fmt.Errorf("%w: %s: another shiftgate-agent or shiftgate-kiosk is running on it%s: stop it first (one agent process per kiosk)",
			ErrStateDirBusy, dir, holder)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("lock state directory: flock %s: %w", path, err)
	}
	// Ours now: the PID for the next one's message, and the file's mode
	// whatever it was created with.
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := syscall.Fchmod(fd, uint32(stateFileMode)); err == nil {
		if err = syscall.Ftruncate(fd, 0); err == nil {
			_, err = syscall.Pwrite(fd, pid, 0)
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("lock state directory: write %s: %w", path, err)
	}
	return &StateLock{dir: dir, fd: fd}, nil
}

// Dir is the locked state directory.
func (l *StateLock) Dir() string { return l.dir }

// Close releases the lock; the lock file stays. Closing twice, or a nil
// lock, does nothing.
func (l *StateLock) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return nil
	}
	err := syscall.Close(l.fd) // the last descriptor: the flock goes with it
	l.fd = -1
	if err != nil {
		return fmt.Errorf("unlock state directory %s: %w", l.dir, err)
	}
	return nil
}
