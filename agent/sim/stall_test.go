package sim

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestStallProbe: a wake-up that comes late is recorded with its length,
// and a window without one reports none.
func TestStallProbe(t *testing.T) {
	var stretch atomic.Int64 // the next sleep lasts this long instead
	p := newStallProbe(func(d time.Duration) {
		if s := time.Duration(stretch.Swap(0)); s > 0 {
			d = s
		}
		time.Sleep(d)
	})
	started := time.Now()
	time.Sleep(10 * time.Millisecond)
	before := time.Now()
	stretch.Store(int64(30 * time.Millisecond))
	time.Sleep(60 * time.Millisecond)
	p.Stop()
	after := time.Now()

	if got := p.longest(before, after); got < 25*time.Millisecond {
		t.Errorf("longest stall while a sleep was stretched to 30 ms: %v, want ≥ 25 ms (29 ms late)", got)
	}
	if got := p.longest(started.Add(-time.Hour), started.Add(-time.Minute)); got != 0 {
		t.Errorf("longest stall before the probe started: %v, want 0", got)
	}
}

// TestStallOverlap: a window is charged with the part of a stall inside
// it, and with nothing for a stall it only touches.
func TestStallOverlap(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	p := &stallProbe{stalls: []stall{{at(10), at(30)}, {at(100), at(106)}}}
	for _, tc := range []struct {
		from, to int
		want     int // ms
	}{
		{0, 10, 0},    // ends as the stall begins
		{0, 11, 1},    // its first millisecond
		{0, 50, 20},   // the whole of it
		{29, 40, 1},   // its last millisecond
		{30, 100, 0},  // between the two
		{25, 103, 5},  // the end of one (5 ms) and the start of the other (3 ms)
		{101, 102, 1}, // inside the second
		{200, 300, 0},
	} {
		if got, want := p.longest(at(tc.from), at(tc.to)), time.Duration(tc.want)*time.Millisecond; got != want {
			t.Errorf("longest(%d ms, %d ms) = %v, want %v", tc.from, tc.to, got, want)
		}
	}
}

// TestStallMetric counts the rounds a stall took time from.
func TestStallMetric(t *testing.T) {
	m := stallMetric([]map[string]float64{{roundStallKey: 0}, {roundStallKey: 6.2}, {}, {roundStallKey: 23.4}})
	if m.Value == nil || *m.Value != 2 || !strings.Contains(m.Note, "23.4 ms") {
		t.Errorf("stallMetric = %v (%q), want 2 rounds, the most 23.4 ms", m.Value, m.Note)
	}
}

// TestStallOverlapMany: among many stalls, a window finds the ones around
// it, whatever their place in the record.
func TestStallOverlapMany(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	p := &stallProbe{}
	for i := range 1000 { // stall i: from 10i to 10i+5 ms, except i=500 which lasts 8 ms
		d := 5
		if i == 500 {
			d = 8
		}
		p.stalls = append(p.stalls, stall{at(10 * i), at(10*i + d)})
	}
	for _, tc := range []struct {
		from, to int
		want     int // ms
	}{
		{4993, 5010, 8}, // stalls 499 (its last 2 ms) and 500 (whole)
		{4993, 5007, 7}, // and only 7 ms of 500
		{5008, 5010, 0}, // between 500 and 501
		{9994, 9999, 1}, // the last one's end
		{-50, 3, 3},     // the first one's start
		{10000, 20000, 0},
	} {
		if got, want := p.longest(at(tc.from), at(tc.to)), time.Duration(tc.want)*time.Millisecond; got != want {
			t.Errorf("longest(%d ms, %d ms) = %v, want %v", tc.from, tc.to, got, want)
		}
	}
}
