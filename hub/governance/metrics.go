package governance

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsMaxAge is how long /metrics reuses computed numbers: scrapes stay
// cheap however often they come.
const MetricsMaxAge = 30 * time.Second

// metricsTimeout bounds one computation during a scrape.
const metricsTimeout = 10 * time.Second

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
	descOrphanRate = prometheus.NewDesc("shiftgate_orphaned_account_rate",
		"Orphaned accounts over accounts that can hold access; absent when there are no accounts.", nil, nil)
	descOrphans = prometheus.NewDesc("shiftgate_orphaned_accounts",
		"Accounts with an orphaned finding.", nil, nil)
	descAccounts = prometheus.NewDesc("shiftgate_accounts",
		"Accounts that can hold access: active or pending users, users with an active credential or a live kiosk session, and enabled web-console accounts.", nil, nil)
	descReviewRate = prometheus.NewDesc("shiftgate_access_review_completion_rate",
		"Share of the review items of campaigns past their due date that were decided by it; absent when no campaign is due.", nil, nil)
	descReviewDue = prometheus.NewDesc("shiftgate_access_review_items_due",
		"Review items of campaigns past their due date.", nil, nil)
	// The numbers are served from a cache, and the last good ones when a
	// computation fails: without their age an alert on them (an orphan,
	// a stuck leaver) would look at numbers that stopped moving.
	descComputed = prometheus.NewDesc("shiftgate_governance_computed_timestamp_seconds",
		"When the governance numbers served were computed, as a Unix time (0 while none has been): at most every 30 s; a failed computation (logged) leaves the last good ones. Alert when it stops moving.", nil, nil)
)

// collector exports the four numbers, computed at most once per maxAge.
type collector struct {
	s      *Service
	maxAge time.Duration

	mu  sync.Mutex
	at  time.Time
	rep *Report
}

// Collector returns a Prometheus collector of the four numbers that
// recomputes them at most once per maxAge (on the Service's clock). A
// failed computation is logged and the last good numbers are served, with
// shiftgate_governance_computed_timestamp_seconds saying when they were
// computed.
func (s *Service) Collector(maxAge time.Duration) prometheus.Collector {
	return &collector{s: s, maxAge: maxAge}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTTP, descTTD, descTTPPending, descTTDPending, descOrphanRate, descOrphans, descAccounts, descReviewRate, descReviewDue, descComputed} {
		ch <- d
	}
}

func (c *collector) report() *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.s.now()
	if c.rep != nil && now.Sub(c.at) < c.maxAge && !now.Before(c.at) {
		return c.rep
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	rep, err := c.s.Numbers(ctx)
	if err != nil {
		c.s.cfg.Logger.Error("governance metrics", "err", err)
		return c.rep
	}
	c.rep, c.at = &rep, now
	return c.rep
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
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
		gauge(descOrphanRate, *rep.OrphanedAccountRate)
	}
	gauge(descOrphans, float64(rep.Counts.OrphanedAccounts))
	gauge(descAccounts, float64(rep.Counts.Accounts))
	if rep.AccessReviewCompletionRate != nil {
		gauge(descReviewRate, *rep.AccessReviewCompletionRate)
	}
	gauge(descReviewDue, float64(rep.Counts.ReviewItemsDue))
	gauge(descComputed, float64(rep.GeneratedAt.UnixNano())/1e9)
}
