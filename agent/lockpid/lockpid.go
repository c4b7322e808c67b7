// Package lockpid reads the PID that the holder of a lock file wrote in
// it: the kiosk agent's agent.lock and the hub's hub.lock both hold the
// PID of the process that has the flock, for the refusal a second one
// gets ("… is running on it (PID n)").
package lockpid

import (
	"strconv"
	"strings"
	"syscall"
)

// Max bounds the PIDs a lock file is believed about: Linux's
// PID_MAX_LIMIT (2^22), the most pid_max can be set to, and every PID is
// below pid_max. A larger number was not written by a lock holder, and
// would only mislead whoever reads the refusal.
const Max = 1 << 22

// Read returns the PID the lock file fd holds, 0 if none can be read (the
// holder may not have written it yet) or it is no process's PID.
func Read(fd int) int {
	b := make([]byte, 32)
	n, err := syscall.Pread(fd, b, 0)
	if err != nil || n <= 0 {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 || pid >= Max {
		return 0
	}
	return pid
}
