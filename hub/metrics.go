package hub

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// metrics are the hub's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg *prometheus.Registry
	// collectors are those registered with reg, to list what the hub can
	// export (a vector without children exports nothing until it has one).
	collectors []prometheus.Collector
	ackDelay   prometheus.Histogram
	logins     *prometheus.CounterVec
	loginTime  prometheus.Histogram
	connected  prometheus.GaugeFunc
	busyHellos prometheus.CounterFunc
}

// newMetrics builds the registry: connected counts the open device
// channels, busyHellos the hellos refused in a reconnect storm
// (push.Hub.BusyHellos); extra collectors (the governance numbers) are
// registered with the hub's own.
func newMetrics(connected, busyHellos func() float64, extra ...prometheus.Collector) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.ackDelay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "shiftgate_revocation_ack_seconds",
		Help:    "Time from a session.revoke push to the kiosk's acknowledgement that the session is torn down.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shiftgate_kiosk_logins_total",
		Help: "Kiosk login attempts by result: granted, or the refusal code.",
	}, []string{"result"})
	// Every result a login can have is exported from the start, at 0. A
	// child that appears only with its first increment is invisible to
	// increase() and rate() until its second sample: the first burst of
	// invalid assertions after a start would not set off
	// ShiftgateInvalidAssertions (deploy/prometheus-rules.yml).
	for _, r := range []string{"granted", wire.RefusedNotRecognised, wire.RefusedNotAllowedHere, wire.RefusedOutsideShift,
		wire.RefusedVerifyRequired, wire.RefusedChallengeExpire, wire.RefusedInvalid} {
		m.logins.WithLabelValues(r)
	}
	m.loginTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "shiftgate_kiosk_login_seconds",
		Help:    "Time the hub takes to decide a kiosk's login, granted or refused: the assertion check, the policy decision and the commit of the session and its audit record.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.connected = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shiftgate_kiosks_connected",
		Help: "Kiosks with an open device channel.",
	}, connected)
	m.busyHellos = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "shiftgate_kiosk_hellos_refused_busy_total",
		Help: "Kiosk hellos refused because the hub was working on as many as it takes at once (a reconnect storm); the kiosks retry with backoff.",
	}, busyHellos)
	m.collectors = append([]prometheus.Collector{m.ackDelay, m.logins, m.loginTime, m.connected, m.busyHellos,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}, extra...)
	m.reg.MustRegister(m.collectors...)
	return m
}

func (m *metrics) observeAck(d time.Duration) { m.ackDelay.Observe(d.Seconds()) }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// tokenCollector exports when each API token expires, so that monitoring
// can alert before an identity provider's SCIM secret or a scraper's token
// stops working (shiftgate_api_token_expiry_timestamp_seconds - time() <
// 14 days), and how many tokens never expire. It reads the token table,
// which holds a handful of rows, on every scrape. A failed read is logged
// and the series of the last good one are served again, with
// shiftgate_api_tokens_read_timestamp_seconds saying when it was read, as
// the governance numbers do: series that vanished with the read would end
// ShiftgateAPITokenExpiring just when the hub cannot read its store.
type tokenCollector struct {
	st  store.TokenOps
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	last []prometheus.Metric // the series of the last good read
	read time.Time           // when last was read, zero before
}

var (
	tokenExpiryDesc = prometheus.NewDesc("shiftgate_api_token_expiry_timestamp_seconds",
		"When each API token expires, as a Unix time: alert well before it. Revoked tokens are left out, and so are those a rotation replaced with a token still in use; tokens that never expire are counted in shiftgate_api_tokens_without_expiry.",
		[]string{"id", "name", "scope"}, nil)
	tokenNeverDesc = prometheus.NewDesc("shiftgate_api_tokens_without_expiry",
		"API tokens, not revoked, from before tokens expired: they never expire; rotate them (shiftgate-hub token rotate).", nil, nil)
	tokenReadDesc = prometheus.NewDesc("shiftgate_api_tokens_read_timestamp_seconds",
		"When the tokens the token metrics describe were read, as a Unix time (0 while none has been): a failed read (logged) leaves the last good ones. Alert when it stops moving.", nil, nil)
)

// tokenMetricsTimeout bounds the token read of one scrape.
const tokenMetricsTimeout = 5 * time.Second

func (*tokenCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tokenExpiryDesc
	ch <- tokenNeverDesc
	ch <- tokenReadDesc
}

