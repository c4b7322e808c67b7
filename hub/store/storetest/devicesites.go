package storetest

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testDeviceSites: ListDeviceSites gives each spelling of the devices'
// sites once, as stored, in the order a loop over ListDevices meets them:
// by each spelling's first device (Created, then ID), not by name. A
// disabled device's site counts as an enabled one's does.
func testDeviceSites(t *testing.T, s store.Store) {
	diff(t, "no devices", []string(nil), must[[]string](t, "list")(s.ListDeviceSites(t.Context())))
	for _, d := range []store.Device{
		{ID: "d1", Name: "k1", Site: "south", State: store.DeviceActive, Created: at(3)},
		{ID: "d2", Name: "k2", Site: "North", State: store.DeviceActive, Created: at(1)},
		{ID: "d3", Name: "k3", Site: "north", State: store.DeviceActive, Created: at(2)},
		{ID: "d4", Name: "k4", Site: "South", State: store.DeviceDisabled, Created: at(4)},
		// Created with d3: the ID decides, and d0 comes first.
		{ID: "d0", Name: "k0", Site: "east", State: store.DeviceActive, Created: at(2)},
		{ID: "d5", Name: "k5", Site: "North", State: store.DeviceActive, Created: at(0)},
		{ID: "d6", Name: "k6", Site: "ZÜRICH", State: store.DeviceActive, Created: at(5)},
	} {
		d.Profile, d.Modified = "p", d.Created
		if _, err := s.CreateDevice(t.Context(), d); err != nil {
			t.Fatalf("create device %s: %v", d.ID, err)
		}
	}
	diff(t, "spellings", []string{"North", "east", "north", "south", "South", "ZÜRICH"},
		must[[]string](t, "list")(s.ListDeviceSites(t.Context())))
}
