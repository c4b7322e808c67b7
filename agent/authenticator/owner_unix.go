//go:build unix

package authenticator

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner refuses a badge file or directory, path with info fi, that belongs to neither this
// process's user nor root. Its owner may chmod it whatever its mode is now, and so read the
// badges' private keys, roll their counters back or plant keys: with the agent running as root
// (as it does to run session apps as a session user), a badge directory left to that user
// hands every badge to the worker's apps. ssh refuses an identity file for the same reason.
func checkOwner(path string, fi fs.FileInfo) error {
	return checkOwnerOf(path, fi, os.Geteuid())
}

// checkOwnerOf is checkOwner for a process running as euid.
func checkOwnerOf(path string, fi fs.FileInfo, euid int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == euid || st.Uid == 0 {
		return nil
	}
	return fmt.Errorf("owned by uid %d, neither this agent's user (uid %d) nor root, who could change its keys or counters (chown %d %s to use it)", st.Uid, euid, euid, path)
}