func (c *tokenCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenMetricsTimeout)
	defer cancel()
	ts, err := c.st.ListTokens(ctx)
	c.mu.Lock()
	if err != nil {
		c.log.Error("token metrics", "err", err)
	} else {
		c.last, c.read = tokenMetrics(ts), c.now()
	}
	last, read := c.last, c.read
	c.mu.Unlock()
	for _, m := range last {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(tokenReadDesc, prometheus.GaugeValue, unixSeconds(read))
}

// tokenMetrics returns the series that describe ts.
func tokenMetrics(ts []store.Token) []prometheus.Metric {
	var ms []prometheus.Metric
	never := 0
	byID := token.ByID(ts)
	for _, t := range ts {
		switch {
		case !t.Revoked.IsZero():
		case t.Expires.IsZero():
			never++
		case token.Succeeded(t, byID):
			// Rotated, its successor in use: the successor's expiry is the
			// one to alert on, and this one ending (the overlap) is the
			// rotation's plan, not a coming outage.
		default:
			// A name stored before names were checked may not be UTF-8,
			// which no label value may be: the token is still exported
			// (its id is the label that matters), its name made valid.
			name := strings.ToValidUTF8(t.Name, "\uFFFD")
			ms = append(ms, prometheus.MustNewConstMetric(tokenExpiryDesc, prometheus.GaugeValue, float64(t.Expires.Unix()), t.ID, name, t.Scope))
		}
	}
	return append(ms, prometheus.MustNewConstMetric(tokenNeverDesc, prometheus.GaugeValue, float64(never)))
}

// watchCollector exports what the audit watch (audit.Watcher) found, for
// alerts: any increase of shiftgate_audit_chain_breaks_total, and a
// shiftgate_audit_checked_seq that goes down (the trail was cut short or
// replaced, found again by the watch after a restart) or a
// shiftgate_audit_checked_timestamp_seconds that stops moving (the watch
// stopped, or cannot read the trail). A monitoring system that keeps
// these keeps an anchor of the trail's length off the hub.
type watchCollector struct{ w *audit.Watcher }

var (
	watchSeqDesc = prometheus.NewDesc("shiftgate_audit_checked_seq",
		"Sequence number of the newest audit record the hub's audit watch checked: it only grows while the trail is whole.", nil, nil)
	watchTimeDesc = prometheus.NewDesc("shiftgate_audit_checked_timestamp_seconds",
		"When the audit watch last completed a check, as a Unix time; 0 before the first.", nil, nil)
	watchBreaksDesc = prometheus.NewDesc("shiftgate_audit_chain_breaks_total",
		"Breaks the audit watch found in the trail since the hub started: records changed, removed or cut off (each also logged and recorded as audit.alert).", nil, nil)
	watchBrokenAtDesc = prometheus.NewDesc("shiftgate_audit_last_break_timestamp_seconds",
		"When the audit watch last found a break in the trail, as a Unix time; 0 when it found none since the hub started. Unlike the counter, it changes when a restarted hub finds a break at once.", nil, nil)
	watchStoppedDesc = prometheus.NewDesc("shiftgate_audit_watch_stopped",
		"1 when the audit watch stopped because the trail does not verify: run shiftgate-hub audit verify.", nil, nil)
)

func (watchCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- watchSeqDesc
	ch <- watchTimeDesc
	ch <- watchBreaksDesc
	ch <- watchBrokenAtDesc
	ch <- watchStoppedDesc
}

func (c watchCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.w.Status()
	var stopped float64
	at := unixSeconds(st.CheckedAt)
	if st.Stopped != "" {
		stopped = 1
	}
	if st.Checked.Seq > 0 || !st.CheckedAt.IsZero() {
		// Before the first check of a hub without audit.head the
		// newest record checked is unknown, not 0: a 0 would set off
		// the alert on a seq that goes down.
		ch <- prometheus.MustNewConstMetric(watchSeqDesc, prometheus.GaugeValue, float64(st.Checked.Seq))
	}
	ch <- prometheus.MustNewConstMetric(watchTimeDesc, prometheus.GaugeValue, at)
	ch <- prometheus.MustNewConstMetric(watchBreaksDesc, prometheus.CounterValue, float64(st.Breaks))
	ch <- prometheus.MustNewConstMetric(watchBrokenAtDesc, prometheus.GaugeValue, unixSeconds(st.BrokenAt))
	ch <- prometheus.MustNewConstMetric(watchStoppedDesc, prometheus.GaugeValue, stopped)
}

// unixSeconds is t as a Unix time in seconds, 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// add registers cs beside the collectors newMetrics registered.
func (m *metrics) add(cs ...prometheus.Collector) {
	m.collectors = append(m.collectors, cs...)
	m.reg.MustRegister(cs...)
}
