package storetest

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

func testSites(t *testing.T, s store.Store) {
	north := store.Site{ID: "s1", Name: "North", TimeZone: "Europe/Berlin", Created: at(1)}
	got := must[store.Site](t, "create")(s.CreateSite(t.Context(), north))
	diff(t, "created site", north, got)
	checkUTC(t, "created site", got.Created)
	south := must[store.Site](t, "create south")(s.CreateSite(t.Context(), store.Site{ID: "s2", Name: "South", TimeZone: "America/Chicago", Created: at(0)}))

	tests := []struct {
		name    string
		site    store.Site
		wantErr error
	}{
		{name: "name taken", site: store.Site{ID: "s3", Name: "North"}, wantErr: store.ErrConflict},
		{name: "name other case", site: store.Site{ID: "s4", Name: "nORTH"}, wantErr: store.ErrConflict},
		{name: "same ID", site: store.Site{ID: "s1", Name: "East"}, wantErr: store.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateSite(t.Context(), tc.site)
			wantErr(t, "create", err, tc.wantErr)
		})
	}

	for _, name := range []string{"North", "north", "NORTH"} {
		got := must[store.Site](t, "get "+name)(s.GetSiteByName(t.Context(), name))
		diff(t, "site by name "+name, north, got)
		checkUTC(t, "site by name", got.Created)
	}
	_, err := s.GetSiteByName(t.Context(), "West")
	wantErr(t, "get unknown site", err, store.ErrNotFound)

	sites := must[[]store.Site](t, "list")(s.ListSites(t.Context()))
	diff(t, "sites", []store.Site{north, south}, sortBy(sites, func(s store.Site) string { return s.ID }))

	// UpdateSite finds the site by name in any case, shows fn the stored
	// value, and changes its zone only: ID, name and creation stay.
	got = must[store.Site](t, "update")(s.UpdateSite(t.Context(), "nORTH", func(x store.Site) (store.Site, error) {
		diff(t, "fn sees the current site", north, x)
		x.TimeZone = "Asia/Tokyo"
		x.ID, x.Name, x.Created = "changed", "Renamed", at(99)
		return x, nil
	}))
	want := north
	want.TimeZone = "Asia/Tokyo"
	diff(t, "updated site", want, got)
	checkUTC(t, "updated site", got.Created)
	diff(t, "got updated site", want, must[store.Site](t, "get")(s.GetSiteByName(t.Context(), "north")))
	_, err = s.GetSiteByName(t.Context(), "Renamed")
	wantErr(t, "get by the name fn returned", err, store.ErrNotFound)
	diff(t, "sites after the update", []store.Site{want, south},
		sortBy(must[[]store.Site](t, "list")(s.ListSites(t.Context())), func(s store.Site) string { return s.ID }))

	for _, tc := range []struct {
		name    string
		site    string
		fn      func(store.Site) (store.Site, error)
		wantErr error
	}{
		{"unknown site", "West", func(x store.Site) (store.Site, error) { x.TimeZone = "UTC"; return x, nil }, store.ErrNotFound},
		{"fn error", "North", func(x store.Site) (store.Site, error) { x.TimeZone = "UTC"; return x, errFn }, errFn},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			_, err := s.UpdateSite(t.Context(), tc.site, tc.fn)
			wantErr(t, "update", err, tc.wantErr)
			diff(t, "site after a failed update", want, must[store.Site](t, "get")(s.GetSiteByName(t.Context(), "North")))
		})
	}
	t.Run("update in a transaction that fails", func(t *testing.T) {
		err := s.InTx(t.Context(), func(tx store.Ops) error {
			if _, err := tx.UpdateSite(t.Context(), "north", func(x store.Site) (store.Site, error) { x.TimeZone = "UTC"; return x, nil }); err != nil {
				return err
			}
			if got := must[store.Site](t, "get in tx")(tx.GetSiteByName(t.Context(), "North")); got.TimeZone != "UTC" {
				t.Errorf("inside the transaction: zone %q, want its own update UTC", got.TimeZone)
			}
			return errFn
		})
		wantErr(t, "InTx", err, errFn)
		diff(t, "site after a rolled back update", want, must[store.Site](t, "get")(s.GetSiteByName(t.Context(), "North")))
	})
}

