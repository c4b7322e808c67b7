package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// evidenceSource is what `review show --format csv` needs of
// governance.Service.
type evidenceSource interface {
	WriteEvidence(ctx context.Context, w io.Writer, id, format string) (governance.Evidence, error)
}

// evidenceCSV writes the evidence of campaign id as CSV to the file out,
// or to stdout when out is empty, whole or not at all. A CSV has no
// trailer: rows cut off by a read that failed part-way (a store error,
// Ctrl-C) look like a complete export of fewer items, which a script
// that redirects the output and misses the exit status would hand an
// auditor. So the rows go to a temporary file first (0600: they name
// people), as pg_dump's directory format and `backup` do: with out, one
// beside it that is synced and then renamed to out, so that out is the
// previous file or the complete new one, never part of one; without,
// one in the system's temporary directory that is copied to stdout once
// it is complete, so that a failure writes nothing to stdout (not even
// the header, which an auditor's tool expects first). The file costs
// the disk of one export (a few hundred bytes a row: tens of megabytes
// for a campaign of 100,000 items), not its memory.
//
// An out that is not a regular file (a FIFO, a terminal, /dev/stdout,
// /dev/fd/N of a shell's process substitution) is written through as
// stdout is, once the file is complete: a rename would put a regular file
// in its place (with root's rights, in /dev) and whoever reads it would
// get nothing. An out that is a symbolic link to a regular file replaces
// the file it names, and the link stays.
func (e env) evidenceCSV(ctx context.Context, g evidenceSource, id, out string) error {
	target, through, err := outTarget(out)
	if err != nil {
		return fmt.Errorf("%w: evidence of campaign %s: %v; nothing was written", errUsage, id, err)
	}
	dir, pattern := "", "shiftgate-evidence-*.csv"
	if target != "" {
		dir, pattern = filepath.Dir(target), ".shiftgate-evidence-*.tmp"
	}
	f, err := os.CreateTemp(dir, pattern) // 0600
	if err != nil {
		return fmt.Errorf("evidence of campaign %s: make a temporary file: %w", id, err)
	}
	kept := false
	defer func() {
		if !kept {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	nothing := "nothing was written to stdout"
	if out != "" {
		nothing = "nothing was written to " + out
	}
	bw := bufio.NewWriter(f)
	ev, err := g.WriteEvidence(ctx, bw, id, "csv")
	if err != nil {
		return fmt.Errorf("%w; %s", err, nothing)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("evidence of campaign %s: write %s: %w; %s", id, f.Name(), err, nothing)
	}
	if target == "" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("evidence of campaign %s: %w; %s", id, err, nothing)
		}
		// A failure from here is stdout's own (a closed pipe, a full
		// disk): the exit status says so, as for any program's output.
		hw, held := e.stdout.(heldWriter)
		switch {
		case through:
			if err := copyInto(out, f); err != nil {
				return fmt.Errorf("evidence of campaign %s: write %s: %w", id, out, err)
			}
		case held:
			// readHub prints stdout once the database is known not to
			// have changed: the file waits on disk till then, not
			// copied into its memory.
			hw.h.holdFile(hw.w, f)
			kept = true
		default:
			if _, err := io.Copy(e.stdout, f); err != nil {
				return fmt.Errorf("evidence of campaign %s: write stdout: %w", id, err)
			}
		}
	} else {
		// Synced before the rename: after a crash, out is the old file
		// or the whole new one, not a new name over unwritten blocks.
		if err := f.Sync(); err != nil {
			return fmt.Errorf("evidence of campaign %s: write %s: %w; %s", id, f.Name(), err, nothing)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("evidence of campaign %s: write %s: %w; %s", id, f.Name(), err, nothing)
		}
		if err := os.Rename(f.Name(), target); err != nil {
			return fmt.Errorf("evidence of campaign %s: %w; %s", id, err, nothing)
		}
		kept = true
	}
	e.evidenceTotals(ev)
	if out != "" {
		fmt.Fprintf(e.stderr, "evidence written to %s\n", out)
	}
	return nil
}

