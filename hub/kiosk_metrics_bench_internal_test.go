package hub

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// BenchmarkKioskMetricsScrape10000 scrapes the kiosk collector alone over
// 10,000 enrolled kiosks, most connected, as Prometheus does every 15 s:
// the cost every hub of that size pays four times a minute.
func BenchmarkKioskMetricsScrape10000(b *testing.B) {
	now := time.Unix(1_800_000_000, 0).UTC()
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	conn := make(map[string]bool)
	err = db.InTx(b.Context(), func(tx store.Ops) error {
		for i := range 10_000 {
			d := store.Device{ID: fmt.Sprintf("k%05d", i), Name: fmt.Sprintf("kiosk-%05d", i), Site: "north", Profile: "p",
				State: store.DeviceActive, Created: now.Add(-30 * 24 * time.Hour), LastSeen: now.Add(-time.Duration(i) * time.Minute)}
			if i%50 == 0 {
				d.State = store.DeviceDisabled
			}
			if i%20 != 0 {
				conn[d.ID] = true
			}
			if _, err := tx.CreateDevice(b.Context(), d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// The collector asks the channel registry, a map, for its IDs.
	c := &kioskCollector{counts: db.CountDevices, connected: func() []string { return slices.Collect(maps.Keys(conn)) }, seen: &lastSeen{},
		now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ch := make(chan prometheus.Metric, 16)
	b.ReportAllocs()
	c0 := processCPU(b)
	for b.Loop() {
		go func() { c.Collect(ch); close(ch) }()
		for range ch {
		}
		ch = make(chan prometheus.Metric, 16)
	}
	// CPU time says more than wall time on a shared machine.
	b.ReportMetric(float64(processCPU(b)-c0)/float64(b.N), "cpu-ns/op")
}

// processCPU returns the CPU time the process has used so far, SQLite's
// included.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
