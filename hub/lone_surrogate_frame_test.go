package hub_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A kiosk's frame that escapes half of a UTF-16 surrogate pair on its own
// ("\ud800") is refused as malformed (bad_message), as its HTTP bodies
// are (TestLoneSurrogateBodyIs400): encoding/json would read U+FFFD in its
// place, and the error a kiosk answers a push with is audited, under a
// message the kiosk never sent. The push stays outstanding: the kiosk's
// well-formed answer is the one audited.
func TestLoneSurrogateFrameIsBadMessage(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, _ := signedIn(t, h, "ivo", "Nurse")
	if r := h.API(t, "POST", "/api/v1/users/ivo/signout", nil); r.Status != http.StatusOK {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	push := k.Recv(5 * time.Second)
	if push.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %s, want session.revoke", push.Type)
	}

	frame := `{"v":1,"type":"error","id":"bad1","re":"` + push.ID + `","data":{"code":"internal","message":"teardown failed: k\ud800"}}`
	if err := k.Conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	answer := k.Recv(5 * time.Second)
	var werr wire.Error
	if answer.Type != wire.TypeError || answer.Re != "bad1" || answer.Unmarshal(&werr) != nil || werr.Code != wire.ErrBadMessage {
		t.Fatalf("frame %s answered with %+v, want an error %s answering bad1", frame, answer, wire.ErrBadMessage)
	}

	env, _ := wire.New(wire.TypeError, "", push.ID, wire.Error{Code: wire.ErrInternal, Message: "teardown failed: k1"})
	if err := k.Conn.WriteJSON(env); err != nil {
		t.Fatal(err)
	}
	var recs []store.AuditRecord
	for deadline := time.Now().Add(5 * time.Second); len(recs) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no device.push_failed audit record for the well-formed answer")
		}
		var err error
		if recs, err = h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "device.push_failed"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, rec := range recs {
		if bytes.Contains(rec.Detail, []byte("\uFFFD")) || bytes.Contains(rec.Detail, []byte(`\ufffd`)) {
			t.Errorf("the altered message reached the audit trail: %s", rec.Detail)
		}
	}
	if len(recs) != 1 || !strings.Contains(string(recs[0].Detail), "teardown failed: k1") {
		t.Errorf("device.push_failed records %+v, want one, of the well-formed answer", recs)
	}
}
