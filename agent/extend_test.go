package agent

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// loginWith taps ana's badge with the hub answering g (expires_at in from
// now) and waits for session.started.
func (h *harness) loginWith(g wire.SessionGrant, in time.Duration) Event {
	h.t.Helper()
	registerBadge(h.t, h.badges, g.User)
	h.hub.setResponder(wire.TypeLogin, func(context.Context, any) (wire.Envelope, error) {
		g.ExpiresAt = h.clock.Now().Add(in)
		return wire.New(wire.TypeSessionGrant, "", "x", g)
	})
	h.a.Tap(g.User)
	return h.ev.expect(h.t, EventSessionStarted)[0]
}

// TestHubWarningSchedule: the grant's warn_seconds replace the agent's own
// warning lead: one session.warning at each, then the end at expires_at.
func TestHubWarningSchedule(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", ExpiryReason: wire.ReasonShiftEnd, WarnSeconds: []int{120, 600}}, 30*time.Minute)
	st, err := readSessionState(h.dir)
	if err != nil || st.Session == nil || !slices.Equal(st.Session.WarnSeconds, []int{120, 600}) {
		t.Fatalf("session.json keeps the schedule: %+v, %v", st.Session, err)
	}

	h.clock.Advance(20*time.Minute - time.Second)
	h.ev.none(t)
	h.wantState(Active)
	h.clock.Advance(time.Second)
	h.ev.expect(t, EventSessionWarning)
	h.wantState(Warning)
	h.clock.Advance(8*time.Minute - time.Second)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	if w := h.ev.expect(t, EventSessionWarning)[0]; !w.ExpiresAt.Equal(h.clock.Now().Add(2 * time.Minute)) {
		t.Errorf("second warning = %+v", w)
	}
	h.wantState(Warning)
	h.clock.Advance(2 * time.Minute)
	if e := h.ev.ended(t); e.Reason != wire.ReasonShiftEnd {
		t.Errorf("ended with %q, want shift_end", e.Reason)
	}
}

// TestWarningsPassedWhileDown: a restarted agent whose session is inside
// both warning windows warns once, then ends it on time.
func TestWarningsPassedWhileDown(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock)
	h.connect()
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", WarnSeconds: []int{600, 120}}, 30*time.Minute)
	h.stop()
	clock.Advance(29 * time.Minute)
	h2 := startHarness(t, dir, badges, clock)
	h2.ev.expect(t, EventSessionStarted, EventSessionWarning)
	h2.ev.none(t)
	clock.Advance(time.Minute)
	h2.ev.ended(t)
}

// TestSessionExtendPush: session.extend moves the expiry either way, re-arms
// the warnings, is acked, and is harmless for a session not open here.
func TestSessionExtendPush(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", ExpiryReason: wire.ReasonShiftEnd}, 30*time.Minute)
	h.clock.Advance(26 * time.Minute) // default 5 min lead
	h.ev.expect(t, EventSessionWarning)
	h.wantState(Warning)

	later := h.clock.Now().Add(time.Hour)
	h.hub.push(wire.TypeSessionExtend, "p1", wire.SessionExtend{SessionID: "s1", ExpiresAt: later, ExpiryReason: wire.ReasonExpired})
	if e := h.ev.expect(t, EventSessionExtended)[0]; e.SessionID != "s1" || !e.ExpiresAt.Equal(later) || e.User != "ana" {
		t.Errorf("session.extended = %+v", e)
	}
	h.hub.waitFor("ack", func() bool { return h.acked("p1") })
	h.wantState(Active)
	if st, _ := readSessionState(h.dir); st.Session == nil || !st.Session.ExpiresAt.Equal(later) || st.Session.ExpiryReason != wire.ReasonExpired {
		t.Errorf("session.json after the extension: %+v", st.Session)
	}
	h.clock.Advance(4 * time.Minute) // the old expiry passes
	h.ev.none(t)
	h.wantState(Active)

	// A duplicate, one for another session, and a malformed one.
	h.hub.push(wire.TypeSessionExtend, "p2", wire.SessionExtend{SessionID: "s1", ExpiresAt: later})
	h.hub.push(wire.TypeSessionExtend, "p3", wire.SessionExtend{SessionID: "other", ExpiresAt: later.Add(time.Hour)})
	h.hub.push(wire.TypeSessionExtend, "p4", wire.SessionExtend{SessionID: "s1"})
	h.hub.waitFor("acks", func() bool { return h.acked("p2") && h.acked("p3") })
	h.hub.waitFor("error", func() bool {
		return slices.ContainsFunc(h.hub.getReplies(), func(r replyRec) bool { return r.Re == "p4" && r.Type == wire.TypeError })
	})
	h.ev.none(t)

	// Cut short to a time that has passed: the session ends at once.
	h.hub.push(wire.TypeSessionExtend, "p5", wire.SessionExtend{SessionID: "s1", ExpiresAt: h.clock.Now().Add(-time.Second), ExpiryReason: wire.ReasonShiftEnd})
	h.ev.expect(t, EventSessionExtended)
	if e := h.ev.ended(t); e.Reason != wire.ReasonShiftEnd {
		t.Errorf("ended with %q", e.Reason)
	}
}

