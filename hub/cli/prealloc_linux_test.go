package cli

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// walPrealloc is the store's reservation for the write-ahead log
// (sqlite's walPrealloc).
const walPrealloc = 64 << 20

// A command's store (openStore: token create, device code, admin
// bootstrap...) reserves no disk blocks for the write-ahead log, which on
// a nearly full disk failed the command with ENOSPC for 64 MiB it never
// uses; the store serve opens (hub.OpenStore) keeps its reservation. The
// command's open that upgrades an older schema (no hub running) is the
// command's too.
func TestCommandStoreReservesNoWALBlocks(t *testing.T) {
	for _, tt := range []struct {
		name     string
		older    bool
		open     func(context.Context, string) (*sqlite.DB, error)
		reserved bool
	}{
		{name: "command", open: openStore},
		{name: "command upgrading an older schema", older: true, open: openStore},
		{name: "serve", open: hub.OpenStore, reserved: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.older {
				// A hub of an older build's database, as
				// upgrade_beside_hub_test.go's olderHub makes it.
				dump, err := os.ReadFile(filepath.Join("testdata", "hub-schema-19.sql"))
				if err != nil {
					t.Fatal(err)
				}
				db, err := sql.Open("sqlite3", filepath.Join(dir, hub.DBFile))
				if err != nil {
					t.Fatal(err)
				}
				_, err = db.Exec(string(dump) + ";PRAGMA journal_mode = WAL")
				if cerr := db.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			st, err := tt.open(t.Context(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			fi, err := os.Stat(filepath.Join(dir, hub.DBFile+"-wal"))
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