// spoolStdout has write write what e.stdout is to print. Where stdout is
// held back until the command is done (readHub), that goes to a temporary
// file (0600: a report names people) held in its place (holdFile) and
// copied to stdout when readHub prints, as evidenceCSV's export: a report
// written a page at a time is held on disk, not in memory whole (a
// campaign of tens of thousands of items is tens of megabytes). What
// write wrote before it failed is held too, and printed or not as readHub
// decides, as it was when held in memory. A temporary file that cannot be
// made leaves the output held in memory, as before, rather than failing
// the command. name goes into the file's name.
func (e env) spoolStdout(name string, write func(w io.Writer) error) error {
	hw, held := e.stdout.(heldWriter)
	if !held {
		return write(e.stdout)
	}
	f, err := os.CreateTemp("", "shiftgate-"+name+"-*.tmp") // 0600
	if err != nil {
		return write(e.stdout)
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("write %s: %w", f.Name(), ferr)
	}
	hw.h.holdFile(hw.w, f)
	return err
}

// outTarget is the file evidenceCSV renames a complete export onto for
// --out out: out itself, or the regular file a symbolic link out names;
// "" for stdout. through reports an out that is no regular file (or a
// link that does not resolve to one), which is written into instead.
// An out that does not exist yet is made.
//
// A link is followed only where the kernel's protected_symlinks would
// follow it (linkFollowable): in a shared directory such as /tmp, a link
// another user planted under the name an operator exports to would
// otherwise have root's export replace, or make, whatever file the link
// names (/etc/passwd, a file in /etc/cron.d). The rename and the open
// below are no open of the link that the kernel would check, so the
// check is made here, whatever the sysctl says.
func outTarget(out string) (target string, through bool, err error) {
	if out == "" {
		return "", false, nil
	}
	li, err := os.Lstat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return out, false, nil // a new file
	case err != nil:
		return "", true, nil // the open says why
	case li.Mode().IsRegular():
		// Not looked at again, through a link swapped in meanwhile:
		// the rename replaces the name out, not what a link names.
		return out, false, nil
	case li.Mode()&fs.ModeSymlink == 0:
		return "", true, nil // a FIFO, a device
	}
	if di, err := os.Stat(filepath.Dir(out)); err == nil && !linkFollowable(li, di, os.Geteuid()) {
		return "", false, fmt.Errorf("--out %s is a symbolic link another user made in the shared directory %s: it is not followed (it could name any file); give a path of your own, or remove the link",
			out, filepath.Dir(out))
	}
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		// A link to nowhere: written through, it makes the file it
		// names, as a shell's redirection would.
		return "", true, nil
	}
	if err != nil || !fi.Mode().IsRegular() {
		return "", true, nil
	}
	p, err := filepath.EvalSymlinks(out)
	if err != nil {
		return "", true, nil
	}
	return p, false, nil
}

// linkFollowable is the rule of the kernel's fs.protected_symlinks for
// the link link in the directory dir, followed by the user euid: a link
// in a sticky, world-writable directory is followed only by its owner,
// or when it is the directory owner's.
func linkFollowable(link, dir fs.FileInfo, euid int) bool {
	ls, ok1 := link.Sys().(*syscall.Stat_t)
	ds, ok2 := dir.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return true // not a system whose owners we can read
	}
	shared := dir.Mode()&fs.ModeSticky != 0 && dir.Mode().Perm()&0o002 != 0
	return !shared || int(ls.Uid) == euid || ls.Uid == ds.Uid
}

// copyInto writes what is left of f into out, which is no regular file
// (outTarget), or a link to nowhere: opened for writing, not truncated (a
// FIFO or a device has nothing to cut), made (0600) only in the last case.
func copyInto(out string, f *os.File) error {
	w, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
