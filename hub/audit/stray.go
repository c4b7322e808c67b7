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
// that lock (audit.head, by the hub's watcher) must not be among names.
// Only regular files are removed: what else has the name (a symlink, a
// directory) was not made here and is left alone; the removal of a name
// never follows a link. A stray linked into place is only the file's
// second name. Removed names are logged, never what they hold; a failure
// is logged too, since the file in place is whole.
func removeStrays(dir string, log *slog.Logger, names ...string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		log.Warn("could not look for audit key files left beside the keys by a crash", "dir", dir, "err", err)
		return
	}
	for _, e := range ents {
		if !isStrayOf(e.Name(), names) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if fi, err := os.Lstat(name); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove an audit key file left beside the key by a crash: remove it by hand", "file", name, "err", err)
			continue
		}
		log.Warn("removed an audit key file left beside the key by a process that crashed while writing it", "file", name)
	}
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
