package session

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// Kernel keyrings (keyrings(7)) hold secrets outside any file: Kerberos
// tickets (a KEYRING: credential cache, the default on Fedora and RHEL),
// fscrypt and ecryptfs keys, whatever an app stores with add_key. Two of
// them would carry one worker's secrets to the next:
//
//   - A process's session keyring is inherited from its parent. An agent
//     started by systemd has one of its own (KeyringMode=private), which
//     every app would share: each app is therefore started with a new,
//     empty, anonymous session keyring (startInNewKeyring), which goes
//     away with the last of its processes.
//   - The user keyring, the user-session keyring (a process's session
//     keyring when it has none) and the persistent keyring
//     (KEYCTL_GET_PERSISTENT, where Kerberos keeps tickets for days) are
//     the user's, not a process's: they outlive every process of the
//     user, and the next session's apps, which run as the same session
//     user, would find them as they were. With a session user, once its
//     processes are gone, they are emptied (clearKeyrings) with the sweep
//     of the shared temporary directories.

const (
	keySpecThreadKeyring      = -1
	keySpecUserKeyring        = -4
	keySpecUserSessionKeyring = -5

	keyctlJoinSessionKeyring = 1
	keyctlClear              = 7
	keyctlLink               = 8
	keyctlRead               = 11
	keyctlInvalidate         = 21
	keyctlGetPersistent      = 22
)

func keyctl(cmd int, arg2, arg3 uintptr) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_KEYCTL, uintptr(cmd), arg2, arg3)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// special turns a KEY_SPEC_* ID into a syscall argument.
func special(id int) uintptr { return uintptr(int32(id)) }

// noKeyrings reports whether err says that this process cannot use
// keyrings at all (a kernel without CONFIG_KEYS, or a seccomp filter that
// forbids keyctl, as container runtimes' defaults do), or this kind of
// keyring (no CONFIG_PERSISTENT_KEYRINGS). The apps, which inherit the
// kernel and the agent's seccomp filter, then cannot either.
func noKeyrings(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EPERM)
}

// unusable reports whether err, from a thread with the user's real and
// filesystem user IDs (clearKeyrings), says that the user's keyring named
// cannot be used by the user: it is revoked or expired, or the user's
// apps took away every permission on it. They may do any of that to their
// user and user-session keyrings (they have every permission on them),
// and the kernel then answers every use of them with ENOKEY, theirs and
// the next session's apps' alike: until its garbage collector removes a
// revoked or expired one (/proc/sys/kernel/keys/gc_delay, five minutes,
// after that), for good one without permissions. There is nothing to
// clear: a revoked keyring was emptied by the revocation, and what the
// others hold nobody can reach through them. As an error it would fail
// every teardown, and keep the kiosk locked, for as long.
func unusable(err error) bool {
	return errors.Is(err, syscall.ENOKEY) || errors.Is(err, syscall.EKEYREVOKED) || errors.Is(err, syscall.EKEYEXPIRED)
}

