package governance_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// TestMetricsNeverComputedSayZero: a hub whose governance numbers have
// failed since it started (a store it cannot read, a computation past its
// limit on a large hub) still exports
// shiftgate_governance_computed_timestamp_seconds, as 0. Without the series
// ShiftgateGovernanceNumbersStale (time() - it > 600) has nothing to
// compare and never fires, in just the case it is there for; the numbers
// themselves stay absent, so no other alert fires on a made-up zero.
func TestMetricsNeverComputedSayZero(t *testing.T) {
	e := newEnv(t, t0)
	st := &failingAudit{Store: e.st}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(gov.Collector(governance.MetricsMaxAge))
	scrape := func() map[string]string {
		t.Helper()
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
		}
		got := map[string]string{}
		for line := range strings.Lines(rec.Body.String()) {
			if name, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(name, "#") {
				got[name] = v
			}
		}
		return got
	}

	e.user("ann", []string{"north"}, nil)
	st.fail.Store(true)
	got := scrape()
	if v, ok := got["shiftgate_governance_computed_timestamp_seconds"]; !ok || v != "0" {
		t.Errorf("never computed: shiftgate_governance_computed_timestamp_seconds %q (present %v), want 0", v, ok)
	}
	for _, n := range []string{"shiftgate_orphaned_accounts", "shiftgate_deprovision_pending", "shiftgate_accounts"} {
		if v, ok := got[n]; ok {
			t.Errorf("never computed: %s %s, want it absent (not a made-up 0)", n, v)
		}
	}

	// The store recovers: the numbers and when they were computed.
	st.fail.Store(false)
	e.at(t0.Add(time.Minute))
	got = scrape()
	if v, _ := strconv.ParseFloat(got["shiftgate_governance_computed_timestamp_seconds"], 64); v != float64(t0.Add(time.Minute).Unix()) {
		t.Errorf("recovered: computed at %v, want %d", v, t0.Add(time.Minute).Unix())
	}
	if _, ok := got["shiftgate_accounts"]; !ok {
		t.Error("recovered: no shiftgate_accounts")
	}
}
