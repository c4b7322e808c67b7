package agent

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// reportFailureThenSuccess connects h, whose clean-up fails while fail
// is set, and waits for the report of the failure; then it lets the next
// try succeed and waits for the report of the success.
func (h *harness) reportFailureThenSuccess(fail *atomic.Bool) {
	h.t.Helper()
	h.ev.expect(h.t, EventCleanupFailed)
	h.connect()
	h.hub.waitFor("the report of the failure", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
	fail.Store(false)
	h.succeedAgain()
	h.hub.waitFor("the report of the success", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 2 })
}

// TestCleanupSuccessResentOnSameChannel: a report of the success that the
// hub did not answer (the request timed out, the channel staying up) or
// could not record (internal: its store failed) goes again on the same
// channel, paced by cleanupResendDelay, until the hub answers it. Before,
// it went again only on the next connection: the hub counted and showed
// the kiosk as failing (and ShiftgateKioskCleanupFailing fired) for as
// long as the channel stayed up, days on a healthy network.
func TestCleanupSuccessResentOnSameChannel(t *testing.T) {
	for _, tc := range []struct {
		name string
		lost func() error // the answer to the success's first two sends
	}{
		{name: "no answer", lost: func() error {
			return fmt.Errorf("%s: %w", wire.TypeCleanupReport, context.DeadlineExceeded)
		}},
		{name: "internal", lost: func() error {
			return &RemoteError{Type: wire.TypeCleanupReport, Code: wire.ErrInternal, Message: "internal error"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fail atomic.Bool
			fail.Store(true)
			h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
			var successes atomic.Int32
			h.hub.setResponder(wire.TypeCleanupReport, func(_ context.Context, data any) (wire.Envelope, error) {
				if !data.(wire.CleanupReport).Failing && successes.Add(1) <= 2 {
					return wire.Envelope{}, tc.lost()
				}
				return env(t, wire.TypeAck, nil), nil
			})
			h.reportFailureThenSuccess(&fail)

			for n := 1; n <= 2; n++ {
				h.cleanupReports() // the send's answer, which arms the next
				d := cleanupResendDelay(n)
				// Not before its time: the pace holds.
				h.clock.Advance(d - time.Second)
				h.do(func() {})
				if rs := h.cleanupReports(); len(rs) != 1+n {
					t.Fatalf("%d reports %s after send %d of the success, want none before %s: %+v", len(rs)-1-n, d-time.Second, n, d, rs)
				}
				h.clock.Advance(time.Second)
				h.hub.waitFor(fmt.Sprintf("send %d of the success", n+1), func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 2+n })
			}
			rs := h.cleanupReports()
			if len(rs) != 4 || rs[1] != rs[2] || rs[2] != rs[3] || rs[3].Failing || rs[3].Try != 1 {
				t.Fatalf("reports %+v, want the failure, then the success after one failed try three times", rs)
			}
			// The hub took the third: nothing more, on this channel or
			// the next.
			h.clock.Advance(time.Hour)
			if rs := h.cleanupReports(); len(rs) != 4 {
				t.Fatalf("reports after the hub took the success: %+v", rs[4:])
			}
			h.hub.disconnect()
			h.ev.expect(t, EventDisconnected)
			h.connect()
			if rs := h.cleanupReports(); len(rs) != 4 {
				t.Errorf("reports on the next channel after the hub took the success: %+v", rs[4:])
			}
		})
	}
}

// TestCleanupResendDelay: the sends again of a success are paced from
// cleanupResendBase, doubling, and never further apart than
// cleanupReportInterval (a success that gets no answer for hours is still
// sent six times an hour).
func TestCleanupResendDelay(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{
		{1, cleanupResendBase},
		{2, 2 * cleanupResendBase},
		{3, 4 * cleanupResendBase},
		{100, cleanupReportInterval},
		{1 << 30, cleanupReportInterval},
	} {
		if got := cleanupResendDelay(c.n); got != c.want {
			t.Errorf("cleanupResendDelay(%d) = %s, want %s", c.n, got, c.want)
		}
	}
}
