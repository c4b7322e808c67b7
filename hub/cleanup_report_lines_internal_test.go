package hub

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestCleanupReportLinesPaced: the cleanup.report lines that no audit
// record goes with are logged as a kiosk's error messages are, a few a
// minute per kiosk. The audit record of a failing clean-up is written at
// most once every 10 minutes, but before, every report logged a line (a
// warning with up to 512 bytes of the kiosk's reason, or a success at
// info): a kiosk, faulty or in other hands, could flood the hub's log
// with them as fast as it could send, which kioskErrorLog was written to
// stop for its error messages.
func TestCleanupReportLinesPaced(t *testing.T) {
	logs := &lockedBuffer{}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443",
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := channelCtx(t)
	report := func(deviceID string, r wire.CleanupReport) {
		t.Helper()
		env, err := wire.New(wire.TypeCleanupReport, "c1", "", r)
		if err != nil {
			t.Fatal(err)
		}
		if reply, err := s.channel.Request(ctx, deviceID, env); err != nil || reply.Type != wire.TypeAck {
			t.Fatalf("cleanup.report answered %+v, %v; want an ack", reply, err)
		}
	}
	count := func(what string) int { return strings.Count(logs.String(), what) }
	// lines counts the lines with all of the texts.
	lines := func(texts ...string) int {
		n := 0
		for _, l := range strings.Split(logs.String(), "\n") {
			all := true
			for _, x := range texts {
				all = all && strings.Contains(l, x)
			}
			if all {
				n++
			}
		}
		return n
	}
	const (
		flood   = 100
		failed  = `level=ERROR msg="kiosk's start-up clean-up fails`
		again   = `level=WARN msg="kiosk's start-up clean-up fails`
		success = `msg="kiosk cleaned up what an earlier run of its agent left`
	)

	failing := wire.CleanupReport{Failing: true, Try: 1, Since: now.Add(-time.Minute), Reason: strings.Repeat("x", wire.MaxCleanupReason)}
	for range flood {
		report("k1", failing)
	}
	if n := count(failed); n != 1 {
		t.Errorf("%d error lines for the failing clean-up audited once, want 1", n)
	}
	if n := count(again); n > kioskErrorLines {
		t.Errorf("%d warning lines for %d reports of one kiosk within a minute, want at most %d", n, flood, kioskErrorLines)
	}
	// Another kiosk's report is logged meanwhile.
	report("k2", failing)
	if n := lines(failed, "device=k2"); n != 1 {
		t.Errorf("another kiosk's failing clean-up logged %d times, want once:\n%s", n, logs)
	}

	now = now.Add(kioskErrorWindow)
	for range flood {
		report("k1", wire.CleanupReport{Try: 2})
	}
	// The first closes the audited failure, and is logged with its record.
	if n := lines(success, "device=k1"); n == 0 || n > 1+kioskErrorLines {
		t.Errorf("%d lines for %d successes of one kiosk within a minute, want 1 to %d", n, flood, 1+kioskErrorLines)
	}
	if !strings.Contains(logs.String(), "dropped_before=") {
		t.Errorf("no line says how many of the kiosk's report lines were dropped:\n%s", logs)
	}
}
