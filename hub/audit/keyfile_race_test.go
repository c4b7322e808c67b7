package audit_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// hookedTrail runs before (once) as its trail is first read: another
// process's LoadOrCreateKey, run between this one's read of the key file
// and its making of a new key.
type hookedTrail struct {
	audit.Trail
	before func()
}

func (t *hookedTrail) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	if f := t.before; f != nil {
		t.before = nil
		f()
	}
	return t.Trail.ListAudit(ctx, q)
}

// TestDamagedKeyReplacedOnce: two processes that start at once beside the
// damaged audit.key of a crashed first start (a hub, and a token create a
// script runs beside it) end up with one key. Each made its own and
// renamed it over the file, the last one winning: the first went on
// sealing records with a key no longer on the disk, which no check of
// the trail could ever verify.
func TestDamagedKeyReplacedOnce(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, audit.KeyFile)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	var other []byte
	trail := &hookedTrail{Trail: st, before: func() {
		var err error
		if other, err = audit.LoadOrCreateKey(ctx, dir, st); err != nil {
			t.Fatalf("the other process: %v", err)
		}
	}}
	key, err := audit.LoadOrCreateKey(ctx, dir, trail)
	if err != nil {
		t.Fatalf("damaged key beside an empty trail, replaced meanwhile: %v, want the key in place", err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, other) || !bytes.Equal(onDisk, other) {
		t.Fatalf("this process has key %x, the other %x, the file %x: want all three the same", key, other, onDisk)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left beside the key: %v", ents)
	}
}
