package session

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// What an app must not get from the agent's process when it starts, besides
// its session keyring (keyring.go): its core dump limit and its descriptors.
//
// Core dumps. An app that crashes would dump its memory (the worker's data,
// tokens). With systemd-coredump (kernel.core_pattern a pipe to it) the dump
// is kept, and coredumpctl gives it to the process's user: the session user,
// whose next worker's apps could read it; without it a core file lands in
// the app's working directory. systemd-coredump keeps nothing for a process
// whose RLIMIT_CORE is below a page ("Resource limits disable core dumping"),
// and the kernel writes no core file for one whose limit is 0. Go's
// SysProcAttr sets no limits (the only limit Go's fork touches is
// RLIMIT_NOFILE, which it puts back to the one the process started with),
// an app's limits are copied from the agent's process when it is forked,
// and setting the limit on the app after its start (prlimit) would race
// with an app that crashes at once. The agent therefore lowers its own
// RLIMIT_CORE to 0, soft and hard, right before every start, and puts its
// previous limit back once the app is forked (noCoreDumps): the app keeps
// its 0, and an operator who allowed the agent core dumps (LimitCORE=,
// ulimit -c) still gets one from an agent that crashes later. An app
// cannot raise a hard limit (it would need CAP_SYS_RESOURCE, which the
// session user lacks). Limits are the whole process's, not a thread's, so
// the starts of every Manager in the process are serialized from the
// lowering to the putting back: a start that read the limit while another
// had it at 0 would put 0 back, and a putting back while another start
// forks would hand that app the agent's limit. Raising the hard limit back
// needs CAP_SYS_RESOURCE too: an agent without it (not root, or root in a
// container or unit that drops it) keeps 0 after its first start, says so
// once in its log, and dumps no core (a Go panic still prints its
// traceback on stderr).
//
// Descriptors. Go opens every file close-on-exec, but C code in the agent's
// process (libfido2's hidraw devices, pcsc, a library's sockets) may open
// without it, and an app would inherit those: it could talk to the badge
// reader directly. Go's fork keeps every descriptor that is not
// close-on-exec and runs no code of ours between fork and exec, where they
// could be closed, so every descriptor above stderr is marked close-on-exec
// in the agent's process right before the fork (closeOnExec): what the app
// gets is its stdin, stdout and stderr only. The agent's own use of them is
// unchanged (the flag acts at exec only), and the apps' stdout and stderr
// are dup2'ed in the child, which clears the flag on the copy.

const (
	// sysCloseRange is close_range(2) (Linux 5.9; 5.11 for
	// CLOSE_RANGE_CLOEXEC), one number on every architecture: the
	// syscall tables share their numbers since Linux 5.1.
	sysCloseRange     = 436
	closeRangeCloexec = 1 << 2 // CLOSE_RANGE_CLOEXEC
	// firstInherited is the lowest descriptor no app is given: 0, 1
	// and 2 are its stdin, stdout and stderr.
	firstInherited = 3
)

// coreLimitMu is held from noCoreDumps to its restore: RLIMIT_CORE is the
// whole process's, shared by every Manager in it, so the section cannot be
// a Manager's.
var coreLimitMu sync.Mutex

// noCoreDumps sets the agent's RLIMIT_CORE to 0, soft and hard, for the app
// that the caller forks next to inherit, and returns restore, which puts
// the previous limit back: the caller calls it once the app is forked (a
// child's limits are its own from the fork on) or its start has failed,
// and starts nothing else in between. No other start lowers or restores
// the limit until restore has been called. Lowering a limit is never
// refused; restore fails when the previous hard limit was above 0 and the
// agent may not raise it (CAP_SYS_RESOURCE), and the agent keeps 0.
func noCoreDumps() (restore func() error, err error) {
	coreLimitMu.Lock()
	var prev syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &prev); err != nil {
		coreLimitMu.Unlock()
		return nil, fmt.Errorf("read the core dump limit: %w", err)
	}
	if prev == (syscall.Rlimit{}) {
		return func() error { coreLimitMu.Unlock(); return nil }, nil
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		coreLimitMu.Unlock()
		return nil, fmt.Errorf("disable core dumps: %w", err)
	}
	return func() error {
		defer coreLimitMu.Unlock()
		if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &prev); err != nil {
			return fmt.Errorf("restore the core dump limit (soft %d, hard %d): %w", prev.Cur, prev.Max, err)
		}
		return nil
	}, nil
}

// closeOnExec marks every descriptor of the agent's process above stderr
// close-on-exec: with close_range(2) where the kernel has it, else through
// /proc/self/fd. A descriptor that C code opens on another thread between
// this and the fork is not marked: there is no way to close the window from
// Go, which offers no hook between fork and exec.
func closeOnExec() error {
	_, _, errno := syscall.Syscall(sysCloseRange, firstInherited, uintptr(^uint32(0)), closeRangeCloexec)
	if errno == 0 {
		return nil
	}
	// ENOSYS before Linux 5.9, EINVAL for the flag before 5.11, EPERM
	// from a seccomp filter that does not know it.
	if err := closeOnExecByProc(); err != nil {
		return fmt.Errorf("mark descriptors close-on-exec (close_range: %v): %w", errno, err)
	}
	return nil
}

// closeOnExecByProc is closeOnExec through the list in /proc/self/fd.
func closeOnExecByProc() error {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return err
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd < firstInherited {
			continue
		}
		// FD_CLOEXEC is the only descriptor flag: setting it keeps
		// nothing else from changing.
		if _, err := fcntl(fd, syscall.F_SETFD, syscall.FD_CLOEXEC); err != nil && !errors.Is(err, syscall.EBADF) {
			// EBADF: closed since the list was read; nothing to
			// inherit.
			return fmt.Errorf("descriptor %d: %w", fd, err)
		}
	}
	return nil
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
