package storetest

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testCountDevices: CountDevices counts each kind of device the kiosk
// metrics tell apart, as a loop over ListDevices would: enabled ones,
// connected or not, seen or never, with a sighting not yet stored (later
// or earlier than the stored time); disabled ones, connected or not, are
// not counted at all.
func testCountDevices(t *testing.T, s store.Store) {
	now := at(1000)
	over := []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	for _, tc := range []struct {
		name string
		q    store.DeviceCountQuery
		want store.DeviceCounts
	}{
		{"no devices", store.DeviceCountQuery{Now: now, Over: over, Connected: []string{"ghost"}, Seen: map[string]time.Time{"ghost": at(999)}},
			store.DeviceCounts{Over: []int{0, 0, 0}}},
	} {
		diff(t, tc.name, tc.want, must[store.DeviceCounts](t, "count "+tc.name)(s.CountDevices(t.Context(), tc.q)))
	}

	type kind struct {
		id       string
		state    store.DeviceState
		created  time.Time
		lastSeen time.Time
	}
	for _, k := range []kind{
		{"on", store.DeviceActive, now.Add(-30 * 24 * time.Hour), now.Add(-20 * 24 * time.Hour)},
		{"away-2h", store.DeviceActive, now.Add(-30 * 24 * time.Hour), now.Add(-2 * time.Hour)},
		// Away for exactly an hour: not longer than 1h.
		{"away-1h", store.DeviceActive, now.Add(-30 * 24 * time.Hour), now.Add(-time.Hour)},
		{"away-8d", store.DeviceActive, now.Add(-30 * 24 * time.Hour), now.Add(-8 * 24 * time.Hour)},
		// Never seen: away since it was enrolled.
		{"never-seen", store.DeviceActive, now.Add(-3 * 24 * time.Hour), time.Time{}},
		{"never-seen-new", store.DeviceActive, now.Add(-time.Minute), time.Time{}},
		// Stored when its channel opened; it left a second ago, which
		// only the sighting says.
		{"just-left", store.DeviceActive, now.Add(-30 * 24 * time.Hour), now.Add(-10 * 24 * time.Hour)},
		// A sighting older than the stored time changes nothing.
		{"old-sighting", store.DeviceActive, now.Add(-30 * 24 * time.Hour), now.Add(-2 * 24 * time.Hour)},
		{"disabled", store.DeviceDisabled, now.Add(-30 * 24 * time.Hour), now.Add(-9 * 24 * time.Hour)},
		{"disabled-on", store.DeviceDisabled, now.Add(-30 * 24 * time.Hour), now.Add(-9 * 24 * time.Hour)},
		{"disabled-never-seen", store.DeviceDisabled, now.Add(-30 * 24 * time.Hour), time.Time{}},
	} {
		must[store.Device](t, "create "+k.id)(s.CreateDevice(t.Context(), store.Device{ID: k.id, Name: "kiosk-" + k.id, Site: "North",
			Profile: "generic-x86", State: k.state, Created: k.created, Modified: k.created, LastSeen: k.lastSeen}))
	}
	connected := []string{"on", "disabled-on", "ghost"}
	seen := map[string]time.Time{"just-left": now.Add(-time.Second), "old-sighting": now.Add(-5 * 24 * time.Hour),
		"on": now.Add(-25 * 24 * time.Hour), "ghost": now.Add(-time.Second)}
	for _, tc := range []struct {
		name string
		q    store.DeviceCountQuery
		want store.DeviceCounts
	}{
		{"every kind", store.DeviceCountQuery{Now: now, Over: over, Connected: connected, Seen: seen},
			store.DeviceCounts{Enrolled: 8, Away: 7, Over: []int{4, 3, 1}}},
		// The same instant in another zone counts the same.
		{"now in UTC", store.DeviceCountQuery{Now: now.UTC(), Over: over, Connected: connected, Seen: seen},
			store.DeviceCounts{Enrolled: 8, Away: 7, Over: []int{4, 3, 1}}},
		// Without the sighting, just-left counts from its stored time.
		{"nothing in memory", store.DeviceCountQuery{Now: now, Over: over},
			store.DeviceCounts{Enrolled: 8, Away: 8, Over: []int{6, 5, 3}}},
		{"no durations", store.DeviceCountQuery{Now: now, Connected: connected, Seen: seen},
			store.DeviceCounts{Enrolled: 8, Away: 7}},
		{"every enabled one connected", store.DeviceCountQuery{Now: now, Over: over,
			Connected: []string{"on", "away-2h", "away-1h", "away-8d", "never-seen", "never-seen-new", "just-left", "old-sighting"}},
			store.DeviceCounts{Enrolled: 8, Away: 0, Over: []int{0, 0, 0}}},
		// A minute later, away-1h has been away for longer than 1h.
		{"a minute later", store.DeviceCountQuery{Now: now.Add(time.Minute), Over: over, Connected: connected, Seen: seen},
			store.DeviceCounts{Enrolled: 8, Away: 7, Over: []int{5, 3, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff(t, "counts", tc.want, must[store.DeviceCounts](t, "count")(s.CountDevices(t.Context(), tc.q)))
		})
	}
}
