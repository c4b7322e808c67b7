package hub_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A grant lost with a channel that dropped leaves the hub holding a
// session that the kiosk never opened. The kiosk's next complete hello
// (wire.Hello.Complete) does not name it, and the hub ends it there
// (reason not_opened), with a revocation the kiosk acknowledges. Sessions
// the hello names, live or ended with a report to follow, are left alone,
// and so is everything at a hello from an agent that does not say its list
// is complete.
func TestHelloEndsSessionsTheKioskNeverOpened(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g1 := signedIn(t, h, "ola", "Picker")
	badge := registerBadge(t, h, k, "ola")
	session := func(id string) store.Session {
		t.Helper()
		s, err := h.Store().GetSession(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	live := func(id string) bool { return session(id).Ended.IsZero() }

	// An agent from before Complete: nothing is ended.
	k.Conn.Close()
	k.Dial("")
	if !live(g1.SessionID) {
		t.Fatalf("session %s ended at a hello that did not say its list is complete", g1.SessionID)
	}

	// Named as ended, its report to follow: the report's reason stands.
	k.Conn.Close()
	k.DialHello(wire.Hello{Ended: []string{g1.SessionID}, Complete: true})
	if !live(g1.SessionID) {
		t.Fatalf("session %s, named in the hello's ended list, ended by the hub (%s)", g1.SessionID, session(g1.SessionID).EndReason)
	}
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g1.SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)
	if s := session(g1.SessionID); s.EndReason != wire.ReasonSignout {
		t.Fatalf("session %s ended %q, want the kiosk's own reason %q", g1.SessionID, s.EndReason, wire.ReasonSignout)
	}

	// The live session, named, goes on.
	g2 := grant(t, first(tap(t, k, badge)))
	k.Conn.Close()
	if w := k.DialHello(wire.Hello{LiveSession: g2.SessionID, Complete: true}); w.Revoke != nil {
		t.Fatalf("the kiosk's live session was revoked at hello: %+v", w.Revoke)
	}
	if !live(g2.SessionID) {
		t.Fatalf("live session %s ended at a hello naming it", g2.SessionID)
	}
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g2.SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)

	// The grant is lost: the channel drops before the kiosk reads it, and
	// the kiosk comes back with nothing.
	g3 := grant(t, first(tap(t, k, badge)))
	k.Conn.Close()
	if w := k.DialHello(wire.Hello{Complete: true}); w.Revoke != nil {
		t.Fatalf("welcome revokes %+v, want nothing (the hello named no session)", w.Revoke)
	}
	if s := session(g3.SessionID); s.Ended.IsZero() || s.EndReason != wire.ReasonNotOpened {
		t.Fatalf("session %s after a complete hello without it: ended %v reason %q, want ended %q", g3.SessionID, s.Ended, s.EndReason, wire.ReasonNotOpened)
	}
	push := k.Recv(5 * time.Second)
	var rv wire.SessionRevoke
	if push.Type != wire.TypeSessionRevoke || push.Unmarshal(&rv) != nil || rv.SessionID != g3.SessionID || rv.Reason != wire.ReasonNotOpened {
		t.Fatalf("after the welcome: %s %s, want session.revoke of %s (not_opened)", push.Type, push.Data, g3.SessionID)
	}
	k.Ack(push)
	h.WaitAcked(t, g3.SessionID)

	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "session.end"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d["session"] == g3.SessionID && d["reason"] == wire.ReasonNotOpened && r.Actor == "device:"+k.ID {
			found = true
		}
	}
	if !found {
		t.Errorf("no session.end audit record (reason not_opened, actor device:%s) for %s", k.ID, g3.SessionID)
	}
}
