package sqlite

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateGrantKeys: a file from before grant keys gets the table and
// keeps its grants; a key then stored is found, and the deletion of old
// keys goes by their time through grant_keys_created, not over the table.
func TestMigrateGrantKeys(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaGrantKeys)
	if _, err := raw.ExecContext(ctx, `INSERT INTO grants (id, user_id, role, site, reason, approver, start_at, end_at, revoked, created)
		VALUES ('gr1', 'u1', 'Nurse', 'north', 'cover', 'cli', 1, 2, 0, 1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db := openTest(t, path)
	if v, err := schemaVersion(ctx, db.writer); err != nil || v != len(migrations()) {
		t.Errorf("schema version = %d, %v; want %d", v, err, len(migrations()))
	}
	if g, err := db.GetGrant(ctx, "gr1"); err != nil || g.Reason != "cover" {
		t.Errorf("grant from before the step: %+v, %v", g, err)
	}
	now := time.Now()
	k := store.GrantKey{Caller: "token:a", Key: "k", Fingerprint: []byte{1}, GrantID: "gr1", Created: now}
	if err := db.CreateGrantKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetGrantKey(ctx, "token:a", "k"); err != nil || got.GrantID != "gr1" {
		t.Errorf("key after the step: %+v, %v", got, err)
	}

	rows, err := db.writer.QueryContext(ctx, `EXPLAIN QUERY PLAN DELETE FROM grant_keys WHERE created < ?`, nanos(now))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "grant_keys_created") {
		t.Errorf("plan of the deletion of old keys: %s; want it to use grant_keys_created", p)
	}
}
