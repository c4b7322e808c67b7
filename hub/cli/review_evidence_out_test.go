package cli_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReviewShowEvidenceOutNotARegularFile: `review show --format csv
// --out FILE` renames a complete export onto FILE, which suits a regular
// file only. FILE may be a FIFO (a script's reader, or /dev/fd/N of a
// shell's process substitution), a device (/dev/stdout, /dev/null) or a
// symbolic link: the rename put a regular file in its place (the FIFO's
// reader got nothing, the link was gone; as root, /dev/stdout or
// /dev/null would be replaced in /dev). A FIFO gets the export written
// into it and stays a FIFO; a link to a regular file stays a link, and
// the file it names gets the export.
func TestReviewShowEvidenceOutNotARegularFile(t *testing.T) {
	dir := anaCampaign(t, "camp", 1)
	show := []string{"review", "show", "--data", dir, "--id", "camp", "--format", "csv"}
	code, whole, errs := run(t, show...)
	if code != 0 || strings.Count(whole, "\n") != 2 {
		t.Fatalf("review show --format csv: exit %d, %q, %q; want a header and a row", code, whole, errs)
	}

	t.Run("FIFO", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "evidence.pipe")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		// Opened for reading without waiting for a writer, as a reader
		// already there is; the export (a few hundred bytes) fits the
		// pipe's buffer.
		r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		code, out, errs := run(t, append(show, "--out", fifo)...)
		fi, err := os.Lstat(fifo)
		if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("--out onto a FIFO: it is now %v (%v); want the FIFO still there", fi.Mode(), err)
		}
		if code != 0 || out != "" {
			t.Fatalf("--out onto a FIFO: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != whole {
			t.Errorf("the FIFO's reader got %q (%v); want the export %q", got, err, whole)
		}
	})

	t.Run("symlink", func(t *testing.T) {
		real := filepath.Join(t.TempDir(), "evidence.csv")
		if err := os.WriteFile(real, []byte("last quarter's export\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(t.TempDir(), "latest.csv")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		code, out, errs := run(t, append(show, "--out", link)...)
		if code != 0 || out != "" {
			t.Fatalf("--out onto a link: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("--out onto a link: it is now %v (%v); want the link kept", fi.Mode(), err)
		}
		if b, err := os.ReadFile(real); err != nil || string(b) != whole {
			t.Errorf("the file the link names holds %q (%v); want the export", b, err)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(real), ".shiftgate-evidence-*")); len(left) != 0 {
			t.Errorf("temporary files left beside the file: %q", left)
		}
	})
}
