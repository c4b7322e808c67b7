package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCleanupTellsBootByID: the start-up clean-up takes a recorded group
// whose leader has exited for the session's (an orphaned member started
// no earlier than the leader) only when the session directory's boot_id
// names the running boot. Before, it went by the pids file's time against
// the boot time, and a kiosk without a real-time clock, booting with the
// clock it saved before a power cut, saw a file of the previous boot as
// newer: a group of this boot that took the recorded number, its own
// leader gone (a daemon's), was ended. The file times here say nothing:
// the records of another boot look newer than this boot's start, those of
// this one older (a clock stepped forward since).
func TestCleanupTellsBootByID(t *testing.T) {
	t.Parallel()
	boot, ok := runningBoot()
	if !ok {
		t.Fatal("cannot read the boot's ID")
	}
	// Another boot's ID: this one with its first digit changed.
	other := strings.Map(func(r rune) rune {
		if r == '0' {
			return '1'
		}
		return '0'
	}, boot[:1]) + boot[1:]
	for _, tc := range []struct {
		name  string
		boot  *string   // the boot_id file's content; nil: no file (an older agent)
		mtime time.Time // the pids file's
		ended bool
	}{
		{name: "another boot", boot: &other, mtime: time.Now().Add(time.Hour)},
		{name: "no boot_id", mtime: time.Now().Add(time.Hour)},
		{name: "this boot", boot: &boot, mtime: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), ended: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			state, pid := crashWithOrphan(t)
			dir := filepath.Join(state, "sessions", "left")
			path := filepath.Join(dir, bootFile)
			// Start wrote this boot's, for the owner only.
			b, err := os.ReadFile(path)
			if err != nil || string(b) != boot {
				t.Fatalf("%s: %q, %v; want %q", bootFile, b, err, boot)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: mode %v, %v; want 0600", bootFile, fi.Mode(), err)
			}
			if tc.boot == nil {
				err = os.Remove(path)
			} else {
				err = os.WriteFile(path, []byte(*tc.boot), 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Join(dir, pidsFile), tc.mtime, tc.mtime); err != nil {
				t.Fatal(err)
			}
			m, err := New(Config{StateDir: state, Grace: 200 * time.Millisecond, TempDirs: []string{}, Cgroup: NoCgroup})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Cleanup(t.Context()); err != nil {
				t.Fatalf("cleanup: %v", err)
			}
			if tc.ended {
				assertGone(t, []int{pid})
			} else if !alive(pid) {
				t.Errorf("process %d, in a group whose number a record of another boot names, was ended", pid)
			}
			assertNoDir(t, dir)
		})
	}
}
