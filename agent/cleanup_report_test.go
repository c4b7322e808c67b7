package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/session"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// leftoverCleanup is a Config.Cleanup that fails, as Sessions.Cleanup does
// on a crashed run's session s0 whose process survives, while fail is set.
func leftoverCleanup(fail *atomic.Bool) func(context.Context) error {
	return func(context.Context) error {
		if fail.Load() {
			return fmt.Errorf("clean up sessions: %w", &session.LeftoverError{Session: "s0", Err: errors.New("process 4242 survived SIGKILL")})
		}
		return nil
	}
}

const leftoverReason = "clean up sessions: session s0: process 4242 survived SIGKILL"

// cleanupReports are the cleanup.report requests the agent sent, once the
// one in flight, if any, has its answer.
func (h *harness) cleanupReports() []wire.CleanupReport {
	h.t.Helper()
	h.waitLoop("the clean-up report's answer", func() bool { return !h.a.cleanReport.sending })
	var out []wire.CleanupReport
	for _, r := range h.hub.requestsOf(wire.TypeCleanupReport) {
		out = append(out, r.(wire.CleanupReport))
	}
	return out
}

// failAgain moves the clock to the next try of the failing clean-up and
// waits for its cleanup.failed; it returns the time moved.
func (h *harness) failAgain() time.Duration {
	h.t.Helper()
	var d time.Duration
	h.do(func() { d = teardownRetryDelay(h.a.cleanFails) })
	h.clock.Advance(d)
	h.ev.expect(h.t, EventCleanupFailed)
	return d
}

// TestCleanupFailureReportedToHub: a start-up clean-up that fails is
// reported to the hub (cleanup.report): a failure while offline when the
// channel comes up, then no more than one report per
// cleanupReportInterval however often the tries fail, the state again on
// every new channel, and the success that ends it, with the leftover
// session the failure named.
func TestCleanupFailureReportedToHub(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	h.hub.setResponder(wire.TypeCleanupReport, func(context.Context, any) (wire.Envelope, error) {
		return env(t, wire.TypeAck, nil), nil
	})
	since := h.clock.Now()
	h.ev.expect(t, EventCleanupFailed)
	if rs := h.cleanupReports(); len(rs) != 0 {
		t.Fatalf("reports sent while offline: %+v", rs)
	}

	h.connect()
	h.hub.waitFor("the report of the failure", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
	want := wire.CleanupReport{Failing: true, Try: 1, Since: since, Reason: leftoverReason, SessionID: "s0"}
	if rs := h.cleanupReports(); len(rs) != 1 || rs[0] != want {
		t.Fatalf("reports %+v, want %+v", rs, want)
	}

	// The tries go on every minute at most; the reports every ten.
	var elapsed time.Duration
	for elapsed < cleanupReportInterval-teardownRetryCap {
		elapsed += h.failAgain()
		if rs := h.cleanupReports(); len(rs) != 1 {
			t.Fatalf("%d reports %s after the first, want none before %s: %+v", len(rs)-1, elapsed, cleanupReportInterval, rs)
		}
	}
	for elapsed < cleanupReportInterval {
		elapsed += h.failAgain()
	}
	rs := h.cleanupReports()
	var tries int
	h.do(func() { tries = h.a.cleanFails })
	if want.Try = tries; len(rs) != 2 || rs[1] != want {
		t.Fatalf("reports %+v, want a second one %s on: %+v", rs, elapsed, want)
	}

	// A new channel gets the state at once.
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.connect()
	h.hub.waitFor("the report on the new channel", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 3 })
	if rs := h.cleanupReports(); rs[2] != want {
		t.Errorf("report on the new channel %+v, want %+v", rs[2], want)
	}

	fail.Store(false)
	h.clock.Advance(teardownRetryDelay(tries))
	h.ev.expect(t, EventCleanupDone)
	h.hub.waitFor("the report of the success", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 4 })
	done := wire.CleanupReport{Try: tries, SessionID: "s0"}
	if rs := h.cleanupReports(); rs[3] != done {
		t.Errorf("report of the success %+v, want %+v", rs[3], done)
	}
	h.clock.Advance(time.Hour)
	if rs := h.cleanupReports(); len(rs) != 4 {
		t.Errorf("reports after the success: %+v", rs[4:])
	}
}

