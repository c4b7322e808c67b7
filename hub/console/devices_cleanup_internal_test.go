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

// kiosksPage stores kiosks in a hub store of its own and returns the
// Kiosks page an admin gets from a console on it with cfg, whose Store
// and Logger it sets.
func kiosksPage(t *testing.T, kiosks []store.Device, cfg Config) string {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, d := range kiosks {
		if _, err := db.CreateDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Logger = db, slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &Console{st: db, pages: pages, cfg: cfg}
	w := httptest.NewRecorder()
	v := &viewer{account: store.ConsoleAccount{Name: "ada", Role: store.ConsoleAdmin}}
	if err := c.devicesPage(w, httptest.NewRequest("GET", "/console/devices", nil), v); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusOK {
		t.Fatalf("Kiosks page: %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// kioskRow returns the row of the kiosk with that ID on the Kiosks page.
func kioskRow(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<tr data-kiosk="`+id+`">`)
	if i < 0 {
		t.Fatalf("no row for %s:\n%s", id, page)
	}
	row, _, _ := strings.Cut(page[i:], "</tr>")
	return row
}

// TestKiosksPageShowsFailingCleanup: a kiosk whose agent reports its
// start-up clean-up failing (Config.KioskCleanup) is locked and signs
// nobody in, however healthy its channel looks: the Kiosks page says so on
// its row, since when and at which try, and says nothing on the others.
func TestKiosksPageShowsFailingCleanup(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	var kiosks []store.Device
	for _, name := range []string{"stuck", "fine"} {
		kiosks = append(kiosks, store.Device{ID: name, Name: name, Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, LastSeen: now})
	}
	body := kiosksPage(t, kiosks, Config{
		KioskOnline: func(string) bool { return true },
		KioskCleanup: func() map[string]KioskCleanup {
			return map[string]KioskCleanup{"stuck": {Since: now.Add(-time.Hour), Try: 42}}
		},
	})
	want := "clean-up failing since " + now.Add(-time.Hour).Format("2006-01-02 15:04:05Z") + ", try 42"
	if r := kioskRow(t, body, "stuck"); !strings.Contains(r, want) {
		t.Errorf("stuck's row %s\nhas no %q", r, want)
	}
	if r := kioskRow(t, body, "fine"); strings.Contains(r, "clean-up") {
		t.Errorf("fine's row %s\nsays its clean-up fails", r)
	}
}
