package audit_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
)

// TestKeyFileOfACrashedFirstStart: a first start that crashed before its
// new audit.key reached the disk left an empty (or zeroed) file beside a
// trail with no records. The key sealed nothing, so the next start makes
// a new one instead of refusing to start for good with "restore it from
// backup", of which there is none. Beside a trail with records the same
// file is refused and left as it is.
func TestKeyFileOfACrashedFirstStart(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"zeros", make([]byte, 32)},
		{"cut short", []byte("0123456789")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			path := filepath.Join(dir, audit.KeyFile)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			st := openStore(t)
			key, err := audit.LoadOrCreateKey(ctx, dir, st)
			if err != nil {
				t.Fatalf("damaged key beside an empty trail: %v, want a new key", err)
			}
			onDisk, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(onDisk, key) || len(key) != 32 || bytes.Equal(key, make([]byte, 32)) {
				t.Fatalf("key file %x (%v), key %x: want the 32-byte key made", onDisk, err, key)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file %v, %v: want mode 0600", fi, err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("files left beside the key: %v", ents)
			}

			// Records sealed with it; then the file is damaged again: refused.
			l, err := audit.New(key, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, st, l, 1)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := audit.LoadOrCreateKey(ctx, dir, st); err == nil || !strings.Contains(err.Error(), "restore it from backup") {
				t.Fatalf("damaged key beside sealed records: %v, want a refusal saying to restore it", err)
			}
			if onDisk, _ := os.ReadFile(path); !bytes.Equal(onDisk, tt.data) {
				t.Errorf("the damaged key beside sealed records was replaced: %x", onDisk)
			}
		})
	}
}
