package hub

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// listedKioskCounts counts as the kiosk collector did before it asked the
// store for counts: every device listed, each decided in Go.
func listedKioskCounts(ds []store.Device, connected map[string]bool, pending map[string]time.Time, now time.Time) store.DeviceCounts {
	n := store.DeviceCounts{Over: make([]int, len(kioskOfflineOver))}
	for _, d := range ds {
		if d.State != store.DeviceActive {
			continue
		}
		n.Enrolled++
		if connected[d.ID] {
			continue
		}
		n.Away++
		since := d.LastSeen
		if since.IsZero() {
			since = d.Created
		}
		if p := pending[d.ID]; p.After(since) {
			since = p
		}
		for i, o := range kioskOfflineOver {
			if now.Sub(since) > o.d {
				n.Over[i]++
			}
		}
	}
	return n
}

// TestKioskCountsMatchTheListedOnes: the counts the collector serves from
// one store read are those of listing every device and deciding each in
// Go, for kiosks in every state (enabled or disabled, connected or not,
// never seen, with a sighting not yet stored, later or earlier than the
// stored one, away for exactly a threshold), scraped at several times.
func TestKioskCountsMatchTheListedOnes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rnd := rand.New(rand.NewPCG(1, 2))
	// Ages cluster at the thresholds, where an off-by-one would show.
	ages := []time.Duration{0, time.Second, time.Hour - time.Nanosecond, time.Hour, time.Hour + time.Nanosecond,
		2 * time.Hour, 24 * time.Hour, 24*time.Hour + time.Nanosecond, 3 * 24 * time.Hour, 7 * 24 * time.Hour,
		7*24*time.Hour + time.Nanosecond, 30 * 24 * time.Hour}
	age := func() time.Duration { return ages[rnd.IntN(len(ages))] }
	connected := map[string]bool{"ghost": true}
	pending := map[string]time.Time{"ghost": now}
	for i := range 400 {
		d := store.Device{ID: store.NewID(), Name: fmt.Sprintf("kiosk-%d", i), Site: "north", Profile: "p",
			State: store.DeviceActive, Created: now.Add(-age())}
		if rnd.IntN(4) > 0 { // a quarter never seen
			d.LastSeen = now.Add(-age())
		}
		if rnd.IntN(5) == 0 {
			d.State = store.DeviceDisabled
		}
		if rnd.IntN(2) == 0 {
			connected[d.ID] = true
		}
		if rnd.IntN(3) == 0 {
			pending[d.ID] = now.Add(-age())
		}
		if _, err := db.CreateDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := db.ListDevices(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	var at time.Time
	seen := &lastSeen{}
	for id, p := range pending {
		seen.mark(id, p)
	}
	var asked store.DeviceCountQuery
	c := &kioskCollector{
		counts: func(ctx context.Context, q store.DeviceCountQuery) (store.DeviceCounts, error) {
			asked = q
			return db.CountDevices(ctx, q)
		},
		connected: func() []string {
			var ids []string
			for id := range connected {
				ids = append(ids, id)
			}
			return ids
		},
		seen: seen,
		now:  func() time.Time { return at },
		log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, after := range []time.Duration{0, time.Nanosecond, time.Hour, 25 * time.Hour, 8 * 24 * time.Hour} {
		at = now.Add(after)
		want := listedKioskCounts(ds, connected, pending, at)
		if want.Away == 0 || want.Over[0] == 0 || want.Over[2] == 0 || want.Enrolled == want.Away {
			t.Fatalf("after %v: the devices do not cover every case: %+v", after, want)
		}
		lines := []string{
			fmt.Sprintf("shiftgate_kiosks_enrolled %d", want.Enrolled),
			fmt.Sprintf("shiftgate_kiosks_disconnected %d", want.Away),
		}
		for i, o := range kioskOfflineOver {
			lines = append(lines, fmt.Sprintf(`shiftgate_kiosks_offline{over=%q} %d`, o.label, want.Over[i]))
		}
		wantLines(t, fmt.Sprintf("after %v", after), scrapeText(t, c), lines...)
		if !asked.Now.Equal(at) || len(asked.Seen) != len(pending) {
			t.Errorf("after %v: asked the store %v with %d sightings, want %v with %d", after, asked.Now, len(asked.Seen), at, len(pending))
		}
	}
}
