//go:build unix

package authenticator

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on the directory dir and returns its release. The lock
// serializes the read-modify-write of badge files between Soft values and processes sharing
// dir (kiosks started with the same soft:DIR); it is released when the process dies, so a
// crash never leaves a badge locked. A missing dir is reported as an error wrapping
// fs.ErrNotExist.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("lock badge dir %s: %w", dir, err)
	}
	return func() { d.Close() }, nil // closing the last descriptor releases the lock
}
