package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSiteNamesFoldUnicode: site names are compared case-insensitively
// (store.SiteOps) the way the rest of the hub compares them, Unicode
// simple case folding (store.FoldName, strings.EqualFold in hub/policy),
// not SQLite's ASCII-only NOCASE. A user provisioned with the site
// "ZÜRICH" works at the kiosks of the site "Zürich" (hub/policy), so its
// start and end days must be read in that site's zone: with NOCASE the
// lookup missed, and hub/lifecycle read them in UTC. And "ÄRZTE" must not
// become a second site beside "Ärzte".
func TestSiteNamesFoldUnicode(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for _, s := range []store.Site{
		{ID: "s1", Name: "Zürich", TimeZone: "Europe/Zurich", Created: now},
		{ID: "s2", Name: "Ärzte", TimeZone: "Europe/Berlin", Created: now},
		{ID: "s3", Name: "Straße", TimeZone: "Europe/Vienna", Created: now},
		{ID: "s4", Name: "Iğdır", TimeZone: "Europe/Istanbul", Created: now},
	} {
		if _, err := db.CreateSite(ctx, s); err != nil {
			t.Fatalf("create %s: %v", s.Name, err)
		}
	}
	found := []struct{ name, want string }{
		{"ZÜRICH", "s1"}, {"zürich", "s1"}, {"Zürich", "s1"},
		{"ärzte", "s2"}, {"ÄRZTE", "s2"},
		{"STRAẞE", "s3"}, // capital sharp s folds with ß
		{"iğdır", "s4"},
	}
	for _, tc := range found {
		s, err := db.GetSiteByName(ctx, tc.name)
		if err != nil || s.ID != tc.want {
			t.Errorf("GetSiteByName(%q) = %+v, %v; want site %s", tc.name, s, err, tc.want)
		}
		err = db.InTx(ctx, func(tx store.Ops) error {
			s, err := tx.GetSiteByName(ctx, tc.name)
			if err == nil && s.ID != tc.want {
				err = fmt.Errorf("got site %s", s.ID)
			}
			return err
		})
		if err != nil {
			t.Errorf("GetSiteByName(%q) in a transaction: %v", tc.name, err)
		}
	}
	// Names that strings.EqualFold keeps apart stay apart.
	for _, name := range []string{"STRASSE", "IĞDIR", "İğdır"} {
		if s, err := db.GetSiteByName(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSiteByName(%q) = %+v, %v; want ErrNotFound", name, s, err)
		}
	}

	up, err := db.UpdateSite(ctx, "ZÜRICH", func(s store.Site) (store.Site, error) {
		s.TimeZone = "UTC"
		return s, nil
	})
	if err != nil || up.ID != "s1" || up.Name != "Zürich" {
		t.Errorf("UpdateSite(ZÜRICH) = %+v, %v; want s1 kept as Zürich", up, err)
	}

	for _, name := range []string{"ZÜRICH", "ärzte", "STRAẞE"} {
		_, err := db.CreateSite(ctx, store.Site{ID: "dup-" + name, Name: name, TimeZone: "UTC", Created: now})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateSite(%q) beside its other case: %v; want ErrConflict", name, err)
		}
	}
	sites, err := db.ListSites(ctx)
	if err != nil || len(sites) != 4 {
		t.Errorf("ListSites = %d sites, %v; want 4", len(sites), err)
	}
}

