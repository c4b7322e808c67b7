package sqlite

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateTokenExpiry opens a file from before tokens expired: its
// tokens keep working with no expiry and no successor, as they were
// stored, and from then on an expiry and a successor are written and read
// back.
func TestMigrateTokenExpiry(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaTokenExpiry)
	created := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	// The columns of the tokens table as the earlier schema has them.
	if _, err := raw.ExecContext(ctx, `INSERT INTO tokens (id, name, scope, hash, created, last_used, revoked)
		VALUES ('00112233aabbccdd', 'okta-prod', 'scim', x'0102', ?, 0, 0)`, created.UnixNano()); err != nil {
		t.Fatalf("insert a token as the old schema stores it: %v", err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open after the migration: %v", err)
	}
	defer db.Close()
	want := store.Token{ID: "00112233aabbccdd", Name: "okta-prod", Scope: store.ScopeSCIM, Hash: []byte{1, 2}, Created: created}
	got, err := db.GetToken(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("migrated token (-want +got):\n%s", d)
	}
	if !got.Expires.IsZero() {
		t.Errorf("a token from before expiry expires at %v, want never (zero)", got.Expires)
	}

	expires := created.AddDate(0, 0, 1)
	if _, err := db.UpdateToken(ctx, want.ID, func(old store.Token) (store.Token, error) {
		old.Expires, old.ReplacedBy = expires, "ffeeddccbbaa9988"
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	want.Expires, want.ReplacedBy = expires, "ffeeddccbbaa9988"
	if got, err := db.GetToken(ctx, want.ID); err != nil || cmp.Diff(want, got) != "" {
		t.Errorf("after a rotation: %v (-want +got):\n%s", err, cmp.Diff(want, got))
	}
}
