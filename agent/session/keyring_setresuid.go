//go:build linux && !386 && !arm

package session

import "syscall"

// sysSetresuid is setresuid with 32-bit user IDs.
const sysSetresuid = syscall.SYS_SETRESUID
