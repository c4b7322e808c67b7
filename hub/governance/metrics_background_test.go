package governance_test

import (
	"context"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// slowAudit is a store whose audit reads, which every computation of the
// governance numbers makes, wait while it is blocked: a large hub's
// computation. A waiting read ends with its context, as SQLite's do.
type slowAudit struct {
	store.Store
	calls   atomic.Int64  // audit reads begun
	entered chan struct{} // gets a value when a read begins to wait

	mu   sync.Mutex
	gate chan struct{} // closed, or nil, when reads do not wait
}

func newSlowAudit(st store.Store) *slowAudit {
	return &slowAudit{Store: st, entered: make(chan struct{}, 1)}
}

func (s *slowAudit) block() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = make(chan struct{})
}

func (s *slowAudit) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

func (s *slowAudit) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	s.calls.Add(1)
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Store.ListAudit(ctx, q)
}

// scrapeGov scrapes reg and returns its samples by name (with labels)
// and how long the scrape took.
func scrapeGov(t *testing.T, reg *prometheus.Registry) (map[string]string, time.Duration) {
	t.Helper()
	start := time.Now()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	took := time.Since(start)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	got := map[string]string{}
	for line := range strings.Lines(rec.Body.String()) {
		if name, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(name, "#") {
			got[name] = v
		}
	}
	return got, took
}

// computedAt is shiftgate_governance_computed_timestamp_seconds in got.
func computedAt(t *testing.T, got map[string]string) float64 {
	t.Helper()
	v, ok := got["shiftgate_governance_computed_timestamp_seconds"]
	if !ok {
		t.Fatal("no shiftgate_governance_computed_timestamp_seconds")
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// promptScrape is well under Prometheus's default scrape timeout (10 s),
// which a scrape that waited for a computation as long as its limit (10 s)
// would reach.
const promptScrape = 5 * time.Second

// checkGoroutines fails t if, after its cleanups, more goroutines run than
// before it started (as hub/push's tests do).
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestMetricsScrapeDoesNotWaitForSlowComputation: a computation of the
// governance numbers as slow as a large hub's does not hold /metrics. A
// scrape that waited for it would pass Prometheus's scrape timeout, and
// Prometheus would mark the hub down (ShiftgateHubDown pages) while it is
// fine. The scrape says "never computed" (0, no numbers) and the numbers
// appear once the computation it started ends.
func TestMetricsScrapeDoesNotWaitForSlowComputation(t *testing.T) {
	e := newEnv(t, t0)
	st := newSlowAudit(e.st)
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(gov.Collector(governance.MetricsMaxAge))
	e.user("ann", []string{"north"}, nil)

	st.block()
	defer st.release()
	got, took := scrapeGov(t, reg)
	if took > promptScrape {
		t.Errorf("scrape during a slow computation took %v, want under %v", took, promptScrape)
	}
	if at := computedAt(t, got); at != 0 {
		t.Errorf("first scrape: computed at %v, want 0 (never)", at)
	}
	if v, ok := got["shiftgate_accounts"]; ok {
		t.Errorf("first scrape: shiftgate_accounts %s, want it absent until computed", v)
	}

	// The computation ends: its numbers are served, computed at t0.
	st.release()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ = scrapeGov(t, reg)
		if _, ok := got["shiftgate_accounts"]; ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no numbers after the computation ended: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if at := computedAt(t, got); at != float64(t0.Unix()) {
		t.Errorf("computed at %v, want %d", at, t0.Unix())
	}
	if got["shiftgate_accounts"] != "1" {
		t.Errorf("shiftgate_accounts %s, want 1 (ann)", got["shiftgate_accounts"])
	}
}

// TestMetricsComputedInBackground: while Run runs, the numbers are
// computed every maxAge without a scrape asking, so a scrape finds them
// fresh and waits for nothing; a slow computation leaves the last good
// numbers served promptly; when Run's context ends it cancels the
// computation in flight and returns, leaving no goroutine behind (the hub
// closes the store after).
func TestMetricsComputedInBackground(t *testing.T) {
	checkGoroutines(t)
	e := newEnv(t, t0)
	st := newSlowAudit(e.st)
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const every = 20 * time.Millisecond
	c := gov.Collector(every)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	e.user("ann", []string{"north"}, nil)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ran := make(chan struct{})
	go func() { defer close(ran); c.Run(ctx) }()

	// Nobody scrapes: Run computes nothing (a hub without Prometheus).
	time.Sleep(5 * every)
	if n := st.calls.Load(); n != 0 {
		t.Fatalf("Run read the audit trail %d times with no scrape, want 0", n)
	}
	// Once scraped, Run computes in the background without more scrapes.
	scrapeGov(t, reg)
	deadline := time.Now().Add(5 * time.Second)
	for st.calls.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Run read the audit trail %d times in 5 s, want it every %v", st.calls.Load(), every)
		}
		time.Sleep(every)
	}
	got, _ := scrapeGov(t, reg)
	if at := computedAt(t, got); at != float64(t0.Unix()) || got["shiftgate_accounts"] != "1" {
		t.Errorf("after background computations: computed at %v, shiftgate_accounts %q; want %d, 1", at, got["shiftgate_accounts"], t0.Unix())
	}

	// A slow computation (the clock moved, so the numbers are stale):
	// the scrape is prompt and serves the last good numbers.
	st.block()
	defer st.release()
	e.at(t0.Add(time.Hour))
	select {
	case <-st.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no computation began")
	}
	got, took := scrapeGov(t, reg)
	if took > promptScrape {
		t.Errorf("scrape during a slow computation took %v, want under %v", took, promptScrape)
	}
	if at := computedAt(t, got); at != float64(t0.Unix()) || got["shiftgate_accounts"] != "1" {
		t.Errorf("during a slow computation: computed at %v, shiftgate_accounts %q; want the last good ones, %d, 1", at, got["shiftgate_accounts"], t0.Unix())
	}

	// The hub stops: Run cancels the computation it waits on and returns.
	cancel()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	// After Run, a scrape starts no computation: the store may be closed.
	calls := st.calls.Load()
	got, _ = scrapeGov(t, reg)
	if at := computedAt(t, got); at != float64(t0.Unix()) {
		t.Errorf("after Run: computed at %v, want the last good, %d", at, t0.Unix())
	}
	if n := st.calls.Load(); n != calls {
		t.Errorf("a scrape after Run read the audit trail %d times, want 0", n-calls)
	}
}
