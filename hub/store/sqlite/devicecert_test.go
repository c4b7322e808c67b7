package sqlite

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestMigrateDeviceCerts opens a file from before the hub recorded device
// certificate serials: its kiosks come back with none (the hub takes their
// certificates until their next renewal), and from then on serials are
// written and read back by Create, Get, List and Update.
func TestMigrateDeviceCerts(t *testing.T) {
	ctx := t.Context()
	path, raw := dbBefore(t, schemaDeviceCerts)
	created := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	// The columns of the devices table as the earlier schema has them.
	if _, err := raw.ExecContext(ctx, `INSERT INTO devices (id, name, site, profile, state, version, created, modified, last_seen)
		VALUES ('k1', 'north-1', 'North', 'generic-x86', 1, 1, ?, ?, 0)`, created.UnixNano(), created.UnixNano()); err != nil {
		t.Fatalf("insert a device as the old schema stores it: %v", err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open after the migration: %v", err)
	}
	defer db.Close()
	old := store.Device{ID: "k1", Name: "north-1", Site: "North", Profile: "generic-x86", State: store.DeviceActive, Version: 1, Created: created, Modified: created}
	got, err := db.GetDevice(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(old, got); d != "" {
		t.Errorf("migrated device (-want +got):\n%s", d)
	}

	until := created.Add(24 * time.Hour)
	updated, err := db.UpdateDevice(ctx, "k1", func(d store.Device) (store.Device, error) {
		d.CertSerial, d.PrevCertSerial, d.PrevCertUntil, d.CertIssued = "1f2e3d", "a0b1c2", until, created.Add(time.Hour)
		return d, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := old
	want.Version, want.CertSerial, want.PrevCertSerial, want.PrevCertUntil, want.CertIssued = 2, "1f2e3d", "a0b1c2", until, created.Add(time.Hour)
	if d := cmp.Diff(want, updated); d != "" {
		t.Errorf("UpdateDevice's answer (-want +got):\n%s", d)
	}

	k2 := store.Device{ID: "k2", Name: "north-2", Site: "North", Profile: "generic-x86", State: store.DeviceActive,
		Created: created.Add(time.Minute), Modified: created.Add(time.Minute), CertSerial: "77"}
	k2, err = db.CreateDevice(ctx, k2)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []store.Device{want, k2} {
		got, err := db.GetDevice(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(w, got); d != "" {
			t.Errorf("GetDevice %s (-want +got):\n%s", w.ID, d)
		}
	}
	list, err := db.ListDevices(ctx, "North")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]store.Device{want, k2}, list); d != "" {
		t.Errorf("ListDevices (-want +got):\n%s", d)
	}
	if got, err := db.GetDeviceByName(ctx, "north-2"); err != nil || cmp.Diff(k2, got) != "" {
		t.Errorf("GetDeviceByName: %v (-want +got):\n%s", err, cmp.Diff(k2, got))
	}
}
