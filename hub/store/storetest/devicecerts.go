package storetest

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testDeviceCerts: the fields the hub pins a kiosk's certificates with
// (store.Device.TakesCert) are written at enrollment (CreateDevice) and
// at each renewal (UpdateDevice, in the transaction that records it),
// and read back exactly, times to the nanosecond in UTC, by GetDevice,
// GetDeviceByName and ListDevices. Zero values stay zero (a kiosk
// enrolled before serials were recorded); a renewal rolled back leaves
// the serials of the one before; TouchDevices leaves them alone.
func testDeviceCerts(t *testing.T, s store.Store) {
	enrolled := store.Device{ID: "k1", Name: "kiosk-1", Site: "North", Profile: "generic-x86", State: store.DeviceActive,
		Version: 1, Created: at(1), Modified: at(1),
		// A 128-bit serial as the hub CA makes them, and when it was issued.
		CertSerial: "9c3e0f1a2b4d6e8f0a1b2c3d4e5f6071", CertIssued: at(1)}
	unpinned := store.Device{ID: "k2", Name: "kiosk-2", Site: "North", Profile: "generic-x86", State: store.DeviceActive,
		Version: 1, Created: at(0), Modified: at(0)}
	for _, d := range []store.Device{enrolled, unpinned} {
		got := must[store.Device](t, "create "+d.ID)(s.CreateDevice(t.Context(), d))
		diff(t, "created device "+d.ID, d, got)
		checkUTC(t, "created device "+d.ID, got.CertIssued, got.PrevCertUntil)
	}
	readBackDevices(t, s, "after enrollment", enrolled, unpinned)

	// A renewal: the certificate issued is the current one, the one
	// renewed with the previous one, taken for a day.
	renew := func(d store.Device, serial string, h int) store.Device {
		d.PrevCertSerial, d.PrevCertUntil = d.CertSerial, at(h+24)
		d.CertSerial, d.CertIssued = serial, at(h)
		d.Modified = at(h)
		return d
	}
	var renewed store.Device
	err := s.InTx(t.Context(), func(tx store.Ops) error {
		var err error
		renewed, err = tx.UpdateDevice(t.Context(), "k1", func(d store.Device) (store.Device, error) {
			diff(t, "fn sees the enrolled device", enrolled, d)
			return renew(d, "5", 2), nil // a short serial: no leading zeros
		})
		if err != nil {
			return err
		}
		diff(t, "the renewal read inside its transaction", renewed, must[store.Device](t, "get in tx")(tx.GetDevice(t.Context(), "k1")))
		return nil
	})
	if err != nil {
		t.Fatalf("renewal: %v", err)
	}
	want := renew(enrolled, "5", 2)
	want.Version = 2
	diff(t, "UpdateDevice's answer to a renewal", want, renewed)
	checkUTC(t, "renewed device", renewed.CertIssued, renewed.PrevCertUntil)
	readBackDevices(t, s, "after a renewal", want, unpinned)

	// The first renewal of a kiosk enrolled before serials were recorded
	// pins it: its previous serial stays empty.
	pinned := must[store.Device](t, "pin k2")(s.UpdateDevice(t.Context(), "k2", func(d store.Device) (store.Device, error) {
		return renew(d, "ab", 3), nil
	}))
	wantPinned := renew(unpinned, "ab", 3)
	wantPinned.Version = 2
	diff(t, "UpdateDevice's answer to a first renewal", wantPinned, pinned)
	if pinned.PrevCertSerial != "" {
		t.Errorf("first renewal of an unpinned kiosk: previous serial %q, want none", pinned.PrevCertSerial)
	}

	// A renewal whose transaction fails changes nothing.
	err = s.InTx(t.Context(), func(tx store.Ops) error {
		if _, err := tx.UpdateDevice(t.Context(), "k1", func(d store.Device) (store.Device, error) { return renew(d, "6", 4), nil }); err != nil {
			return err
		}
		return errFn
	})
	wantErr(t, "rolled back renewal", err, errFn)
	readBackDevices(t, s, "after a renewal rolled back", want, wantPinned)

	// Being seen is not a renewal.
	if err := s.TouchDevices(t.Context(), map[string]time.Time{"k1": at(5)}); err != nil {
		t.Fatalf("touch: %v", err)
	}
	want.LastSeen = at(5)
	readBackDevices(t, s, "after TouchDevices", want, wantPinned)

	// A second renewal replaces the previous serial and its grace.
	again := must[store.Device](t, "renew again")(s.UpdateDevice(t.Context(), "k1", func(d store.Device) (store.Device, error) {
		return renew(d, "7f", 30), nil
	}))
	want = renew(want, "7f", 30)
	want.Version = 3
	diff(t, "UpdateDevice's answer to a second renewal", want, again)
	readBackDevices(t, s, "after a second renewal", want, wantPinned)

	// What was read back pins as it was written.
	got := must[store.Device](t, "get")(s.GetDevice(t.Context(), "k1"))
	for _, tc := range []struct {
		name   string
		serial string
		now    int
		want   bool
	}{
		{"the current certificate", "7f", 100, true},
		{"the previous one within its grace", "5", 53, true},
		{"the previous one at its grace's end", "5", 54, false},
		{"the enrolled one", enrolled.CertSerial, 31, false},
	} {
		if ok := got.TakesCert(tc.serial, at(0), at(tc.now)); ok != tc.want {
			t.Errorf("the device read back: TakesCert(%s) = %v, want %v", tc.name, ok, tc.want)
		}
	}
}

// readBackDevices checks that GetDevice, GetDeviceByName and ListDevices
// return want, the store's every device.
func readBackDevices(t *testing.T, s store.Store, what string, want ...store.Device) {
	t.Helper()
	for _, w := range want {
		got := must[store.Device](t, what+": get "+w.ID)(s.GetDevice(t.Context(), w.ID))
		diff(t, what+": GetDevice "+w.ID, w, got)
		checkUTC(t, what+": GetDevice "+w.ID, got.CertIssued, got.PrevCertUntil, got.Created, got.Modified, got.LastSeen)
		diff(t, what+": GetDeviceByName "+w.Name, w, must[store.Device](t, what+": get by name")(s.GetDeviceByName(t.Context(), w.Name)))
	}
	byID := func(d store.Device) string { return d.ID }
	list := must[[]store.Device](t, what+": list")(s.ListDevices(t.Context(), ""))
	diff(t, what+": ListDevices", sortBy(want, byID), sortBy(list, byID))
	for _, d := range list {
		checkUTC(t, what+": ListDevices "+d.ID, d.CertIssued, d.PrevCertUntil)
	}
}
