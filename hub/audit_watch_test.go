package hub_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// auditMetric reads one of the audit watch's metrics from /metrics.
func auditMetric(t *testing.T, h *hubtest.Hub, admin, name string) float64 {
	t.Helper()
	v, ok := auditMetricOK(t, h, admin, name)
	if !ok {
		t.Fatalf("/metrics has no %s", name)
	}
	return v
}

// auditMetricOK is auditMetric; ok is false when /metrics does not have
// it (shiftgate_audit_checked_seq before the first check).
func auditMetricOK(t *testing.T, h *hubtest.Hub, admin, name string) (v float64, ok bool) {
	t.Helper()
	r := h.DoToken(t, admin, "GET", "/metrics", nil)
	if r.Status != 200 {
		t.Fatalf("GET /metrics: %d %s", r.Status, r.Body)
	}
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(r.Body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// waitMetric waits until the metric is want.
func waitMetric(t *testing.T, h *hubtest.Hub, admin, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ok := auditMetricOK(t, h, admin, name)
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A running hub finds records cut off the end of its trail by itself:
// within its watch interval the break is logged as an error, recorded in
// the trail as audit.alert and counted in the metrics, and the watch goes
// on from what is left.
func TestAuditWatchFindsCutTrail(t *testing.T) {
	var logs syncBuffer
	h := hubtest.Start(t, hubtest.Options{AuditWatch: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	admin := h.AdminToken(t)
	for i := range 5 {
		want(t, h.Do(t, "POST", "/scim/v2/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"worker%d@example.com","active":true}`, i)), 201)
	}
	seq, _, err := h.Store().AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitMetric(t, h, admin, "shiftgate_audit_checked_seq", float64(seq))
	if auditMetric(t, h, admin, "shiftgate_audit_checked_timestamp_seconds") == 0 {
		t.Error("no time of the last check")
	}

	hubtest.CutAuditTrail(t, h.DataDir, seq-2)
	waitMetric(t, h, admin, "shiftgate_audit_chain_breaks_total", 1)
	if at := auditMetric(t, h, admin, "shiftgate_audit_last_break_timestamp_seconds"); at < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("shiftgate_audit_last_break_timestamp_seconds = %v, want the time of the break", at)
	}
	if !strings.Contains(logs.String(), "level=ERROR msg=\"AUDIT TRAIL BROKEN") {
		t.Errorf("the break was not logged as an error:\n%s", logs.String())
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{AfterSeq: seq - 2, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || recs[0].Action != "audit.alert" {
		t.Fatalf("records after the cut: %+v, want the audit.alert first", recs)
	}
	var d map[string]any
	if err := json.Unmarshal(recs[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if p, _ := d["problem"].(string); !strings.Contains(p, fmt.Sprintf("record %d, checked before", seq)) || !strings.HasPrefix(d["whole_trail"].(string), "verifies") {
		t.Errorf("alert detail %v", d)
	}
	// The watch goes on over its own alert.
	waitMetric(t, h, admin, "shiftgate_audit_checked_seq", float64(recs[0].Seq))
	if auditMetric(t, h, admin, "shiftgate_audit_watch_stopped") != 0 {
		t.Error("the watch stopped over a trail that verifies")
	}
}

// The hub logs a checkpoint, signed with its export key, after each check
// of its audit watch that found new records: the newest is the head the
// watch checked, and it verifies with the hub's public key.
func TestAuditWatchLogsCheckpoints(t *testing.T) {
	var logs syncBuffer
	h := hubtest.Start(t, hubtest.Options{AuditWatch: 20 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	want(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"cp@example.com","active":true}`), 201)
	seq, hash, err := h.Store().AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	head := audit.Anchor{Seq: seq, Hash: hash}.String()
	pub, err := audit.ReadPublicKey(filepath.Join(h.DataDir, audit.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		heads, newest, _, err := audit.ReadCheckpoints(strings.NewReader(logs.String()), pub)
		if err != nil {
			t.Fatal(err)
		}
		if newest.Head == head {
			if len(heads) < 1 || time.Since(newest.Time) > time.Minute {
				t.Errorf("checkpoint %+v, heads %v", newest, heads)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of the head %s in the log (newest %q):\n%s", head, newest.Head, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
