//go:build linux && (386 || arm)

package session

import "syscall"

// sysSetresuid and sysSetfsuid are setresuid and setfsuid with 32-bit
// user IDs: SYS_SETRESUID and SYS_SETFSUID take 16-bit ones on these
// architectures.
const (
	sysSetresuid = syscall.SYS_SETRESUID32
	sysSetfsuid  = syscall.SYS_SETFSUID32
)