// TestDeviceNamesFoldUnicode: a kiosk's name is unique among enabled
// kiosks and found case-insensitively (store.DeviceOps), under the same
// folding as every other name, not NOCASE's ASCII-only one.
func TestDeviceNamesFoldUnicode(t *testing.T) {
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	dev := func(id, name string, state store.DeviceState, created time.Time) store.Device {
		return store.Device{ID: id, Name: name, Site: "Zürich", Profile: "p", State: state, Created: created, Modified: created}
	}
	if _, err := db.CreateDevice(ctx, dev("d1", "Küche-1", store.DeviceActive, now)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDevice(ctx, dev("d2", "KÜCHE-1", store.DeviceActive, now)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second enabled kiosk KÜCHE-1 beside Küche-1: %v; want ErrConflict", err)
	}
	for _, name := range []string{"KÜCHE-1", "küche-1"} {
		d, err := db.GetDeviceByName(ctx, name)
		if err != nil || d.ID != "d1" {
			t.Errorf("GetDeviceByName(%q) = %+v, %v; want d1", name, d, err)
		}
	}

	// A disabled kiosk gives its name back; the enabled one is found first.
	if _, err := db.UpdateDevice(ctx, "d1", func(d store.Device) (store.Device, error) {
		d.State = store.DeviceDisabled
		return d, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDevice(ctx, dev("d3", "KÜCHE-1", store.DeviceActive, now.Add(-time.Hour))); err != nil {
		t.Fatalf("a new kiosk with a disabled one's name: %v", err)
	}
	if d, err := db.GetDeviceByName(ctx, "küche-1"); err != nil || d.ID != "d3" {
		t.Errorf("GetDeviceByName(küche-1) = %+v, %v; want the enabled d3", d, err)
	}
	// Enabling the old one again, or renaming another into the name, is
	// refused while d3 holds it.
	if _, err := db.UpdateDevice(ctx, "d1", func(d store.Device) (store.Device, error) {
		d.State = store.DeviceActive
		return d, nil
	}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("enable d1 while d3 holds its name: %v; want ErrConflict", err)
	}
	if _, err := db.CreateDevice(ctx, dev("d4", "Flur", store.DeviceActive, now)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateDevice(ctx, "d4", func(d store.Device) (store.Device, error) {
		d.Name = "KüCHE-1"
		return d, nil
	}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rename d4 to KüCHE-1: %v; want ErrConflict", err)
	}
	// A kiosk keeps its name when it changes only in case.
	if _, err := db.UpdateDevice(ctx, "d3", func(d store.Device) (store.Device, error) {
		d.Name = "küche-1"
		return d, nil
	}); err != nil {
		t.Errorf("rename d3 in case only: %v", err)
	}
}

// TestMigrateSiteAndDeviceNameKeys opens a file from before the site and
// kiosk name keys that holds names NOCASE took for different (two sites
// "Köln" and "KÖLN", two enabled kiosks): the step keeps them all, gives
// them keys, and the store finds each, its own spelling first.
func TestMigrateSiteAndDeviceNameKeys(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	// The earlier steps need the store's fold function (schemaNameKeys).
	cn := newConnector(path+"?"+writerParams, writerInit)
	cn.opened = func(c *sqlite3.SQLiteConn) error { return c.RegisterFunc(foldNameFunc, store.FoldName, true) }
	raw := sql.OpenDB(cn)
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	before := slices.IndexFunc(migrations(), func(m migration) bool { return m.sql == schemaSiteDeviceNameKeys })
	if before < 0 {
		t.Fatal("schemaSiteDeviceNameKeys is not a migration")
	}
	for _, m := range migrations()[:before] {
		if _, err := raw.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("migration %s: %v", m.name, err)
		}
	}
	if _, err := raw.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][3]any{{"s1", "Köln", int64(1)}, {"s2", "KÖLN", int64(2)}} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO sites (id, name, time_zone, created) VALUES (?, ?, 'Europe/Berlin', ?)`, s[0], s[1], s[2]); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range [][3]any{{"d1", "Küche", int64(1)}, {"d2", "KÜCHE", int64(2)}} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO devices (id, name, site, profile, state, version, created, modified, last_seen)
			VALUES (?, ?, 'Köln', 'p', 1, 1, ?, ?, 0)`, d[0], d[1], d[2], d[2]); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db := openTest(t, path)
	for _, tc := range []struct{ name, want string }{{"Köln", "s1"}, {"KÖLN", "s2"}, {"köln", "s1"}} {
		if s, err := db.GetSiteByName(ctx, tc.name); err != nil || s.ID != tc.want {
			t.Errorf("GetSiteByName(%q) = %+v, %v; want %s", tc.name, s, err, tc.want)
		}
	}
	for _, tc := range []struct{ name, want string }{{"Küche", "d1"}, {"KÜCHE", "d2"}, {"küche", "d2"}} {
		if d, err := db.GetDeviceByName(ctx, tc.name); err != nil || d.ID != tc.want {
			t.Errorf("GetDeviceByName(%q) = %+v, %v; want %s", tc.name, d, err, tc.want)
		}
	}
	if _, err := db.CreateSite(ctx, store.Site{ID: "s3", Name: "kÖln", TimeZone: "UTC"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSite(kÖln) after the step: %v; want ErrConflict", err)
	}
	// The shared names stay as they are: editing one kiosk is not refused.
	if _, err := db.UpdateDevice(ctx, "d1", func(d store.Device) (store.Device, error) {
		d.Profile = "q"
		return d, nil
	}); err != nil {
		t.Errorf("update d1, which shares its name since before the step: %v", err)
	}
}

// TestNewerSchemaMessage: a file from a newer build is refused with a
// message that says so, not as a failed migration to version 1.
func TestNewerSchemaMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openTest(t, path)
	newer := len(migrations()) + 3
	if _, err := db.writer.ExecContext(t.Context(), fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), path)
	if err == nil {
		t.Fatal("opened a file of a newer schema")
	}
	want := fmt.Sprintf("open store %s: database schema version %d is newer than this build supports (%d): upgrade shiftgate", path, newer, len(migrations()))
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if strings.Contains(err.Error(), "migrate") {
		t.Errorf("err = %q: speaks of a migration, but none was tried", err)
	}
}

// TestNameKeyPlans: the lookups by site and kiosk name use the keys'
// indexes.
func TestNameKeyPlans(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"site by name", func() error { _, err := o.GetSiteByName(t.Context(), "Zürich"); return err }, "INDEX sites_name_key"},
		{"kiosk by name", func() error { _, err := o.GetDeviceByName(t.Context(), "Küche"); return err }, "INDEX devices_name_key"},
	} {
		plans = plans[:0]
		if err := tc.run(); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if plan := strings.Join(plans, "; "); !strings.Contains(plan, tc.want) {
			t.Errorf("%s: plan does not use %s: %s", tc.name, tc.want, plan)
		}
	}
}