// TestWelcomeCarriesExpiry: a kiosk that was offline when its session was
// extended applies the welcome's expiry; one equal to its own changes
// nothing.
func TestWelcomeCarriesExpiry(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse"}, 30*time.Minute)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	later := h.clock.Now().Add(2 * time.Hour)
	h.hub.connectWith(wire.Welcome{DeviceID: "kiosk-1", ServerTime: h.clock.Now(), Extend: &wire.SessionExtend{SessionID: "s1", ExpiresAt: later}})
	h.ev.expect(t, EventConnected, EventSessionExtended)
	h.clock.Advance(time.Hour)
	h.ev.none(t)
	h.hub.handler().Connected(wire.Welcome{DeviceID: "kiosk-1", ServerTime: h.clock.Now(), Extend: &wire.SessionExtend{SessionID: "s1", ExpiresAt: later}})
	h.ev.expect(t, EventConnected)
	h.ev.none(t)
}

// TestSessionExtendOverRealChannel: the real Client delivers a
// session.extend push to the agent and carries its ack back.
func TestSessionExtendOverRealChannel(t *testing.T) {
	pki := certstest.New(t)
	fromHub := make(chan wire.Envelope, 16)
	later := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		welcome(t, ws, hello, "", wire.Welcome{Site: "north", ServerTime: time.Now()})
		for {
			e, err := readEnv(ws)
			if err != nil {
				return
			}
			switch e.Type {
			case wire.TypeChallengeRequest:
				sendEnv(t, ws, wire.TypeChallenge, "", e.ID, wire.Challenge{Options: requestOptions("c"), Origin: testOrigin, ExpiresAt: time.Now().Add(time.Minute)})
			case wire.TypeLogin:
				sendEnv(t, ws, wire.TypeSessionGrant, "", e.ID, wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", ExpiresAt: time.Now().Add(time.Hour), WarnSeconds: []int{600, 120}})
				sendEnv(t, ws, wire.TypeSessionExtend, "p1", "", wire.SessionExtend{SessionID: "s1", ExpiresAt: later, ExpiryReason: wire.ReasonShiftEnd})
			default:
				fromHub <- e
			}
		}
	})
	c := newTestClient(t, pki, srv.url, nil, nil)
	badges := t.TempDir()
	registerBadge(t, badges, "ana")
	src, _ := ParseAuthenticator("soft:"+badges, authSoftOpts())
	ev := newRecorder()
	a, err := New(Config{StateDir: t.TempDir(), Hub: c, Authenticators: src, Events: ev})
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	ev.expect(t, EventConnected)
	a.Tap("ana")
	ev.expect(t, EventSessionStarted)
	if e := ev.expect(t, EventSessionExtended)[0]; !e.ExpiresAt.Equal(later) {
		t.Errorf("session.extended = %+v", e)
	}
	if ack := recv(t, fromHub, "ack"); ack.Type != wire.TypeAck || ack.Re != "p1" {
		t.Errorf("hub got %+v, want the ack of p1", ack)
	}
}
