//go:build unix

package authenticator

import "syscall"

// openNonblock is added to the flags of openChecked's open: opening a
// named pipe that has no writer then returns at once instead of waiting
// for one.
const openNonblock = syscall.O_NONBLOCK
