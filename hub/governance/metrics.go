package governance

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsMaxAge is how long /metrics reuses computed numbers, and how often
// the hub computes them in the background: scrapes stay cheap however often
// they come.
const MetricsMaxAge = 30 * time.Second

// metricsTimeout bounds one computation.
const metricsTimeout = 10 * time.Second

// scrapeWait is how long a scrape that finds the numbers older than the
// collector's maxAge waits for the computation it started. The numbers are
// computed off the scrape, so a slow one on a large hub never holds a scrape
// past Prometheus's timeout (10 s by default): a scrape that times out
// marks the hub down and pages ShiftgateHubDown while the hub is fine. A
// quick computation (a small hub, the first scrape after a start) is still
// served fresh.
const scrapeWait = time.Second

// watchedFor is how long after a scrape Run goes on computing the numbers
// in the background: a hub nobody scrapes (no Prometheus) is not kept
// computing numbers nobody reads, and one scraped at any usual interval
// (15 s to a few minutes) has them fresh at every scrape.
const watchedFor = 10 * time.Minute

// Metric descriptions; every name is prefixed shiftgate_.
var (
	descTTP = prometheus.NewDesc("shiftgate_time_to_provision_seconds",
		"Joiner (SCIM create of an active user, activation of one created inactive, re-hire; or the start date when later) to able to sign in (active, a site and a role or a running grant, a credential). Quantile 1 is the maximum.", nil, nil)
	descTTD = prometheus.NewDesc("shiftgate_time_to_deprovision_seconds",
		"Leaver event (SCIM deactivation or deletion, or the end date the hub held) to the last kiosk acknowledgement of the sessions it ended (or the disabling of a kiosk that never acknowledged). Quantile 1 is the maximum.", nil, nil)
	descTTPPending = prometheus.NewDesc("shiftgate_provision_pending",
		"Joiners whose clock has started (requested, start date reached) who cannot sign in yet.", nil, nil)
	descTTDPending = prometheus.NewDesc("shiftgate_deprovision_pending",
		"Leavers with a kiosk session teardown not yet acknowledged (the kiosk being disabled since ends the wait).", nil, nil)
	descOrphanRatio = prometheus.NewDesc("shiftgate_orphaned_account_ratio",
		"Orphaned accounts over accounts that can hold access, 0 to 1; absent when there are no accounts.", nil, nil)
	// The _rate names came first; Prometheus's naming rules keep _rate for
	// per-second rates and call a share a _ratio. Both are served, with
	// the same value, until the _rate names are removed: dashboards and
	// the auditors' queries move over meanwhile.
	descOrphanRate = prometheus.NewDesc("shiftgate_orphaned_account_rate",
		"Deprecated: shiftgate_orphaned_account_ratio, under its old name (to be removed).", nil, nil)
	descOrphans = prometheus.NewDesc("shiftgate_orphaned_accounts",
		"Accounts with an orphaned finding.", nil, nil)
	descAccounts = prometheus.NewDesc("shiftgate_accounts",
		"Accounts that can hold access: active or pending users, users with an active credential or a live kiosk session, and enabled web-console accounts.", nil, nil)
	descReviewRatio = prometheus.NewDesc("shiftgate_access_review_completion_ratio",
		"Share of the review items of campaigns past their due date that were decided by it, 0 to 1; absent when no campaign is due.", nil, nil)
	descReviewRate = prometheus.NewDesc("shiftgate_access_review_completion_rate",
		"Deprecated: shiftgate_access_review_completion_ratio, under its old name (to be removed).", nil, nil)
	descReviewDue = prometheus.NewDesc("shiftgate_access_review_items_due",
		"Review items of campaigns past their due date.", nil, nil)
	// The numbers are served from a cache, and the last good ones when a
	// computation fails: without their age an alert on them (an orphan,
	// a stuck leaver) would look at numbers that stopped moving.
	descComputed = prometheus.NewDesc("shiftgate_governance_computed_timestamp_seconds",
		"When the governance numbers served were computed, as a Unix time (0 while none has been): at most every 30 s; a failed computation (logged) leaves the last good ones. Alert when it stops moving.", nil, nil)
)

// Collector exports the four numbers. They are computed off the scrape:
// every maxAge while Run runs and scrapes come, and when a scrape finds
// them older than maxAge (on the Service's clock), which then waits at
// most scrapeWait for them: numbers asked for after a change (the first scrape after a
// start, an operator checking) are fresh when they are quick to compute,
// and never cost a scrape more than scrapeWait. A scrape serves the last
// good numbers; a failed computation is logged and leaves them, with
// shiftgate_governance_computed_timestamp_seconds saying when they were
// computed (0 while none has been).
type Collector struct {
	s      *Service
	maxAge time.Duration
	// ctx is the parent of every computation; stop ends it (Run, when its
	// context ends), so no computation outlives the hub that runs it.
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // computations in flight
	// scraped is when a scrape last asked for the numbers (UnixNano of
	// the real clock, as Run's ticker), 0 before the first: Run computes
	// only while scrapes come (watchedFor).
	scraped atomic.Int64

	mu      sync.Mutex
	at      time.Time // on the Service's clock, when rep's computation began
	rep     *Report
	busy    chan struct{} // closed when the computation in flight ends; nil when none
	stopped bool
}

