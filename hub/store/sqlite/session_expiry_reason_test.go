package sqlite

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateSessionExpiryReason opens a file from before the hub kept why
// a session ends at its expiry: its sessions, live and ended, come back
// as they were with no reason (they end as expired, as they did), and
// from then on the reason is written and read back by StartSession,
// SetSessionExpiryFor and the reads, and cleared by SetSessionExpiry.
func TestMigrateSessionExpiryReason(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaSessionExpiryReason)
	started := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	expires, ended := started.Add(8*time.Hour), started.Add(time.Hour)
	// The columns of the sessions table as the earlier schema has them.
	if _, err := raw.ExecContext(ctx, `INSERT INTO sessions (id, user_id, device_id, role, apps, started, expires, ended, end_reason)
		VALUES ('live', 'u1', 'k1', 'Nurse', '["ehr"]', ?1, ?2, 0, ''), ('done', 'u1', 'k1', 'Nurse', '[]', ?1, ?2, ?3, 'signout')`,
		started.UnixNano(), expires.UnixNano(), ended.UnixNano()); err != nil {
		t.Fatalf("insert sessions as the old schema stores them: %v", err)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO devices (id, name, site, profile, state, version, created, modified, last_seen)
		VALUES ('k1', 'north-1', 'North', 'generic-x86', 1, 1, ?1, ?1, 0)`, started.UnixNano()); err != nil {
		t.Fatalf("insert a device as the old schema stores it: %v", err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := openTest(t, path)
	if v, err := schemaVersion(ctx, db.writer); err != nil || v != len(migrations()) {
		t.Errorf("schema version = %d, %v; want %d", v, err, len(migrations()))
	}
	live := store.Session{ID: "live", UserID: "u1", DeviceID: "k1", Role: "Nurse", Apps: []string{"ehr"}, Started: started, Expires: expires}
	done := store.Session{ID: "done", UserID: "u1", DeviceID: "k1", Role: "Nurse", Apps: []string{}, Started: started, Expires: expires, Ended: ended, EndReason: "signout"}
	got, err := db.ListSessions(ctx, store.SessionQuery{UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]store.Session{done, live}, got); d != "" {
		t.Errorf("migrated sessions (-want +got):\n%s", d)
	}

	fresh := store.Session{ID: "fresh", UserID: "u2", DeviceID: "k1", Role: "Nurse", Started: started.Add(time.Minute), Expires: expires, ExpiryReason: "shift_end"}
	if _, err := db.StartSession(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if s, err := db.GetSession(ctx, "fresh"); err != nil || s.ExpiryReason != "shift_end" {
		t.Errorf("started session: %+v, %v; want expiry reason shift_end", s, err)
	}
	cut := expires.Add(-2 * time.Hour)
	moved, err := db.SetSessionExpiryFor(ctx, "live", cut, "shift_end")
	if err != nil || !moved.Expires.Equal(cut) || moved.ExpiryReason != "shift_end" {
		t.Errorf("SetSessionExpiryFor: %+v, %v; want expiry %s (shift_end)", moved, err, cut)
	}
	if s, err := db.GetSession(ctx, "live"); err != nil || s.ExpiryReason != "shift_end" {
		t.Errorf("stored after SetSessionExpiryFor: %+v, %v; want expiry reason shift_end", s, err)
	}
	if s, err := db.SetSessionExpiry(ctx, "fresh", cut); err != nil || s.ExpiryReason != "" {
		t.Errorf("SetSessionExpiry: %+v, %v; want no expiry reason", s, err)
	}
	if _, err := db.SetSessionExpiryFor(ctx, "done", cut, "shift_end"); err == nil {
		t.Error("SetSessionExpiryFor changed an ended session")
	}
}
