package governance_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// failingAudit is a store whose audit reads fail while fail is set.
type failingAudit struct {
	store.Store
	fail atomic.Bool
}

func (s *failingAudit) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	if s.fail.Load() {
		return nil, errors.New("disk I/O error")
	}
	return s.Store.ListAudit(ctx, q)
}

// TestMetricsSayWhenComputed: /metrics serves the governance numbers
// computed at most every 30 s and, when a computation fails, the last
// good ones. The alerts on them (ShiftgateOrphanedAccounts,
// ShiftgateDeprovisionPending) then look at numbers that no longer move:
// an orphan or a stuck leaver that appears meanwhile never fires. So the
// numbers carry when they were computed
// (shiftgate_governance_computed_timestamp_seconds), which an alert can
// watch as it watches shiftgate_audit_checked_timestamp_seconds.
func TestMetricsSayWhenComputed(t *testing.T) {
	e := newEnv(t, t0)
	st := &failingAudit{Store: e.st}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(gov.Collector(governance.MetricsMaxAge))
	computed := func() (float64, bool) {
		t.Helper()
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
		}
		for line := range strings.Lines(rec.Body.String()) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "shiftgate_governance_computed_timestamp_seconds "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				return f, true
			}
		}
		return 0, false
	}

	e.user("ann", []string{"north"}, nil)
	if at, ok := computed(); !ok || at != float64(t0.Unix()) {
		t.Fatalf("first scrape: computed at %v (%v), want %d", at, ok, t0.Unix())
	}
	// Within the cache's age the same numbers, computed then.
	e.at(t0.Add(10 * time.Second))
	if at, _ := computed(); at != float64(t0.Unix()) {
		t.Errorf("cached: computed at %v, want %d", at, t0.Unix())
	}
	// The store fails: the last good numbers are served, and say so.
	st.fail.Store(true)
	e.at(t0.Add(10 * time.Minute))
	if at, ok := computed(); !ok || at != float64(t0.Unix()) {
		t.Errorf("after a failed computation: computed at %v (%v), want the last good one, %d", at, ok, t0.Unix())
	}
	st.fail.Store(false)
	e.at(t0.Add(11 * time.Minute))
	if at, _ := computed(); at != float64(t0.Add(11*time.Minute).Unix()) {
		t.Errorf("recovered: computed at %v, want %d", at, t0.Add(11*time.Minute).Unix())
	}
}
