package hub

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the hub's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	ackDelay  prometheus.Histogram
	logins    *prometheus.CounterVec
	loginTime prometheus.Histogram
	connected prometheus.GaugeFunc
}

// newMetrics builds the registry; extra collectors (the governance
// numbers) are registered with the hub's own.
func newMetrics(connected func() float64, extra ...prometheus.Collector) *metrics {
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
	m.loginTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "shiftgate_kiosk_login_seconds",
		Help:    "Time the hub takes to decide a kiosk's login, granted or refused: the assertion check, the policy decision and the commit of the session and its audit record.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.connected = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shiftgate_kiosks_connected",
		Help: "Kiosks with an open device channel.",
	}, connected)
	m.reg.MustRegister(m.ackDelay, m.logins, m.loginTime, m.connected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(extra...)
	return m
}

func (m *metrics) observeAck(d time.Duration) { m.ackDelay.Observe(d.Seconds()) }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