// onNewThread runs f on an OS thread of its own, which ends with it: f
// changes the thread's credentials (its session keyring, its real user
// ID), which no other goroutine must run with. A goroutine that exits
// locked to its thread takes the thread with it, except the main thread:
// Go parks that one for good instead, credentials and all, and the main
// thread's are those the kernel checks when another process signals the
// agent (with the session user's real user ID, that user's apps could
// stop or kill it). The new goroutine is run by the caller's thread as a
// rule, which may be the main one: there, it keeps the main thread (a
// locked thread runs no other goroutine) while f runs on another, and
// gives it back unchanged.
func onNewThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked once f has run: see above
		if syscall.Gettid() == syscall.Getpid() {
			err := onNewThread(f)
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// startInNewKeyring calls start (which forks the app) on a thread whose
// session keyring is a new anonymous one, which the app inherits instead
// of the agent's. (The apps set no Pdeathsig, which would fire when that
// thread ends.)
func startInNewKeyring(start func() error) error {
	return onNewThread(func() error {
		if _, err := keyctl(keyctlJoinSessionKeyring, 0, 0); err != nil && !noKeyrings(err) {
			return fmt.Errorf("new session keyring: %w", err)
		}
		return start()
	})
}

// clearKeyrings empties the persistent, user and user-session keyrings of
// user uid. Callers clear only once every process of uid is gone: one
// still running could add keys back. The user and user-session keyrings
// are named by the caller's real user ID, so the clearing runs on a
// thread of its own whose real user ID is uid (its effective one stays
// root's); the persistent keyring root may name by user ID. The thread's
// filesystem user ID, which the kernel checks a key's permissions
// against, is uid too: the user's apps may change the permissions of its
// user and user-session keyrings (to the owner's alone, say), and the
// thread must see them as the next worker's apps will, the owner's.
func clearKeyrings(uid uint32) error {
	return onNewThread(func() error {
		var errs []error
		// Linked into the thread's keyring, which goes with the thread.
		id, err := keyctl(keyctlGetPersistent, uintptr(uid), special(keySpecThreadKeyring))
		if err == nil {
			_, err = keyctl(keyctlClear, uintptr(id), 0)
		}
		if err != nil && !noKeyrings(err) {
			errs = append(errs, fmt.Errorf("clear the persistent keyring of uid %d: %w", uid, err))
		}
		// Only the real user ID: the thread keeps root's effective ID.
		if _, _, errno := syscall.RawSyscall(sysSetresuid, uintptr(uid), ^uintptr(0), ^uintptr(0)); errno != 0 {
			// Never clear with the agent's own real user ID: those
			// keyrings would be the agent's user's.
			return errors.Join(append(errs, fmt.Errorf("clear the keyrings of uid %d: setresuid: %w", uid, errno))...)
		}
		// setfsuid returns the filesystem user ID it found, never an
		// error; given an invalid ID (-1), it changes nothing.
		syscall.RawSyscall(sysSetfsuid, uintptr(uid), 0, 0)
		if fsuid, _, _ := syscall.RawSyscall(sysSetfsuid, ^uintptr(0), 0, 0); uint32(fsuid) != uid {
			// unusable below would not be what the user's apps see.
			return errors.Join(append(errs, fmt.Errorf("clear the keyrings of uid %d: setfsuid left %d", uid, uint32(fsuid)))...)
		}
		for _, k := range []struct {
			id   int
			name string
		}{{keySpecUserKeyring, "user"}, {keySpecUserSessionKeyring, "user-session"}} {
			_, err := keyctl(keyctlClear, special(k.id), 0)
			if errors.Is(err, syscall.EACCES) {
				// The apps took away the permission to write it but
				// left it searchable: what it holds is still the next
				// worker's apps'.
				err = invalidateLinked(k.id)
			}
			if err != nil && !noKeyrings(err) && !unusable(err) {
				errs = append(errs, fmt.Errorf("clear the %s keyring of uid %d: %w", k.name, uid, err))
			}
		}
		return errors.Join(errs...)
	})
}

// invalidateLinked makes every key linked in the keyring ring (a KEY_SPEC_*
// ID) unreachable (KEYCTL_INVALIDATE), for a keyring its owner's apps
// left searchable but took away the permission to write, and so to clear:
// the kernel lets nobody, root included, clear it or change that, and a
// key the next worker's apps can reach through it is one they can search
// for, which is the permission invalidating needs, given possession. The
// keyring is linked into the calling thread's keyring first, so that its
// keys are the thread's as they are the apps' (the apps' session keyrings
// do not link it, but they name it, as KEY_SPEC_USER_KEYRING, possessed);
// its list is read as its possessor. A key that cannot be invalidated is
// an error: the next worker's apps may still reach it.
func invalidateLinked(ring int) error {
	if _, err := keyctl(keyctlLink, special(ring), special(keySpecThreadKeyring)); err != nil {
		return fmt.Errorf("link it to invalidate its keys: %w", err)
	}
	var ids []int32
	for n := 64; ; {
		buf := make([]int32, n)
		r, _, errno := syscall.Syscall6(syscall.SYS_KEYCTL, keyctlRead, special(ring),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(4*len(buf)), 0, 0)
		if errno != 0 {
			return fmt.Errorf("list its keys to invalidate them: %w", errno)
		}
		if int(r) <= 4*len(buf) {
			ids = buf[:int(r)/4]
			break
		}
		n = int(r)/4 + 16 // it grew: read again
	}
	var errs []error
	for _, id := range ids {
		if _, err := keyctl(keyctlInvalidate, uintptr(id), 0); err != nil && !unusable(err) {
			errs = append(errs, fmt.Errorf("invalidate key %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}
