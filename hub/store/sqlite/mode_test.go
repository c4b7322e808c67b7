package sqlite

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestOpenTightensMode: a database restored with cp keeps cp's mode; Open
// makes it and its -wal and -shm files readable by the owner only.
func TestOpenTightensMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSite(t.Context(), store.Site{ID: "north", Name: "north", TimeZone: "UTC", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	files := []string{path, path + "-wal", path + "-shm"}
	for _, f := range files {
		g, err := os.OpenFile(f, os.O_RDWR|os.O_CREATE, 0o644) // as cp leaves them
		if err != nil {
			t.Fatal(err)
		}
		g.Close()
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db = openTest(t, path)
	if _, err := db.GetSiteByName(t.Context(), "north"); err != nil {
		t.Errorf("the site after reopening: %v", err)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v after Open, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
}

// TestMarkRefusesEpoch: the Unix epoch is stored as 0, which means "not
// yet": ending a session at it would report success and leave it live.
func TestMarkRefusesEpoch(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	now := time.Now().UTC()
	if _, err := db.CreateSite(ctx, store.Site{ID: "north", Name: "north", TimeZone: "UTC", Created: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, store.User{ID: "u1", UserName: "ana", Active: true, State: store.UserActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDevice(ctx, store.Device{ID: "d1", Name: "k1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", DeviceID: "d1", Role: "Nurse", Started: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EndSession(ctx, "s1", "forced", time.Unix(0, 0)); err == nil {
		t.Error("EndSession at the Unix epoch succeeded")
	}
	if s, err := db.GetSession(ctx, "s1"); err != nil || !s.Ended.IsZero() {
		t.Errorf("session after the refused end: %+v, %v; want it live", s, err)
	}
}
