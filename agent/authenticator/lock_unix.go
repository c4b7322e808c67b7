//go:build unix

package authenticator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Polling bounds of lockDir's wait for a lock another holder has.
const (
	lockPollFirst = 2 * time.Millisecond
	lockPollMax   = 50 * time.Millisecond
)

// lockDir takes an exclusive flock on the directory dir and returns its release. The lock
// serializes the read-modify-write of badge files between Soft values and processes sharing
// dir (kiosks started with the same soft:DIR); it is released when the process dies, so a
// crash never leaves a badge locked. A missing dir is reported as an error wrapping
// fs.ErrNotExist.
//
// While another holder has the lock, lockDir waits until ctx is done, and then fails with an
// error wrapping ErrBadgeLocked and ctx.Err(): a holder that is stuck (a process stopped with
// SIGSTOP, a hung disk) must not hold a tap past its own deadline. A blocking flock cannot be
// called off, so the wait polls a non-blocking one.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	wait := lockPollFirst
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { d.Close() }, nil // closing the last descriptor releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			d.Close()
			return nil, fmt.Errorf("lock badge dir %s: %w", dir, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			d.Close()
			return nil, fmt.Errorf("lock badge dir %s: %w: %w", dir, ErrBadgeLocked, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, lockPollMax)
	}
}
