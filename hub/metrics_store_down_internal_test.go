package hub

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shiftgate/shiftgate/hub/hubtest/clock"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// errDiskIO stands for a store that cannot be read.
var errDiskIO = errors.New("disk I/O error")

// flakyTokens is a token table whose reads fail while fail is set.
type flakyTokens struct {
	store.TokenOps
	ts   []store.Token
	fail atomic.Bool
}

func (f *flakyTokens) ListTokens(context.Context) ([]store.Token, error) {
	if f.fail.Load() {
		return nil, errDiskIO
	}
	return f.ts, nil
}

// scrapeText returns what a scrape of c alone serves, in the text format,
// checked by a pedantic registry (every series described).
func scrapeText(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// wantLines reports each line of want missing from the scrape body.
func wantLines(t *testing.T, when, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, "\n"+w+"\n") {
			t.Errorf("%s: no line %q in:\n%s", when, w, body)
		}
	}
}

// TestTokenMetricsOutliveAFailedRead: when the token table cannot be read,
// a scrape serves the token expiries of the last good read instead of
// none. Series that vanish end ShiftgateAPITokenExpiring (no series, no
// alert) just when something is wrong; the read's time,
// shiftgate_api_tokens_read_timestamp_seconds, stops moving instead, for
// ShiftgateStoreMetricsStale. It is 0 on a hub that never read them.
func TestTokenMetricsOutliveAFailedRead(t *testing.T) {
	clk := clock.New(time.Unix(1_800_000_000, 0))
	st := &flakyTokens{ts: []store.Token{
		{ID: "t1", Name: "okta", Scope: store.ScopeSCIM, Expires: time.Unix(1_800_600_000, 0)},
		{ID: "t2", Name: "legacy", Scope: store.ScopeSCIM},
	}}
	c := &tokenCollector{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: clk.Now}
	good := []string{
		`shiftgate_api_token_expiry_timestamp_seconds{id="t1",name="okta",scope="scim"} 1.8006e+09`,
		"shiftgate_api_tokens_without_expiry 1",
		"shiftgate_api_tokens_read_timestamp_seconds 1.8e+09",
	}
	wantLines(t, "first scrape", scrapeText(t, c), good...)

	st.fail.Store(true)
	clk.Advance(time.Hour)
	wantLines(t, "scrape with the store down", scrapeText(t, c), good...)

	st.fail.Store(false)
	wantLines(t, "scrape with the store back", scrapeText(t, c), "shiftgate_api_tokens_read_timestamp_seconds 1.8000036e+09")

	never := &tokenCollector{st: st, log: c.log, now: clk.Now}
	st.fail.Store(true)
	wantLines(t, "scrape of a hub that never read its tokens", scrapeText(t, never), "shiftgate_api_tokens_read_timestamp_seconds 0")
}

// TestKioskMetricsOutliveAFailedRead: when the device table cannot be
// read, the kiosk counts are the last good ones instead of vanishing or
// falling to 0, and
// shiftgate_kiosks_listed_timestamp_seconds stops moving. A kiosk whose
// leaving is not yet in the store counts from when it left, not from when
// its channel opened.
func TestKioskMetricsOutliveAFailedRead(t *testing.T) {
	clk := clock.New(time.Unix(1_800_000_000, 0))
	now := clk.Now()
	ds := []store.Device{
		{ID: "on", State: store.DeviceActive, Created: now.Add(-30 * 24 * time.Hour), LastSeen: now.Add(-20 * 24 * time.Hour)},
		{ID: "away-2h", State: store.DeviceActive, Created: now.Add(-30 * 24 * time.Hour), LastSeen: now.Add(-2 * time.Hour)},
		// Enrolled 3 days ago, never seen: away since its enrolment.
		{ID: "never-seen", State: store.DeviceActive, Created: now.Add(-3 * 24 * time.Hour)},
		// Stored when its channel opened, 10 days ago; it left a
		// second ago, which is only in memory yet.
		{ID: "just-left", State: store.DeviceActive, Created: now.Add(-30 * 24 * time.Hour), LastSeen: now.Add(-10 * 24 * time.Hour)},
		{ID: "disabled", State: store.DeviceDisabled, Created: now.Add(-30 * 24 * time.Hour), LastSeen: now.Add(-9 * 24 * time.Hour)},
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, d := range ds {
		d.Name = d.ID
		if _, err := db.CreateDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	var fail atomic.Bool
	c := &kioskCollector{
		counts: func(ctx context.Context, q store.DeviceCountQuery) (store.DeviceCounts, error) {
			if fail.Load() {
				return store.DeviceCounts{}, errDiskIO
			}
			return db.CountDevices(ctx, q)
		},
		connected: func() []string { return []string{"on"} },
		seen:      &lastSeen{},
		now:       clk.Now,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	c.seen.mark("just-left", now.Add(-time.Second))
	counts := []string{
		"shiftgate_kiosks_enrolled 4",
		"shiftgate_kiosks_disconnected 3",
		`shiftgate_kiosks_offline{over="1h"} 2`,
		`shiftgate_kiosks_offline{over="1d"} 1`,
		`shiftgate_kiosks_offline{over="7d"} 0`,
	}
	wantLines(t, "first scrape", scrapeText(t, c), append(counts, "shiftgate_kiosks_listed_timestamp_seconds 1.8e+09")...)

	fail.Store(true)
	clk.Advance(time.Minute)
	wantLines(t, "scrape with the store down", scrapeText(t, c), append(counts, "shiftgate_kiosks_listed_timestamp_seconds 1.8e+09")...)
}
