package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestPutAsideWithoutHardLinks: on a file system without hard links (FAT
// answers EPERM, some FUSE and network file systems ENOTSUP or ENOSYS),
// the database being replaced keeps its name until the restored copy is
// renamed over it, as it does with a link: the database put aside is a
// copy of it. Renamed aside instead, it left a moment with no hub.db at
// all, in which a restore killed outright (kill -9, power loss) left a
// data directory where the hub starts on a new, empty database, every
// user and kiosk gone. No temporary file is left.
func TestPutAsideWithoutHardLinks(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"EPERM", syscall.EPERM},
		{"ENOTSUP", syscall.ENOTSUP},
		{"ENOSYS", syscall.ENOSYS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "hub.db")
			old := bytes.Repeat([]byte("the database being replaced\n"), 1000)
			if err := os.WriteFile(db, old, 0o600); err != nil {
				t.Fatal(err)
			}
			noLink := func(oldname, newname string) error {
				return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: tc.err}
			}
			aside, err := putAside(db, time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC), noLink)
			if err != nil {
				t.Fatalf("putAside: %v", err)
			}
			if want := db + ".replaced-20260115T090000Z"; aside != want {
				t.Errorf("put aside as %q; want %q", aside, want)
			}
			if b, err := os.ReadFile(db); err != nil || !bytes.Equal(b, old) {
				t.Errorf("hub.db before the copy takes its name: %d bytes, %v; want the database being replaced still there", len(b), err)
			}
			fi, err := os.Stat(aside)
			if err != nil {
				t.Fatalf("the database put aside: %v", err)
			}
			if b, err := os.ReadFile(aside); err != nil || !bytes.Equal(b, old) {
				t.Errorf("the database put aside: %d bytes, %v; want a whole copy of the one replaced", len(b), err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("the database put aside is %v; want 0600", fi.Mode().Perm())
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".shiftgate-restore-*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
