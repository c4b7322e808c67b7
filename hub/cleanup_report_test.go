package hub_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// cleanupAudit returns the kiosk's audit records of action, their details
// decoded.
func cleanupAudit(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk, action string) []map[string]any {
	t.Helper()
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: action, Subject: "device:" + k.ID})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range recs {
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if r.Actor != "device:"+k.ID || r.System != "agent" {
			t.Errorf("%s recorded by %s (%s), want the kiosk's agent", action, r.Actor, r.System)
		}
		out = append(out, d)
	}
	return out
}

func wantGauge(t *testing.T, scrape func() string, n string) {
	t.Helper()
	body := scrape()
	if want := "\nshiftgate_kiosks_cleanup_failing " + n + "\n"; !strings.Contains(body, want) {
		t.Errorf("no line %q in:\n%s", strings.TrimSpace(want), grepLines(body, "cleanup"))
	}
}

// TestCleanupReportRecorded: a kiosk whose start-up clean-up keeps failing
// stays locked, and says so (cleanup.report). The hub records it in the
// audit trail (device.cleanup_failed) and in the gauge
// shiftgate_kiosks_cleanup_failing; a report that repeats it within
// cleanupAuditInterval (the kiosk's network came back) updates the state
// but writes no record, one after it writes another; the state is kept
// while the kiosk is away, and the success (device.cleanup_done) clears it.
func TestCleanupReportRecorded(t *testing.T) {
	h, clock, scrape := metricsHub(t)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	wantGauge(t, scrape, "0")

	since := clock.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: since, Reason: "session s0: process 4242 survived SIGKILL", SessionID: "s0"}, wire.TypeAck, nil)
	recs := cleanupAudit(t, h, k, "device.cleanup_failed")
	if len(recs) != 1 {
		t.Fatalf("%d device.cleanup_failed records, want 1", len(recs))
	}
	if d := recs[0]; d["device"] != k.ID || d["try"] != 1.0 || d["session"] != "s0" || d["reason"] != "session s0: process 4242 survived SIGKILL" || d["since"] != since.Format(time.RFC3339) {
		t.Errorf("device.cleanup_failed detail %v", d)
	}
	wantGauge(t, scrape, "1")

	// Again on a new channel two minutes on: no second record yet.
	k.Conn.Close()
	clock.Advance(2 * time.Minute)
	wantGauge(t, scrape, "1") // away, and still not cleaned up
	k.Dial("")
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 3, Since: since, Reason: "still"}, wire.TypeAck, nil)
	if n := len(cleanupAudit(t, h, k, "device.cleanup_failed")); n != 1 {
		t.Errorf("%d device.cleanup_failed records after a repeat within the interval, want 1", n)
	}
	clock.Advance(10 * time.Minute)
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 13, Since: since, Reason: "still", SessionID: "s0"}, wire.TypeAck, nil)
	if recs := cleanupAudit(t, h, k, "device.cleanup_failed"); len(recs) != 2 || recs[1]["try"] != 13.0 {
		t.Errorf("device.cleanup_failed records %v, want a second one for try 13", recs)
	}
	wantGauge(t, scrape, "1")

	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Try: 14}, wire.TypeAck, nil)
	recs = cleanupAudit(t, h, k, "device.cleanup_done")
	if len(recs) != 1 || recs[0]["failed_tries"] != 14.0 || recs[0]["session"] != "s0" {
		t.Errorf("device.cleanup_done records %v, want one for 14 failed tries of session s0", recs)
	}
	wantGauge(t, scrape, "0")
}

// TestCleanupReportRefused: a cleanup.report whose fields are not what an
// agent sends (they would go into the audit trail) is answered with
// bad_message and records nothing; a reason longer than
// wire.MaxCleanupReason is recorded cut short. The channel goes on.
func TestCleanupReportRefused(t *testing.T) {
	h, clock, scrape := metricsHub(t)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	since := clock.Now()
	for _, c := range []struct {
		name string
		data any
	}{
		{"no data", nil},
		{"not an object", "failing"},
		{"try a string", map[string]any{"failing": true, "try": "1", "since": since}},
		{"try zero", wire.CleanupReport{Failing: true, Since: since}},
		{"try negative", wire.CleanupReport{Failing: true, Try: -1, Since: since}},
		{"try huge", map[string]any{"failing": true, "try": 1e18, "since": since}},
		{"no since", wire.CleanupReport{Failing: true, Try: 1}},
		{"since garbage", map[string]any{"failing": true, "try": 1, "since": "yesterday"}},
		{"session too long", wire.CleanupReport{Failing: true, Try: 1, Since: since, SessionID: strings.Repeat("s", wire.MaxCleanupSessionID+1)}},
		{"session not an ID", wire.CleanupReport{Failing: true, Try: 1, Since: since, SessionID: "../../etc"}},
		{"session with a newline", wire.CleanupReport{Failing: true, Try: 1, Since: since, SessionID: "s0\nforged"}},
		{"done with a bad session", wire.CleanupReport{Try: 1, SessionID: "<script>"}},
		{"done without tries", wire.CleanupReport{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := k.Call(wire.TypeCleanupReport, c.data, wire.TypeError, nil)
			var e wire.Error
			if err := env.Unmarshal(&e); err != nil {
				t.Fatal(err)
			}
			if e.Code != wire.ErrBadMessage {
				t.Errorf("error %+v, want code %s", e, wire.ErrBadMessage)
			}
		})
	}
	if recs := cleanupAudit(t, h, k, "device.cleanup_failed"); len(recs) != 0 {
		t.Errorf("device.cleanup_failed records %v from refused reports, want none", recs)
	}
	if recs := cleanupAudit(t, h, k, "device.cleanup_done"); len(recs) != 0 {
		t.Errorf("device.cleanup_done records %v from refused reports, want none", recs)
	}
	wantGauge(t, scrape, "0")

	// Multi-byte runes across the cut: it must fall between two.
	long := "unlinkat: " + strings.Repeat("é", 4<<10)
	k.Call(wire.TypeCleanupReport, wire.CleanupReport{Failing: true, Try: 1, Since: since, Reason: long}, wire.TypeAck, nil)
	recs := cleanupAudit(t, h, k, "device.cleanup_failed")
	if len(recs) != 1 {
		t.Fatalf("%d device.cleanup_failed records, want 1", len(recs))
	}
	reason, _ := recs[0]["reason"].(string)
	if len(reason) > wire.MaxCleanupReason || !utf8.ValidString(reason) || !strings.HasPrefix(reason, "unlinkat: é") || !strings.HasSuffix(reason, "…(cut)") {
		t.Errorf("reason recorded: %d bytes (valid UTF-8: %v) %.40q…, want at most %d, the start of the kiosk's, marked as cut", len(reason), utf8.ValidString(reason), reason, wire.MaxCleanupReason)
	}
	wantGauge(t, scrape, "1")
}
