//go:build linux && (386 || arm)

package session

import "syscall"

// sysSetresuid is setresuid with 32-bit user IDs: SYS_SETRESUID takes
// 16-bit ones on these architectures.
const sysSetresuid = syscall.SYS_SETRESUID32
