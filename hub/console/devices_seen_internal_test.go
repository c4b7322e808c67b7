package console

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestKiosksPageReadsConnectedFirst: the Kiosks page shows a kiosk
// whose stored last-seen time is ten days old, but whose sighting the hub
// holds in memory, as last seen at that sighting. A kiosk that leaves as
// the page reads the open channels (its sighting marked, its channel gone
// from the registry, as the hub's channel.Leaving does) is found among the
// sightings: they are read after the open channels.
func TestKiosksPageReadsConnectedFirst(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	var kiosks []store.Device
	for _, name := range []string{"idle", "just-left"} {
		kiosks = append(kiosks, store.Device{ID: name, Name: name, Site: "north", Profile: "generic-x86", State: store.DeviceActive,
			Created: now.Add(-30 * 24 * time.Hour), LastSeen: now.Add(-10 * 24 * time.Hour)})
	}
	// "idle" left a minute ago, before the page; "just-left" leaves as
	// the page reads the open channels. Neither sighting is stored yet.
	seen := map[string]time.Time{"idle": now.Add(-time.Minute)}
	body := kiosksPage(t, kiosks, Config{
		KioskOnline:    func(string) bool { return false },
		KioskConnected: func() []string { seen["just-left"] = now.Add(-time.Second); return nil },
		KioskSeen: func() map[string]time.Time {
			out := make(map[string]time.Time, len(seen))
			for id, at := range seen {
				out[id] = at
			}
			return out
		},
	})
	for id, at := range map[string]time.Time{"idle": now.Add(-time.Minute), "just-left": now.Add(-time.Second)} {
		row := kioskRow(t, body, id)
		if want := "<td>" + at.Format("2006-01-02 15:04:05Z") + "</td>"; !strings.Contains(row, want) {
			t.Errorf("%s's row %s\nhas no last seen %s", id, row, want)
		}
	}
}
