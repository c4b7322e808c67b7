package hub_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestKioskErrorIsBounded: a kiosk's error answering a push goes into the
// audit trail and the log cut to a line (code 64 bytes, message 1 KiB),
// not as the frame's 64 KiB it may send with every message.
func TestKioskErrorIsBounded(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, _ := signedIn(t, h, "ivo", "Nurse")
	if r := h.API(t, "POST", "/api/v1/users/ivo/signout", nil); r.Status != 200 {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	push := k.Recv(5 * time.Second)
	if push.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %s, want session.revoke", push.Type)
	}
	// Multi-byte runes across the cut: it must fall between two.
	msg := "teardown failed: " + strings.Repeat("é", 24<<10)
	env, _ := wire.New(wire.TypeError, "", push.ID, wire.Error{Code: strings.Repeat("c", 8<<10), Message: msg})
	if err := k.Conn.WriteJSON(env); err != nil {
		t.Fatal(err)
	}
	var recs []store.AuditRecord
	for deadline := time.Now().Add(5 * time.Second); len(recs) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no device.push_failed audit record")
		}
		recs, _ = h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "device.push_failed"})
	}
	var d struct{ Code, Message string }
	if err := json.Unmarshal(recs[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Code) > 64 || len(d.Message) > 1024 || !utf8.ValidString(d.Message) {
		t.Errorf("audit record keeps a %d-byte code and a %d-byte message (valid UTF-8: %v)", len(d.Code), len(d.Message), utf8.ValidString(d.Message))
	}
	if !strings.HasPrefix(d.Message, "teardown failed: é") || !strings.HasSuffix(d.Message, "…(cut)") {
		t.Errorf("message %.40q…%q: want the start of what the kiosk said, marked as cut", d.Message, d.Message[max(0, len(d.Message)-20):])
	}
}

// TestAPIBodyLimits: every admin call that reads a body, and the kiosk
// enrollment (which anyone may call), answers a body over its limit with
// 413 and a JSON error, before reading the rest.
func TestAPIBodyLimits(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "ana", `{"sites":["north"]}`)
	big := func(field string) string { return `{"` + field + `":"` + strings.Repeat("x", 70<<10) + `"}` }
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/v1/enrollments", big("user")},
		{"POST", "/api/v1/devices/codes", big("name")},
		{"POST", "/api/v1/grants", big("reason")},
		{"POST", "/api/v1/users/ana/extend", big("reason")},
		{"PUT", "/api/v1/users/ana/shifts", `[` + strings.Repeat(`{"start":null,"end":null},`, 3000) + `{}]`},
	} {
		r := h.API(t, tc.method, tc.path, tc.body)
		if msg, _ := r.JSON()["error"].(string); r.Status != http.StatusRequestEntityTooLarge || msg == "" {
			t.Errorf("%s %s with %d bytes: %d %s, want 413 with a message", tc.method, tc.path, len(tc.body), r.Status, r.Body)
		}
	}
	body := `{"code":"ABCD","profile":"generic-x86","csr":"` + strings.Repeat("A", wire.MaxMessageBytes) + `"}`
	resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error string }
	if json.NewDecoder(resp.Body).Decode(&e); resp.StatusCode != http.StatusRequestEntityTooLarge || e.Error == "" {
		t.Errorf("enrollment with %d bytes: %d %q, want 413 with a message", len(body), resp.StatusCode, e.Error)
	}
}

// TestKioskErrorsAnsweringNothingAreNotAudited: an error answering a push
// is audited (device.push_failed), once: the push is then settled. Errors
// naming a push that is not outstanding (made up, or repeated) go to the
// log only, so a kiosk cannot write the audit trail at will.
func TestKioskErrorsAnsweringNothingAreNotAudited(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, _ := signedIn(t, h, "ivo", "Nurse")
	if r := h.API(t, "POST", "/api/v1/users/ivo/signout", nil); r.Status != 200 {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	push := k.Recv(5 * time.Second)
	if push.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %s, want session.revoke", push.Type)
	}
	send := func(re string) {
		t.Helper()
		env, _ := wire.New(wire.TypeError, "", re, wire.Error{Code: "teardown_failed", Message: "apps survived"})
		if err := k.Conn.WriteJSON(env); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		send(fmt.Sprintf("made-up-%d", i))
	}
	send(push.ID)
	send(push.ID) // the push is settled by the first answer
	// A request after them, answered in order, so that they were handled.
	k.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, nil)
	deadline := time.Now().Add(5 * time.Second)
	var recs []store.AuditRecord
	for time.Now().Before(deadline) {
		recs, _ = h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "device.push_failed"})
		if len(recs) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // any stray record would be written by now
	recs, _ = h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "device.push_failed"})
	if len(recs) != 1 || !strings.Contains(string(recs[0].Detail), push.ID) {
		t.Errorf("device.push_failed records %d, want one, for the real push %s", len(recs), push.ID)
	}
}

// TestEnrollAnswerDatedByHubClock: the kiosk checks the certificate it is
// issued by the hub's time, which it reads from the answer's Date header:
// that must be the clock the certificate is dated by, not the machine's.
func TestEnrollAnswerDatedByHubClock(t *testing.T) {
	behind := time.Now().Add(-3 * time.Hour).Truncate(time.Second) // behind: the client checks the server certificate by the real clock
	h := hubtest.Start(t, hubtest.Options{Clock: hubtest.NewClock(behind)})
	resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || !got.Equal(behind) {
		t.Errorf("Date %q (%v), want the hub's clock %v", resp.Header.Get("Date"), err, behind.UTC())
	}
}
