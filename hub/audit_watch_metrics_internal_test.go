package hub

import (
	"bytes"
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// noTrail is an empty audit trail.
type noTrail struct{}

func (noTrail) ListAudit(context.Context, store.AuditQuery) ([]store.AuditRecord, error) {
	return nil, nil
}

// collected returns the value of each metric c exports, by its name.
func collected(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// Before the first check of a hub without audit.head, the newest record
// checked is not known: shiftgate_audit_checked_seq is left out rather
// than exported as 0, which would set off the alert on a seq that goes
// down at every such start.
func TestWatchCollectorSeqUnknownBeforeFirstCheck(t *testing.T) {
	w, err := audit.NewWatcher(audit.WatchConfig{Key: bytes.Repeat([]byte{1}, 32), Trail: noTrail{}, Dir: t.TempDir(),
		Alert: func(context.Context, audit.Entry) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	got := collected(t, watchCollector{w})
	if v, ok := got["shiftgate_audit_checked_seq"]; ok {
		t.Errorf("shiftgate_audit_checked_seq = %v before any check", v)
	}
	if got["shiftgate_audit_checked_timestamp_seconds"] != 0 || got["shiftgate_audit_chain_breaks_total"] != 0 {
		t.Errorf("metrics before any check: %v", got)
	}
	if err := w.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	// An empty trail, checked: 0 is then what was checked.
	if v, ok := collected(t, watchCollector{w})["shiftgate_audit_checked_seq"]; !ok || v != 0 {
		t.Errorf("shiftgate_audit_checked_seq = %v, %v after checking an empty trail; want 0", v, ok)
	}
}
