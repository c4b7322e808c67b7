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

// TestKiosksPageShowsFailingCleanup: a kiosk whose agent reports its
// start-up clean-up failing (Config.KioskCleanup) is locked and signs
// nobody in, however healthy its channel looks: the Kiosks page says so on
// its row, since when and at which try, and says nothing on the others.
func TestKiosksPageShowsFailingCleanup(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, name := range []string{"stuck", "fine"} {
		d := store.Device{ID: name, Name: name, Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, LastSeen: now}
		if _, err := db.CreateDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	c := &Console{st: db, pages: pages, cfg: Config{
		Store:       db,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		KioskOnline: func(string) bool { return true },
		KioskCleanup: func() map[string]KioskCleanup {
			return map[string]KioskCleanup{"stuck": {Since: now.Add(-time.Hour), Try: 42}}
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
	row := func(id string) string {
		i := strings.Index(body, `<tr data-kiosk="`+id+`">`)
		if i < 0 {
			t.Fatalf("no row for %s:\n%s", id, body)
		}
		r, _, _ := strings.Cut(body[i:], "</tr>")
		return r
	}
	want := "clean-up failing since " + now.Add(-time.Hour).Format("2006-01-02 15:04:05Z") + ", try 42"
	if r := row("stuck"); !strings.Contains(r, want) {
		t.Errorf("stuck's row %s\nhas no %q", r, want)
	}
	if r := row("fine"); strings.Contains(r, "clean-up") {
		t.Errorf("fine's row %s\nsays its clean-up fails", r)
	}
}
