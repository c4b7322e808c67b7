package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCountLiveSitesFirstFolded: a spelling's First is its least kiosk
// name in use by store.FoldName, as the console orders kiosks, also when
// the names are not ASCII ("ärb" before "Ärz", which NOCASE, folding
// ASCII only, puts first), and for ASCII names in any case.
func TestCountLiveSitesFirstFolded(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for i, k := range []struct{ name, site string }{
		{"Ärz", "Zeta"}, {"ärb", "Zeta"}, {"Idle", "Zeta"},
		{"b-2", "west"}, {"B-1", "west"}, {"a-9", "west"},
	} {
		id := string(rune('a' + i))
		if _, err := db.CreateDevice(ctx, store.Device{ID: id, Name: k.name, Site: k.site, Profile: "p", State: store.DeviceActive, Created: now}); err != nil {
			t.Fatal(err)
		}
		if k.name == "Idle" || k.name == "a-9" {
			continue // not in use: not a First
		}
		if _, err := db.CreateSession(ctx, store.Session{ID: "s" + id, UserID: "u", DeviceID: id, Role: "r", Started: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := db.CountLiveSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Zeta": "ärb", "west": "B-1"}
	if len(counts) != len(want) {
		t.Fatalf("counts %+v, want a row for each of %v", counts, want)
	}
	for _, c := range counts {
		if c.First != want[c.Site] || c.Kiosks != 2 || c.Sessions != 2 {
			t.Errorf("site %q: first %q, %d kiosks, %d sessions; want first %q, 2 and 2", c.Site, c.First, c.Kiosks, c.Sessions, want[c.Site])
		}
	}
}