// TestCleanupReportOlderHub: a hub from before cleanup.report answers it
// unknown_type. The agent logs once that the hub cannot record it, sends
// it no more on that channel (it is asked again on the next: the hub may
// have been upgraded), and nothing else changes: the tries and their
// events go on, and the kiosk's channel stays up.
func TestCleanupReportOlderHub(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	var logs lockedBuffer
	h := newHarness(t, func(_ *harness, cfg *Config) {
		cfg.Cleanup = leftoverCleanup(&fail)
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	h.hub.setResponder(wire.TypeCleanupReport, func(context.Context, any) (wire.Envelope, error) {
		return wire.Envelope{}, &RemoteError{Type: wire.TypeCleanupReport, Code: wire.ErrUnknownType, Message: "unknown message type"}
	})
	h.ev.expect(t, EventCleanupFailed)
	h.connect()
	h.hub.waitFor("a report", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
	for elapsed := time.Duration(0); elapsed < 2*cleanupReportInterval; {
		elapsed += h.failAgain()
	}
	if rs := h.cleanupReports(); len(rs) != 1 {
		t.Errorf("%d reports to a hub that does not know them, want 1", len(rs))
	}
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.connect()
	h.hub.waitFor("a report on the new channel", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 2 })
	fail.Store(false)
	h.succeedAgain()
	h.wantState(Locked)
	if rs := h.cleanupReports(); len(rs) != 2 {
		t.Errorf("%d reports, want 2 (none of the success, which the hub was never told of)", len(rs))
	}
	if n := strings.Count(logs.String(), "the hub cannot record"); n != 1 {
		t.Errorf("the log says %d times that the hub cannot record the report, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "did not record") || strings.Contains(logs.String(), "did not reach") {
		t.Errorf("the log takes the older hub's answer as a failure:\n%s", logs.String())
	}
}

// succeedAgain moves the clock to the next try of the clean-up, which
// succeeds, and waits for its cleanup.done.
func (h *harness) succeedAgain() {
	h.t.Helper()
	var d time.Duration
	h.do(func() { d = teardownRetryDelay(h.a.cleanFails) })
	h.clock.Advance(d)
	h.ev.expect(h.t, EventCleanupDone)
}

// TestCleanupFailureRecordedByHub: the real agent and client, the real
// hub. A kiosk whose start-up clean-up fails is in the hub's audit trail
// (device.cleanup_failed, naming the leftover session) and counted in
// shiftgate_kiosks_cleanup_failing; once a try succeeds,
// device.cleanup_done is recorded and the count drops.
func TestCleanupFailureRecordedByHub(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	state := enrollAt(t, h, SystemClock{})
	prom := h.Token(t, "prometheus", store.ScopeMetrics)
	gauge := func() string {
		t.Helper()
		r := h.DoToken(t, prom, "GET", "/metrics", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("/metrics: %d %s", r.Status, r.Body)
		}
		for _, l := range strings.Split(string(r.Body), "\n") {
			if v, ok := strings.CutPrefix(l, "shiftgate_kiosks_cleanup_failing "); ok {
				return v
			}
		}
		t.Fatalf("no shiftgate_kiosks_cleanup_failing in /metrics")
		return ""
	}
	var fail atomic.Bool
	fail.Store(true)
	ev := newRecorder()
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{StateDir: state, Authenticators: src, Events: ev, Cleanup: leftoverCleanup(&fail)})
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	var device string
	for device == "" {
		select {
		case e := <-ev.ch:
			device = e.DeviceID // connected
		case <-time.After(waitLimit):
			t.Fatal("never connected")
		}
	}
	audit := func(action string) []store.AuditRecord {
		t.Helper()
		var recs []store.AuditRecord
		for deadline := time.Now().Add(waitLimit); len(recs) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if recs, err = h.Store().ListAudit(t.Context(), store.AuditQuery{Action: action, Subject: "device:" + device}); err != nil {
				t.Fatal(err)
			}
		}
		if len(recs) == 0 {
			t.Fatalf("no %s audit record for kiosk %s", action, device)
		}
		return recs
	}
	if r := audit("device.cleanup_failed")[0]; !strings.Contains(string(r.Detail), `"session":"s0"`) || !strings.Contains(string(r.Detail), `"reason":"`+leftoverReason+`"`) {
		t.Errorf("device.cleanup_failed detail %s, want the session and the reason", r.Detail)
	}
	if g := gauge(); g != "1" {
		t.Errorf("shiftgate_kiosks_cleanup_failing %s while the clean-up fails, want 1", g)
	}
	fail.Store(false)
	audit("device.cleanup_done")
	if g := gauge(); g != "0" {
		t.Errorf("shiftgate_kiosks_cleanup_failing %s once the clean-up succeeded, want 0", g)
	}
}

// TestCleanupReportRetried: a report of the failure that did not reach
// the hub goes again with the next failed try (not only after the
// interval), and one of the success that the hub could not record
// (internal: its store failed) goes again (cleanupResendDelay), so that
// the hub's trail does not end on the failure; once the hub took it, a
// new channel does not bring it again.
func TestCleanupReportRetried(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Cleanup = leftoverCleanup(&fail) })
	var calls atomic.Int32
	h.hub.setResponder(wire.TypeCleanupReport, func(_ context.Context, data any) (wire.Envelope, error) {
		n := calls.Add(1)
		switch {
		case n == 1:
			return wire.Envelope{}, fmt.Errorf("%s: %w", wire.TypeCleanupReport, context.DeadlineExceeded)
		case n == 3 && !data.(wire.CleanupReport).Failing:
			return wire.Envelope{}, &RemoteError{Type: wire.TypeCleanupReport, Code: wire.ErrInternal, Message: "internal error"}
		}
		return env(t, wire.TypeAck, nil), nil
	})
	h.ev.expect(t, EventCleanupFailed)
	h.connect()
	h.hub.waitFor("the first report", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 1 })
	h.failAgain()
	if rs := h.cleanupReports(); len(rs) != 2 || !rs[1].Failing || rs[1].Try != 2 {
		t.Fatalf("reports %+v, want the lost one sent again with the second try", rs)
	}
	h.failAgain()
	if rs := h.cleanupReports(); len(rs) != 2 {
		t.Fatalf("reports %+v, want none more once the hub took one", rs)
	}

	fail.Store(false)
	h.succeedAgain()
	if rs := h.cleanupReports(); len(rs) != 3 || rs[2].Failing {
		t.Fatalf("reports %+v, want the success", rs)
	}
	// Again on the same channel, paced (cleanupResendDelay).
	h.clock.Advance(cleanupResendDelay(1))
	h.hub.waitFor("the success again", func() bool { return len(h.hub.requestsOf(wire.TypeCleanupReport)) == 4 })
	if rs := h.cleanupReports(); rs[3].Failing || rs[3].Try != 3 {
		t.Errorf("report sent again %+v, want the success after 3 failed tries", rs[3])
	}
	h.clock.Advance(time.Hour)
	if rs := h.cleanupReports(); len(rs) != 4 {
		t.Fatalf("reports %+v, want none more once the hub took the success", rs)
	}
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.connect()
	if rs := h.cleanupReports(); len(rs) != 4 {
		t.Errorf("reports %+v, want none once the hub took the success", rs)
	}
}
