package hub_test

import (
	"testing"
	"time"
)

// TestLatencyPercentile: the benchmarks' p50 and p99 are nearest rank,
// as the push benchmarks and shiftgate-sim take them: the p99 of 100
// requests is the 99th, not the slowest, and the p50 of an even number
// the lower middle one.
func TestLatencyPercentile(t *testing.T) {
	ms := func(n int) []time.Duration {
		lat := make([]time.Duration, n)
		for i := range lat {
			lat[i] = time.Duration(i+1) * time.Millisecond
		}
		return lat
	}
	for _, tt := range []struct {
		name string
		n    int
		p    float64
		want float64
	}{
		{"p99 of 100", 100, 99, 99},
		{"p50 of 100", 100, 50, 50},
		{"p99 of 1000", 1000, 99, 990},
		{"p99 of 150", 150, 99, 149},
		{"p50 of 5", 5, 50, 3},
		{"p99 of 1", 1, 99, 1},
		{"p50 of none", 0, 50, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := latencyPercentile(ms(tt.n), tt.p); got != tt.want {
				t.Errorf("latencyPercentile(1..%d ms, %v) = %v ms, want %v", tt.n, tt.p, got, tt.want)
			}
		})
	}
}