// Collector returns a Prometheus collector of the four numbers, recomputed
// at most once per maxAge by a scrape and every maxAge while its Run runs
// and scrapes come.
func (s *Service) Collector(maxAge time.Duration) *Collector {
	ctx, stop := context.WithCancel(context.Background())
	return &Collector{s: s, maxAge: maxAge, ctx: ctx, stop: stop}
}

// Run computes the numbers every maxAge, while scrapes come (one in the
// last watchedFor), until ctx ends, then cancels any
// computation in flight and returns once it has ended: the caller may
// close the store after. The first computation waits one interval: a hub
// just started (or a test) is not kept busy by numbers nobody has asked
// for, and the first scrape asks for them. Run is called at most once;
// after it returns, scrapes serve the last good numbers and compute no
// more.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.maxAge)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.mu.Lock()
			c.stopped = true // no computation starts after the Wait below
			c.mu.Unlock()
			c.stop()
			c.wg.Wait()
			return
		case <-t.C:
		}
		if last := c.scraped.Load(); last == 0 || time.Since(time.Unix(0, last)) > watchedFor {
			continue // nobody reads them
		}
		c.mu.Lock()
		c.refreshLocked()
		c.mu.Unlock()
	}
}

// refreshLocked starts a computation unless one is in flight or Run has
// ended, and returns a channel closed when the one in flight ends (nil
// when none is). c.mu must be held.
func (c *Collector) refreshLocked() <-chan struct{} {
	if c.busy == nil && !c.stopped {
		done := make(chan struct{})
		c.busy = done
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer close(done)
			c.compute()
		}()
	}
	return c.busy
}

// compute computes the numbers and keeps them if it succeeds.
func (c *Collector) compute() {
	now := c.s.now()
	ctx, cancel := context.WithTimeout(c.ctx, metricsTimeout)
	defer cancel()
	rep, err := c.s.Numbers(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = nil
	switch {
	case err == nil:
		c.rep, c.at = &rep, now
	case c.ctx.Err() == nil: // not the hub shutting down
		c.s.cfg.Logger.Error("governance metrics", "err", err)
	}
}

// Describe sends the descriptions of every series Collect may send.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTTP, descTTD, descTTPPending, descTTDPending, descOrphanRatio, descOrphanRate, descOrphans, descAccounts,
		descReviewRatio, descReviewRate, descReviewDue, descComputed} {
		ch <- d
	}
}

// report returns the last good numbers, nil while none has been computed.
// When they are older than maxAge it starts a computation and waits at
// most scrapeWait for it.
func (c *Collector) report() *Report {
	c.scraped.Store(time.Now().UnixNano())
	c.mu.Lock()
	now := c.s.now()
	var done <-chan struct{}
	if c.rep == nil || now.Sub(c.at) >= c.maxAge || now.Before(c.at) {
		done = c.refreshLocked()
	}
	c.mu.Unlock()
	if done != nil {
		t := time.NewTimer(scrapeWait)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rep
}

// Collect sends the last good numbers and when they were computed; it
// waits at most scrapeWait for a computation.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	rep := c.report()
	if rep == nil {
		// Nothing computed since the start (logged): no numbers, but
		// when they were computed is "never", 0, as the audit watch's
		// timestamp before its first check. Without the series the
		// alert on numbers that stopped moving would have nothing to
		// compare, and never fire on a hub that fails from the start.
		ch <- prometheus.MustNewConstMetric(descComputed, prometheus.GaugeValue, 0)
		return
	}
	summary := func(desc *prometheus.Desc, d Durations) {
		q := map[float64]float64{}
		if d.Count > 0 {
			q[0.5], q[0.95], q[1] = *d.P50, *d.P95, *d.Max
		}
		ch <- prometheus.MustNewConstSummary(desc, uint64(d.Count), d.Sum, q)
	}
	gauge := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
	}
	summary(descTTP, rep.TimeToProvision)
	summary(descTTD, rep.TimeToDeprovision)
	gauge(descTTPPending, float64(rep.TimeToProvision.Pending))
	gauge(descTTDPending, float64(rep.TimeToDeprovision.Pending))
	if rep.OrphanedAccountRate != nil {
		gauge(descOrphanRatio, *rep.OrphanedAccountRate)
		gauge(descOrphanRate, *rep.OrphanedAccountRate)
	}
	gauge(descOrphans, float64(rep.Counts.OrphanedAccounts))
	gauge(descAccounts, float64(rep.Counts.Accounts))
	if rep.AccessReviewCompletionRate != nil {
		gauge(descReviewRatio, *rep.AccessReviewCompletionRate)
		gauge(descReviewRate, *rep.AccessReviewCompletionRate)
	}
	gauge(descReviewDue, float64(rep.Counts.ReviewItemsDue))
	gauge(descComputed, float64(rep.GeneratedAt.UnixNano())/1e9)
}
