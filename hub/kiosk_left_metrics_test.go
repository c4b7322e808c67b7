package hub_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestKioskLeftAfterDaysOnline: a kiosk that stayed connected for two
// days and then left is away since it left, not since its channel
// opened: the hub marks the sighting as the channel ends (before it
// leaves the registry, see channel.Leaving). The first scrape that finds
// it gone must count it so already: with the sighting marked after the
// channel left the registry, a scrape in between counted it away for two
// days. That window is short, so this end-to-end run catches it only now
// and then; TestLeavingBeforeTheRegistryForgets (push) and
// TestKioskScrapeReadsConnectedFirst hold the order for certain.
func TestKioskLeftAfterDaysOnline(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	prom := h.Token(t, "prometheus", store.ScopeMetrics)
	scrape := func() string {
		t.Helper()
		r := h.DoToken(t, prom, "GET", "/metrics", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("/metrics: %d %s", r.Status, r.Body)
		}
		return string(r.Body)
	}
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	clock.Advance(2 * 24 * time.Hour)
	k.Conn.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		body := scrape()
		if strings.Contains(body, "\nshiftgate_kiosks_connected 0\n") {
			if want := `shiftgate_kiosks_offline{over="1h"} 0`; !strings.Contains(body, "\n"+want+"\n") {
				t.Errorf("the first scrape without the kiosk has no line %q:\n%s", want, grepLines(body, "shiftgate_kiosks_"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub still counts the closed kiosk connected:\n%s", grepLines(body, "shiftgate_kiosks_"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	clock.Advance(time.Minute)
	body := scrape()
	for _, want := range []string{"shiftgate_kiosks_disconnected 1", `shiftgate_kiosks_offline{over="1h"} 0`, `shiftgate_kiosks_offline{over="1d"} 0`} {
		if !strings.Contains(body, "\n"+want+"\n") {
			t.Errorf("no line %q in:\n%s", want, grepLines(body, "shiftgate_kiosks_"))
		}
	}
}
