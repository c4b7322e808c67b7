package hub_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestKiosksOfflineMetrics: /metrics counts the enrolled kiosks that are
// not connected, and those away for longer than an hour, a day and a
// week, for as long as they stay away. shiftgate_kiosks_connected compared
// with its maximum over the last hour (what ShiftgateKiosksDisconnected
// did) forgets a kiosk an hour after it left, yet a kiosk away for a day
// is the one that matters most: it misses every revocation. A disabled
// kiosk is not counted: disabling a retired kiosk ends the alert.
func TestKiosksOfflineMetrics(t *testing.T) {
	h, clock, scrape := metricsHub(t)
	gone := h.EnrollKiosk(t, "north-1", "north")
	stays := h.EnrollKiosk(t, "north-2", "north")
	retired := h.EnrollKiosk(t, "north-3", "north")
	gone.Dial("")
	stays.Dial("")
	gone.Conn.Close()
	// The hub notes the kiosk left (and when, on the test's clock) once
	// it reads the closed connection.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(scrape(), "\nshiftgate_kiosks_connected 1\n"); {
		if time.Now().After(deadline) {
			t.Fatalf("the hub still counts the closed kiosk connected:\n%s", grepLines(scrape(), "shiftgate_kiosks_"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := h.API(t, "POST", "/api/v1/devices/"+retired.ID+"/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable %s: %d %s", retired.ID, r.Status, r.Body)
	}

	for _, c := range []struct {
		after time.Duration
		want  []string
	}{
		{time.Minute, []string{`shiftgate_kiosks_offline{over="1h"} 0`, `shiftgate_kiosks_offline{over="1d"} 0`}},
		{2 * time.Hour, []string{`shiftgate_kiosks_offline{over="1h"} 1`, `shiftgate_kiosks_offline{over="1d"} 0`}},
		// Two days on, long past any one-hour window, it still counts.
		{2 * 24 * time.Hour, []string{`shiftgate_kiosks_offline{over="1h"} 1`, `shiftgate_kiosks_offline{over="1d"} 1`, `shiftgate_kiosks_offline{over="7d"} 0`}},
	} {
		clock.Advance(c.after)
		body := scrape()
		for _, want := range append(c.want, "shiftgate_kiosks_enrolled 2", "shiftgate_kiosks_disconnected 1", "shiftgate_kiosks_connected 1") {
			if !strings.Contains(body, "\n"+want+"\n") {
				t.Errorf("after %v: no line %q in:\n%s", c.after, want, grepLines(body, "shiftgate_kiosks_"))
			}
		}
	}
}

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
	h, clock, scrape := metricsHub(t)
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

// metricsHub starts a hub on a test clock, with scrape reading its
// /metrics as Prometheus would.
func metricsHub(t *testing.T) (*hubtest.Hub, *hubtest.Clock, func() string) {
	t.Helper()
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	prom := h.Token(t, "prometheus", store.ScopeMetrics)
	return h, clock, func() string {
		t.Helper()
		r := h.DoToken(t, prom, "GET", "/metrics", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("/metrics: %d %s", r.Status, r.Body)
		}
		return string(r.Body)
	}
}
