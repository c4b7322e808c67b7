package authenticator

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestOptionsTimeoutBounded: the options' timeout (milliseconds, from the
// hub) is applied up to maxOptionsTimeout. A number so large that it
// overflowed a time.Duration (9223372036855 ms wraps negative) used to
// make the context expire at once, failing the ceremony before any touch.
func TestOptionsTimeoutBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		ms   int
		want time.Duration // 0: no deadline
	}{
		{"none", 0, 0},
		{"negative", -5, 0},
		{"a minute", 60000, time.Minute},
		{"an hour", 3600000, maxOptionsTimeout},
		{"overflows a Duration", 9223372036855, maxOptionsTimeout},
		{"MaxInt", math.MaxInt, maxOptionsTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			ctx, cancel := withTimeout(context.Background(), tc.ms)
			defer cancel()
			dl, ok := ctx.Deadline()
			switch {
			case tc.want == 0 && ok:
				t.Errorf("deadline %s, want none", dl)
			case tc.want != 0 && !ok:
				t.Errorf("no deadline, want %s", tc.want)
			case tc.want != 0 && (dl.Sub(start) < tc.want-time.Second || dl.Sub(start) > tc.want+time.Second):
				t.Errorf("deadline in %s, want %s", dl.Sub(start), tc.want)
			}
			if ctx.Err() != nil {
				t.Errorf("context already done: %v", ctx.Err())
			}
		})
	}
}
