package agent

import (
	"testing"
	"time"
)

func TestBackoffFullJitterBounds(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		b       Backoff
		attempt int           // calls to Next before the one checked
		rand    float64       // what Rand returns
		want    time.Duration // the delay
		ceiling time.Duration // its upper bound
	}{
		{name: "first, low", b: Backoff{}, rand: 0, want: 0, ceiling: 250 * ms},
		{name: "first, high", b: Backoff{}, rand: 0.999, want: 249750 * time.Microsecond, ceiling: 250 * ms},
		{name: "second doubles", b: Backoff{}, attempt: 1, rand: 0.5, want: 250 * ms, ceiling: 500 * ms},
		{name: "sixth", b: Backoff{}, attempt: 5, rand: 0.5, want: 4 * time.Second, ceiling: 8 * time.Second},
		{name: "capped", b: Backoff{}, attempt: 7, rand: 0.5, want: 15 * time.Second, ceiling: 30 * time.Second},
		{name: "stays capped", b: Backoff{}, attempt: 500, rand: 0.999, want: 29970 * ms, ceiling: 30 * time.Second},
		{name: "custom", b: Backoff{Base: ms, Cap: 4 * ms}, attempt: 3, rand: 0.25, want: ms, ceiling: 4 * ms},
		{name: "bad rand is zero", b: Backoff{}, rand: 1.5, want: 0, ceiling: 250 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			b.Rand = func() float64 { return 0.5 }
			for range tc.attempt {
				b.Next()
			}
			if got := b.Ceiling(); got != tc.ceiling {
				t.Errorf("ceiling %v, want %v", got, tc.ceiling)
			}
			b.Rand = func() float64 { return tc.rand }
			if got := b.Next(); got != tc.want {
				t.Errorf("delay %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackoffReset(t *testing.T) {
	b := Backoff{Rand: func() float64 { return 0.999999 }}
	for range 10 {
		if d := b.Next(); d < 0 || d >= DefaultBackoffCap {
			t.Fatalf("delay %v outside [0, cap)", d)
		}
	}
	b.Reset()
	if c := b.Ceiling(); c != DefaultBackoffBase {
		t.Errorf("ceiling after Reset %v", c)
	}
}
