package hub

import (
	"testing"
	"time"
)

// TestRenewLimiter: one renewal per device per renewInterval; a renewal
// that issued nothing gives its turn back (the one before it counts
// again); other devices are not held up; a clock set back does not hold
// a kiosk up; entries of past renewals are dropped.
func TestRenewLimiter(t *testing.T) {
	var l renewLimiter
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	mustStart := func(id string, at time.Time) func(bool) {
		t.Helper()
		done, wait := l.start(id, at)
		if wait != 0 || done == nil {
			t.Fatalf("renewal of %s at %v refused: wait %v", id, at.Sub(t0), wait)
		}
		return done
	}
	mustWait := func(id string, at time.Time, want time.Duration) {
		t.Helper()
		if done, wait := l.start(id, at); wait != want || done != nil {
			t.Fatalf("renewal of %s at %v: wait %v, want %v", id, at.Sub(t0), wait, want)
		}
	}
	mustStart("k1", t0)(true)
	mustWait("k1", t0.Add(20*time.Second), 40*time.Second)
	mustStart("k2", t0.Add(20*time.Second))(true)

	mustStart("k1", t0.Add(time.Minute))(false) // a bad CSR: the issuance at t0 counts again
	mustStart("k1", t0.Add(time.Minute))(true)
	mustWait("k1", t0.Add(90*time.Second), 30*time.Second)

	mustStart("k1", t0.Add(-time.Hour))(true) // the hub's clock was set back an hour
	mustWait("k1", t0.Add(-time.Hour+time.Second), time.Minute-time.Second)

	mustStart("k3", t0.Add(time.Hour))(true)
	if _, ok := l.last["k3"]; !ok || len(l.last) != 1 {
		t.Errorf("entries an hour on: %v, want k3's alone (the others' renewals are past)", l.last)
	}
}
