package sqlite

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A store opened with NoPrealloc (a CLI command's) reserves no disk
// blocks for the write-ahead log: on a nearly full disk, 64 MiB it never
// uses would fail the command with ENOSPC. Open (the hub's) still does.
func TestNoPreallocLeavesWALUnreserved(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     Options
		reserved bool
	}{
		{"hub", Options{}, true},
		{"short-lived writer", Options{NoPrealloc: true}, false},
		{"short-lived writer, no upgrade", Options{NoPrealloc: true, NoUpgrade: true}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hub.db")
			db, err := OpenWith(t.Context(), path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			fi, err := os.Stat(path + "-wal")
			if err != nil {
				t.Fatal(err)
			}
			got := fi.Sys().(*syscall.Stat_t).Blocks * 512
			if reserved := got >= walPrealloc; reserved != tt.reserved {
				t.Errorf("write-ahead log has %d bytes of blocks (%d long): reserved %v, want %v", got, fi.Size(), reserved, tt.reserved)
			}
		})
	}
}
