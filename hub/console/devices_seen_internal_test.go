package console

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// TestKiosksPageReadsConnectedFirst: the Kiosks page shows a kiosk
// whose stored last-seen time is ten days old, but whose sighting the hub
// holds in memory, as last seen at that sighting. A kiosk that leaves as
// the page reads the open channels (its sighting marked, its channel gone
// from the registry, as the hub's channel.Leaving does) is found among the
// sightings: they are read after the open channels.
func TestKiosksPageReadsConnectedFirst(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, name := range []string{"idle", "just-left"} {
		d := store.Device{ID: name, Name: name, Site: "north", Profile: "generic-x86", State: store.DeviceActive,
			Created: now.Add(-30 * 24 * time.Hour), LastSeen: now.Add(-10 * 24 * time.Hour)}
		if _, err := db.CreateDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	// "idle" left a minute ago, before the page; "just-left" leaves as
	// the page reads the open channels. Neither sighting is stored yet.
	seen := map[string]time.Time{"idle": now.Add(-time.Minute)}
	c := &Console{st: db, pages: pages, cfg: Config{
		Store:          db,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		KioskOnline:    func(string) bool { return false },
		KioskConnected: func() []string { seen["just-left"] = now.Add(-time.Second); return nil },
		KioskSeen: func() map[string]time.Time {
			out := make(map[string]time.Time, len(seen))
			for id, at := range seen {
				out[id] = at
			}
			return out
		},
	}}
	w := httptest.NewRecorder()
	v := &viewer{account: store.ConsoleAccount{Name: "ada", Role: store.ConsoleAdmin}}
	if err := c.devicesPage(w, httptest.NewRequest("GET", "/console/devices", nil), v); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusOK {
		t.Fatalf("Kiosks page: %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for id, at := range map[string]time.Time{"idle": now.Add(-time.Minute), "just-left": now.Add(-time.Second)} {
		i := strings.Index(body, `<tr data-kiosk="`+id+`">`)
		if i < 0 {
			t.Fatalf("no row for %s:\n%s", id, body)
		}
		row, _, _ := strings.Cut(body[i:], "</tr>")
		if want := "<td>" + at.Format("2006-01-02 15:04:05Z") + "</td>"; !strings.Contains(row, want) {
			t.Errorf("%s's row %s\nhas no last seen %s", id, row, want)
		}
	}
}
