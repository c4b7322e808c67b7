package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCountDevicesPlan: CountDevices reads the devices table once, and
// looks each device up in the connected IDs and the sightings through an
// automatic index rather than scanning them per device: at 10,000 kiosks,
// all connected, a scan per device would be 100 million comparisons a
// scrape. It is checked with 10,000 devices, connected and seen, so the
// planner has the statistics of a large hub to go by.
func TestCountDevicesPlan(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	now := time.Unix(1_800_000_000, 0)
	q := store.DeviceCountQuery{Now: now, Over: []time.Duration{time.Hour, 24 * time.Hour}, Seen: map[string]time.Time{}}
	err := db.InTx(t.Context(), func(tx store.Ops) error {
		for i := range 10_000 {
			id := fmt.Sprintf("k%05d", i)
			if _, err := tx.CreateDevice(t.Context(), store.Device{ID: id, Name: id, Site: "north", Profile: "p",
				State: store.DeviceActive, Created: now.Add(-48 * time.Hour), LastSeen: now.Add(-time.Duration(i) * time.Minute)}); err != nil {
				return err
			}
			q.Connected = append(q.Connected, id)
			q.Seen[id] = now
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	got, err := o.CountDevices(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enrolled != 10_000 || got.Away != 0 || got.Over[0] != 0 || got.Over[1] != 0 {
		t.Errorf("counts %+v, want 10,000 enrolled, all connected", got)
	}
	plan := strings.Join(plans, "\n")
	scans := 0
	for _, line := range plans {
		if strings.HasPrefix(line, "SCAN devices") {
			scans++
		}
	}
	if scans != 1 {
		t.Errorf("the devices table is scanned %d times, want once:\n%s", scans, plan)
	}
	// The connected IDs are a list built once (NOT IN, not correlated),
	// the sightings a table searched by ID.
	for _, want := range []string{"LIST SUBQUERY", "SEARCH s USING AUTOMATIC COVERING INDEX (id=?)"} {
		if !strings.Contains(plan, want) {
			t.Errorf("no %q in the plan:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "CORRELATED") {
		t.Errorf("a subquery run per device:\n%s", plan)
	}
}
