//go:build unix

package authenticator

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadBadgeFIFOSwappedInRefused: a named pipe renamed over a badge
// between readBadge's Lstat and its open is refused without waiting for a
// writer, as not a regular file, and so is a symbolic link. The test plays
// the race's steps in order: the Lstat of the genuine badge, then the
// swap, then the open (openChecked). Before, the open waited for something
// to write to the pipe, and the tap hung there, before the check that
// refuses it: if the badge is opened as before, this test does not return.
// A regular badge renamed in (another kiosk sharing the directory writing
// it) is opened and read: it is that badge still.
func TestReadBadgeFIFOSwappedInRefused(t *testing.T) {
	dir := t.TempDir()
	rp := newTestRP(t)
	badge := newTestSoft(t, dir, "ana", SoftOptions{})
	if _, err := rp.register(rp.user("ana"), badge); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(badge.Path())
	if err != nil {
		t.Fatal(err)
	}
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(pipe, badge.Path()); err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() {
		t.Fatalf("the badge's Lstat found %v", fi.Mode())
	}
	f, err := openChecked(badge.Path())
	if err == nil {
		f.Close()
	}
	if !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("open of a named pipe swapped in after the Lstat: %v, want ErrInvalidBadge (not a regular file)", err)
	}
	if err := os.Symlink(filepath.Join(dir, "elsewhere.json"), pipe); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(pipe, badge.Path()); err != nil {
		t.Fatal(err)
	}
	if f, err = openChecked(badge.Path()); err == nil {
		f.Close()
	}
	if !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("open of a symbolic link swapped in after the Lstat: %v, want ErrInvalidBadge (symbolic link)", err)
	}

	// A badge that is what its Lstat found is opened and read as ever:
	// the flag changes nothing for a regular file.
	other := newTestSoft(t, dir, "bo", SoftOptions{})
	if _, err := rp.register(rp.user("bo"), other); err != nil {
		t.Fatal(err)
	}
	if fi, err = os.Lstat(other.Path()); err != nil {
		t.Fatal(err)
	}
	// Written again meanwhile, by rename, as a kiosk sharing the
	// directory writes it: the file opened is another than the Lstat's,
	// and is the badge.
	data, err := os.ReadFile(other.Path())
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".bo.json.tmp-test")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, other.Path()); err != nil {
		t.Fatal(err)
	}
	f, err = openChecked(other.Path())
	if err != nil {
		t.Fatalf("open of a badge written again by rename since its Lstat: %v", err)
	}
	defer f.Close()
	if _, err := readBadge(other.Path()); err != nil {
		t.Fatalf("readBadge of a regular badge: %v", err)
	}
	if data, err := io.ReadAll(f); err != nil || len(data) != int(fi.Size()) {
		t.Fatalf("read %d bytes, %v; want the badge's %d", len(data), err, fi.Size())
	}
}
