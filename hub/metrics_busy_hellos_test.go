package hub_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// The hellos refused in a reconnect storm are counted on /metrics from
// the start, at 0, as a counter: an operator sees a storm the hub sheds
// (and increase() sees its first refusals), not only warnings in the log.
func TestMetricsCountBusyHellos(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r := h.API(t, "GET", "/metrics", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", r.Status, r.Body)
	}
	body := string(r.Body)
	for _, line := range []string{
		"# TYPE shiftgate_kiosk_hellos_refused_busy_total counter\n",
		"\nshiftgate_kiosk_hellos_refused_busy_total 0\n",
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics has no line %q", strings.TrimSpace(line))
		}
	}
}
