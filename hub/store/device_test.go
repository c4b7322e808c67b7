package store_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDeviceTakesCert: the certificates the hub takes for a device.
func TestDeviceTakesCert(t *testing.T) {
	now := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	issued := now.Add(-10 * 24 * time.Hour) // the current certificate's NotBefore
	older, newer := issued.Add(-time.Hour), issued.Add(time.Hour)
	pinned := store.Device{CertSerial: "c0", CertIssued: issued, PrevCertSerial: "b0", PrevCertUntil: now.Add(time.Hour)}
	unissued := pinned
	unissued.CertIssued = time.Time{}
	for _, tc := range []struct {
		name      string
		d         store.Device
		serial    string
		notBefore time.Time
		at        time.Time
		want      bool
	}{
		{"current", pinned, "c0", issued, now, true},
		{"current after the previous one's grace", pinned, "c0", issued, now.Add(48 * time.Hour), true},
		{"previous within its grace", pinned, "b0", older, now, true},
		{"previous at the end of its grace", pinned, "b0", older, now.Add(time.Hour), false},
		{"another, older serial", pinned, "a0", older, now, false},
		{"another serial issued with the current one", pinned, "a0", issued, now, false},
		{"another serial issued after the current one (a record lost to a restore)", pinned, "d0", newer, now, true},
		{"a newer one while no issue time is recorded", unissued, "d0", newer, now, false},
		{"no serial", pinned, "", newer, now, false},
		{"a device without a previous one", store.Device{CertSerial: "c0", CertIssued: issued}, "", newer, now, false},
		{"a device without serials takes any", store.Device{}, "a0", older, now, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.TakesCert(tc.serial, tc.notBefore, tc.at); got != tc.want {
				t.Errorf("TakesCert(%q, %v, %v) = %v, want %v", tc.serial, tc.notBefore, tc.at, got, tc.want)
			}
		})
	}
}
