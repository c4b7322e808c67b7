//go:build linux && !386 && !arm

package session

import "syscall"

// sysSetresuid and sysSetfsuid are setresuid and setfsuid with 32-bit
// user IDs.
const (
	sysSetresuid = syscall.SYS_SETRESUID
	sysSetfsuid  = syscall.SYS_SETFSUID
)