func testDevices(t *testing.T, s store.Store) {
	d := func(id, name, site string, h int) store.Device {
		return store.Device{ID: id, Name: name, Site: site, Profile: "zebra-et45", State: store.DeviceActive,
			Version: 1, Created: at(h), Modified: at(h), LastSeen: at(h + 1)}
	}
	k1, k2, k3 := d("k1", "kiosk-north-1", "North", 1), d("k2", "kiosk-north-2", "North", 2), d("k3", "kiosk-zurich-1", "Zürich", 0)
	for _, x := range []store.Device{k1, k2, k3} {
		in := x
		in.Version = 5 // the store sets 1
		got := must[store.Device](t, "create "+x.ID)(s.CreateDevice(t.Context(), in))
		diff(t, "created device", x, got)
		checkUTC(t, "created device", got.Created, got.Modified, got.LastSeen)
	}
	got := must[store.Device](t, "get")(s.GetDevice(t.Context(), "k1"))
	diff(t, "got device", k1, got)
	checkUTC(t, "got device", got.Created, got.Modified, got.LastSeen)
	_, err := s.GetDevice(t.Context(), "nope")
	wantErr(t, "get unknown device", err, store.ErrNotFound)
	got = must[store.Device](t, "get by name")(s.GetDeviceByName(t.Context(), "KIOSK-north-2"))
	diff(t, "got device by name", k2, got)
	_, err = s.GetDeviceByName(t.Context(), "kiosk-north")
	wantErr(t, "get by unknown name", err, store.ErrNotFound)

	for _, tc := range []struct {
		name   string
		device store.Device
	}{
		{"name taken", d("k9", "kiosk-north-1", "North", 3)},
		{"name other case", d("k9", "KIOSK-North-1", "North", 3)},
		{"same ID", d("k1", "kiosk-new", "North", 3)},
	} {
		t.Run("create "+tc.name, func(t *testing.T) {
			_, err := s.CreateDevice(t.Context(), tc.device)
			wantErr(t, "create", err, store.ErrConflict)
		})
	}

	byID := func(d store.Device) string { return d.ID }
	for _, tc := range []struct {
		name string
		site string
		want []store.Device
	}{
		{"all", "", []store.Device{k1, k2, k3}},
		{"North", "North", []store.Device{k1, k2}},
		{"north, in another case", "nORTH", []store.Device{k1, k2}},
		{"Zürich, in non-ASCII case", "ZÜRICH", []store.Device{k3}},
		{"no devices, though ASCII-folded alike", "Zurich", nil},
		{"no devices", "West", nil},
	} {
		t.Run("list "+tc.name, func(t *testing.T) {
			got := must[[]store.Device](t, "list")(s.ListDevices(t.Context(), tc.site))
			diff(t, "devices", tc.want, sortBy(got, byID))
		})
	}

	got = must[store.Device](t, "update")(s.UpdateDevice(t.Context(), "k1", func(x store.Device) (store.Device, error) {
		diff(t, "fn sees current device", k1, x)
		x.State = store.DeviceDisabled
		x.Site = "South"
		x.LastSeen = at(50)
		x.Modified = at(50)
		x.ID, x.Created, x.Version = "changed", at(99), 99
		return x, nil
	}))
	want := k1
	want.State, want.Site, want.LastSeen, want.Modified, want.Version = store.DeviceDisabled, "South", at(50), at(50), 2
	diff(t, "updated device", want, got)
	checkUTC(t, "updated device", got.Created, got.Modified, got.LastSeen)
	diff(t, "got updated device", want, must[store.Device](t, "get")(s.GetDevice(t.Context(), "k1")))

	// Disabled, k1 gives its name back: a new kiosk takes it, and the
	// name finds the enabled one.
	k4 := d("k4", "Kiosk-North-1", "South", 60)
	diff(t, "created device with a disabled one's name", k4, must[store.Device](t, "create k4")(s.CreateDevice(t.Context(), k4)))
	diff(t, "got device by a reused name", k4, must[store.Device](t, "get by name")(s.GetDeviceByName(t.Context(), "kiosk-north-1")))
	_, err = s.CreateDevice(t.Context(), d("k5", "KIOSK-NORTH-1", "South", 61))
	wantErr(t, "create a second enabled device with the name", err, store.ErrConflict)
	k2disabled := must[store.Device](t, "disable k2")(s.UpdateDevice(t.Context(), "k2", func(x store.Device) (store.Device, error) {
		x.State = store.DeviceDisabled
		return x, nil
	}))
	diff(t, "got the only, disabled, device by name", k2disabled, must[store.Device](t, "get by name")(s.GetDeviceByName(t.Context(), "kiosk-north-2")))

	for _, tc := range []struct {
		name    string
		id      string
		fn      func(store.Device) (store.Device, error)
		wantErr error
	}{
		{"unknown device", "nope", func(x store.Device) (store.Device, error) { return x, nil }, store.ErrNotFound},
		{"fn error", "k1", func(x store.Device) (store.Device, error) { x.Name = "x"; return x, errFn }, errFn},
		{"enabled again while its name is taken", "k1", func(x store.Device) (store.Device, error) { x.State = store.DeviceActive; return x, nil }, store.ErrConflict},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			_, err := s.UpdateDevice(t.Context(), tc.id, tc.fn)
			wantErr(t, "update", err, tc.wantErr)
			diff(t, "device after failed update", want, must[store.Device](t, "get")(s.GetDevice(t.Context(), "k1")))
		})
	}
}

func testTouchDevices(t *testing.T, s store.Store) {
	d := store.Device{ID: "k1", Name: "kiosk-1", Site: "North", Profile: "generic-x86", State: store.DeviceActive,
		Version: 1, Created: at(1), Modified: at(1), LastSeen: at(2)}
	must[store.Device](t, "create")(s.CreateDevice(t.Context(), d))
	if err := s.TouchDevices(t.Context(), map[string]time.Time{"k1": at(5), "nope": at(5)}); err != nil {
		t.Fatalf("touch: %v", err)
	}
	want := d
	want.LastSeen = at(5)
	diff(t, "touched: LastSeen moved, Version and Modified kept", want, must[store.Device](t, "get")(s.GetDevice(t.Context(), "k1")))
	if err := s.TouchDevices(t.Context(), map[string]time.Time{"k1": at(3)}); err != nil {
		t.Fatalf("touch back: %v", err)
	}
	diff(t, "an older sighting does not move LastSeen back", want, must[store.Device](t, "get again")(s.GetDevice(t.Context(), "k1")))
	if err := s.TouchDevices(t.Context(), nil); err != nil {
		t.Errorf("touch nothing: %v", err)
	}
}
