package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Shared temporary directories: an app that ignores TMPDIR, or writes
// shared memory (/dev/shm), leaves files there that the session's wipe of
// its own directories does not reach, and the next worker's apps (the
// same session user) could read them. With a session user, whose
// processes are all the sessions' and all ended by then, every entry it
// owns there is what a session left.

// sweepTemp removes from each of Config.TempDirs every entry directly in
// it that user uid (the session user, see Manager.sweepUID) owns, and
// returns how many it removed. It goes on after a failure and returns
// all failures joined, each naming its path. It logs what it removed as a
// count per directory: file names (a downloaded PDF's) may say what a
// worker did.
func (m *Manager) sweepTemp(uid uint32) (int, error) {
	var errs []error
	total := 0
	for _, dir := range m.cfg.TempDirs {
		n, err := sweepDir(dir, uid)
		if n > 0 {
			m.log.Info("removed what the session user left in a shared temporary directory", "dir", dir, "entries", n, "uid", uid)
		}
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// sweepDir removes every entry of dir that user uid owns, a directory
// with everything in it, and returns how many it removed. A missing dir
// is no error.
//
// Everything happens through an os.Root on dir, with the entry's own owner
// (lstat: a symlink is a link of its owner, its target is never looked at)
// checked right before it is removed. Nothing follows a symlink:
// Root.RemoveAll unlinks one rather than entering it, and the walk that makes
// the directories writable first (the agent without root needs that for the
// apps' read-only directories) changes modes through descriptors opened
// without following one (addOwnerRWX). In a sticky directory (/tmp, /var/tmp,
// /dev/shm and /run/lock are) only an entry's owner, the directory's owner
// and root may rename or remove it, so an entry the session user owns, whose
// processes are gone (callers sweep only after a kill that succeeded), cannot
// be swapped for someone else's between the look and the removal.
func sweepDir(dir string, uid uint32) (int, error) {
	r, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep %s: %w", dir, err)
	}
	defer r.Close()
	f, err := r.Open(".")
	if err != nil {
		return 0, fmt.Errorf("sweep %s: %w", dir, err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("sweep %s: %w", dir, err)
	}
	var errs []error
	n := 0
	for _, name := range names {
		path := filepath.Join(dir, name)
		fi, err := r.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep %s: %w", path, err))
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != uid {
			continue
		}
		if fi.IsDir() {
			makeWritableAt(r, name)
		}
		if err := r.RemoveAll(name); err != nil {
			errs = append(errs, fmt.Errorf("wipe %s: %w", path, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
