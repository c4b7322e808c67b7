package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBackupKeepNewDirectorySync: a backup kept on a file system that
// cannot sync a directory (EINVAL or ENOTSUP, as some network and FUSE
// file systems answer) stays, with a note saying what that means: the copy
// itself is synced. Any other failure to sync removes it, and says nothing
// was written; so does an out that was made meanwhile.
func TestBackupKeepNewDirectorySync(t *testing.T) {
	for _, tc := range []struct {
		name     string
		syncErr  error
		kept     bool
		want     string
		existing bool
	}{
		{"synced", nil, true, "", false},
		{"EINVAL", syscall.EINVAL, true, "cannot sync a directory", false},
		{"ENOTSUP", syscall.ENOTSUP, true, "cannot sync a directory", false},
		{"EIO", syscall.EIO, false, "nothing was written", false},
		{"made meanwhile", nil, false, "was made while the backup ran", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tmp, out := filepath.Join(dir, ".shiftgate-backup-1.tmp"), filepath.Join(dir, "b.db")
			if err := os.WriteFile(tmp, []byte("the copy"), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.existing {
				if err := os.WriteFile(out, []byte("someone else's"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			synced := ""
			note, err := keepNew(tmp, out, func(d string) error {
				synced = d
				if tc.syncErr != nil {
					return &fs.PathError{Op: "sync", Path: d, Err: tc.syncErr}
				}
				return nil
			})
			got := note
			if err != nil {
				got = err.Error()
			}
			if (err == nil) != tc.kept || !strings.Contains(got, tc.want) || (tc.want == "") != (got == "") {
				t.Fatalf("keepNew: note %q, err %v; want kept %v, saying %q", note, err, tc.kept, tc.want)
			}
			b, rerr := os.ReadFile(out)
			switch {
			case tc.kept && string(b) != "the copy":
				t.Errorf("out holds %q, %v; want the copy", b, rerr)
			case tc.existing && string(b) != "someone else's":
				t.Errorf("the file made meanwhile holds %q, %v", b, rerr)
			case !tc.kept && !tc.existing && !errors.Is(rerr, fs.ErrNotExist):
				t.Errorf("out after a failed sync: %v; want it removed", rerr)
			}
			if tc.kept && synced != dir {
				t.Errorf("synced %q, want the directory %q", synced, dir)
			}
			if _, err := os.Stat(tmp); tc.kept && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the temporary file is left: %v", err)
			}
		})
	}
}
