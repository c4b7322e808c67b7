package audit

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// removeStrays removes from dir the files writeAside wrote beside each
// of the files names (os.CreateTemp's "."+name+"." and a decimal number)
// that were never removed: the process writing one crashed. They are
// copies of what the file holds, for audit.key and audit-sign.key a
// secret that every backup of the directory would take along. The caller
// holds lockKeyDir, under which every such file of names is written, put
// in place and removed, so none left is in use: a file written without
// that lock (audit.head, by the hub's watcher) must not be among names:
// RemoveStrayHeads removes those, when no watcher runs.
// Only regular files are removed: what else has the name (a symlink, a
// directory) was not made here and is left alone; the removal of a name
// never follows a link. A stray linked into place is only the file's
// second name. Removed names are logged, never what they hold; a failure
// is logged too, since the file in place is whole.
func removeStrays(dir string, log *slog.Logger, names ...string) {
	strays, err := strayFiles(dir, names)
	if err != nil {
		log.Warn("could not look for audit key files left beside the keys by a crash", "dir", dir, "err", err)
		return
	}
	for _, name := range strays {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove an audit key file left beside the key by a crash: remove it by hand", "file", name, "err", err)
			continue
		}
		log.Warn("removed an audit key file left beside the key by a process that crashed while writing it", "file", name)
	}
}

// RemoveStrayHeads removes from dir the files a Watcher wrote beside
// HeadFile (os.CreateTemp's ".audit.head." and a decimal number) that
// were never renamed over it: the hub writing one crashed, and nothing
// else would ever remove it. Unlike the keys' (removeStrays), they are
// written without a lock, so nothing tells one a crash left from one a
// running Watcher is writing: the caller makes sure that no Watcher keeps
// its head in dir until this has returned. shiftgate-hub serve calls it
// holding the data directory's hub.lock, before it makes its hub: the
// only Watcher that keeps its head in dir is a hub's, and a hub runs on
// dir only holding that lock. Only regular files are removed, as by
// removeStrays. Removed names are logged, and a failure, on log (which
// may be nil): the head in place is whole either way.
func RemoveStrayHeads(dir string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	strays, err := strayFiles(dir, []string{HeadFile})
	if err != nil {
		log.Warn("could not look for audit head files left beside audit.head by a crash", "dir", dir, "err", err)
		return
	}
	for _, name := range strays {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove an audit head file left beside audit.head by a crash: remove it by hand", "file", name, "err", err)
			continue
		}
		log.Info("removed an audit head file left beside audit.head by a hub that crashed while writing it", "file", name)
	}
}

// strayFiles returns the paths of the regular files in dir that writeAside
// wrote beside one of names (isStrayOf). What else has such a name (a
// symlink, a directory) was not made here and is not returned.
func strayFiles(dir string, names []string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var strays []string
	for _, e := range ents {
		if !isStrayOf(e.Name(), names) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if fi, err := os.Lstat(name); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		strays = append(strays, name)
	}
	return strays, nil
}

// isStrayOf reports whether base is the name writeAside gives a file
// written beside one of names: "."+name+"." and a decimal number.
func isStrayOf(base string, names []string) bool {
	for _, n := range names {
		num, ok := strings.CutPrefix(base, "."+n+".")
		if ok && num != "" && strings.Trim(num, "0123456789") == "" {
			return true
		}
	}
	return false
}
