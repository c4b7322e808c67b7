//go:build unix

package authenticator

import (
	"errors"
	"syscall"
)

// openNonblock and openNoFollow are added to the flags of openChecked's open: opening a named
// pipe that has no writer then returns at once instead of waiting for one, and a symbolic link
// is not followed (the open fails with ELOOP, linkOpened).
const (
	openNonblock = syscall.O_NONBLOCK
	openNoFollow = syscall.O_NOFOLLOW
)

// linkOpened reports whether err is the open's refusal of a symbolic link (openNoFollow).
func linkOpened(err error) bool { return errors.Is(err, syscall.ELOOP) }
