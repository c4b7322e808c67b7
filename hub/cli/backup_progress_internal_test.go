package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCopyProgress: while VACUUM INTO copies the database, backup says at
// each tick how much of the copy is written, on stderr; it said nothing
// between its first line and "snapshot written", minutes on a large
// database. Nothing is written after stop.
func TestCopyProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".shiftgate-backup-1.tmp")
	if err := os.WriteFile(path, make([]byte, 3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	tick := make(chan time.Time)
	stop := (env{stderr: &errb}).copyProgress(path, "hub.db", tick)
	tick <- time.Now()
	if err := os.WriteFile(path, make([]byte, 5<<20+512<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	tick <- time.Now()
	stop()
	if got, want := errb.String(), "copying hub.db: 3.0 MiB written\ncopying hub.db: 5.5 MiB written\n"; got != want {
		t.Errorf("progress:\n%q\nwant\n%q", got, want)
	}
	select {
	case tick <- time.Now():
		t.Error("a tick was taken after stop")
	default:
	}
}

// TestBackupSaysCopyProgress: backup reports the copy's progress between
// its first line and "snapshot written" (here at a tick waiting when the
// copy starts; the command's come every backupProgressEvery).
func TestBackupSaysCopyProgress(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Run(ctx, []string{"device", "code", "--data", dir, "--site", "north", "--name", "north-1"}, &out, &errb); code != 0 {
		t.Fatalf("device code: %d %s", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	ticks := make(chan time.Time, 1)
	ticks <- time.Now()
	if err := (env{stdout: &out, stderr: &errb}).backupTicks(ctx, []string{"--data", dir, "--out", filepath.Join(t.TempDir(), "b.db")}, ticks); err != nil {
		t.Fatalf("backup: %v\n%s", err, errb.String())
	}
	errs := errb.String()
	line := regexp.MustCompile(`(?m)^copying hub\.db: [0-9.]+ (B|KiB|MiB) written$`).FindStringIndex(errs)
	snap := strings.Index(errs, "snapshot written: ")
	if line == nil || snap < 0 || line[0] > snap || !strings.HasPrefix(errs, "backing up ") {
		t.Errorf("backup's stderr:\n%s\nwant a line of the copy's progress after the first line and before the snapshot's", errs)
	}
}
