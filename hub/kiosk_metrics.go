package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shiftgate/shiftgate/hub/store"
)

// kioskCollector exports how many enrolled kiosks are away and for how
// long. shiftgate_kiosks_connected alone cannot say: an alert comparing it
// with its own recent maximum forgets a kiosk once it has been away for
// longer than its window, yet a kiosk away for a day is the one that
// matters most, as it misses every revocation meanwhile. It counts them in
// the store on every scrape, in one read: listing 10,000 kiosks to count
// them took three times the CPU, four times a minute, on a hub that also
// serves logins. A failed read is logged and the last good counts are
// served, with shiftgate_kiosks_listed_timestamp_seconds saying when they
// were read, as the governance numbers do.
type kioskCollector struct {
	counts    func(ctx context.Context, q store.DeviceCountQuery) (store.DeviceCounts, error)
	connected func() []string // the devices with an open channel
	seen      *lastSeen       // sightings not yet in the store
	now       func() time.Time
	log       *slog.Logger

	mu     sync.Mutex
	last   store.DeviceCounts // the last good counts, zero before
	listed time.Time          // when last was read, zero before
}

// kioskOfflineOver are the durations shiftgate_kiosks_offline counts
// kiosks away for longer than, with their label values.
var kioskOfflineOver = []struct {
	label string
	d     time.Duration
}{{"1h", time.Hour}, {"1d", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}}

var (
	kiosksEnrolledDesc = prometheus.NewDesc("shiftgate_kiosks_enrolled",
		"Enrolled kiosks that are not disabled.", nil, nil)
	kiosksDisconnectedDesc = prometheus.NewDesc("shiftgate_kiosks_disconnected",
		"Enrolled kiosks, not disabled, without an open device channel, however long they have been away: they sign nobody in and miss every revocation.", nil, nil)
	kiosksOfflineDesc = prometheus.NewDesc("shiftgate_kiosks_offline",
		"Enrolled kiosks, not disabled, away for longer than the label over (1h, 1d, 7d) since they were last seen (or enrolled, if never seen); cumulative: a kiosk away for two days counts under 1h and 1d. Disable a kiosk that was retired.",
		[]string{"over"}, nil)
	kiosksListedDesc = prometheus.NewDesc("shiftgate_kiosks_listed_timestamp_seconds",
		"When the kiosk counts were read from the store, as a Unix time (0 while they have not been): a failed read (logged) leaves the last good counts. Alert when it stops moving.", nil, nil)
)

// kioskMetricsTimeout bounds the device read of one scrape.
const kioskMetricsTimeout = 5 * time.Second

func (*kioskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- kiosksEnrolledDesc
	ch <- kiosksDisconnectedDesc
	ch <- kiosksOfflineDesc
	ch <- kiosksListedDesc
}

func (c *kioskCollector) Collect(ch chan<- prometheus.Metric) {
	// A kiosk that left since the last flush of last-seen times has its
	// stored time from when its channel opened, maybe days ago: its
	// sighting in memory says when it really left. The reads go in the
	// order the kiosk's leaving is written in, backwards: a channel's
	// sighting is marked before it leaves the registry (channel.Leaving),
	// and kept in memory until the store has it (flushSeen). So the open
	// channels are read first, then the sightings, then the store: a
	// kiosk not among the first is in one of the others.
	connected := c.connected()
	pending := c.seen.snapshot()
	now := c.now()
	q := store.DeviceCountQuery{Now: now, Over: make([]time.Duration, len(kioskOfflineOver)), Connected: connected, Seen: pending}
	for i, o := range kioskOfflineOver {
		q.Over[i] = o.d
	}
	ctx, cancel := context.WithTimeout(context.Background(), kioskMetricsTimeout)
	defer cancel()
	n, err := c.counts(ctx, q)
	c.mu.Lock()
	if err != nil {
		c.log.Error("kiosk metrics", "err", err)
		n = c.last
	} else {
		c.last, c.listed = n, now
	}
	listed := c.listed
	c.mu.Unlock()

	over := make([]int, len(kioskOfflineOver))
	copy(over, n.Over) // n is zero before the first good read
	// Every series is there from the start, at 0: an alert on one that
	// appears only with the first kiosk away would have nothing to
	// compare before, and no series is no alert.
	ch <- prometheus.MustNewConstMetric(kiosksEnrolledDesc, prometheus.GaugeValue, float64(n.Enrolled))
	ch <- prometheus.MustNewConstMetric(kiosksDisconnectedDesc, prometheus.GaugeValue, float64(n.Away))
	for i, o := range kioskOfflineOver {
		ch <- prometheus.MustNewConstMetric(kiosksOfflineDesc, prometheus.GaugeValue, float64(over[i]), o.label)
	}
	ch <- prometheus.MustNewConstMetric(kiosksListedDesc, prometheus.GaugeValue, unixSeconds(listed))
}
