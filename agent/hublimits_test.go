package agent

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// errorReply returns the error answering push re, waiting for it.
func (h *harness) errorReply(re string) wire.Error {
	h.t.Helper()
	var got wire.Error
	h.hub.waitFor("the error answer to "+re, func() bool {
		for _, r := range h.hub.getReplies() {
			if we, ok := r.Data.(wire.Error); r.Re == re && r.Type == wire.TypeError && ok {
				got = we
				return true
			}
		}
		return false
	})
	return got
}

// A session.extend past the grant plus MaxSession (here to the year 9999)
// is cut to that end, not taken as asked: the session is extended to the
// latest end the kiosk accepts, ends there, and the hub is answered
// bad_message saying so. One within the limit is acked as before.
func TestExtendPastMaxSessionIsCut(t *testing.T) {
	h := newHarness(t, withMaxSession(12*time.Hour))
	h.connect()
	granted := h.clock.Now()
	latest := granted.Add(12*time.Hour + maxSessionSlack)
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse"}, 30*time.Minute)

	within := granted.Add(6 * time.Hour)
	h.hub.push(wire.TypeSessionExtend, "p1", wire.SessionExtend{SessionID: "s1", ExpiresAt: within})
	if e := h.ev.expect(t, EventSessionExtended)[0]; !e.ExpiresAt.Equal(within) {
		t.Errorf("session.extended %+v, want %s", e, within)
	}
	h.hub.waitFor("ack", func() bool { return h.acked("p1") })

	h.hub.push(wire.TypeSessionExtend, "p2", wire.SessionExtend{SessionID: "s1", ExpiresAt: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)})
	if e := h.ev.expect(t, EventSessionExtended)[0]; !e.ExpiresAt.Equal(latest) {
		t.Errorf("session.extended %+v, want it cut to %s", e, latest)
	}
	we := h.errorReply("p2")
	if we.Code != wire.ErrBadMessage || !strings.Contains(we.Message, "later than this kiosk keeps a session open (12h0m0s after its grant)") {
		t.Errorf("answer %+v", we)
	}
	if h.acked("p2") {
		t.Error("the cut extension was also acked")
	}
	if st, _ := readSessionState(h.dir); st.Session == nil || !st.Session.ExpiresAt.Equal(latest) || !st.Session.GrantedAt.Equal(granted) {
		t.Errorf("session.json: %+v", st.Session)
	}
	// Again: nothing moves, and the answer is the same.
	h.hub.push(wire.TypeSessionExtend, "p3", wire.SessionExtend{SessionID: "s1", ExpiresAt: latest.Add(time.Hour)})
	if we := h.errorReply("p3"); we.Code != wire.ErrBadMessage {
		t.Errorf("answer %+v", we)
	}
	h.clock.Advance(latest.Sub(h.clock.Now()) - DefaultWarning)
	h.ev.expect(t, EventSessionWarning)
	h.clock.Advance(DefaultWarning)
	if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
		t.Errorf("ended %+v", e)
	}
}

// The welcome's extend is cut the same way (it is not answered).
func TestWelcomeExtendPastMaxSessionIsCut(t *testing.T) {
	h := newHarness(t, withMaxSession(10*time.Hour))
	h.connect()
	latest := h.clock.Now().Add(10*time.Hour + maxSessionSlack)
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse"}, 30*time.Minute)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.hub.connectWith(wire.Welcome{DeviceID: "kiosk-1", ServerTime: h.clock.Now(),
		Extend: &wire.SessionExtend{SessionID: "s1", ExpiresAt: latest.Add(100 * 24 * time.Hour)}})
	h.ev.expect(t, EventConnected)
	if e := h.ev.expect(t, EventSessionExtended)[0]; !e.ExpiresAt.Equal(latest) {
		t.Errorf("session.extended %+v, want %s", e, latest)
	}
}

// A grant that ends after MaxSession from now (the year 9999 here) opens a
// session that ends at the grant plus MaxSession.
func TestGrantPastMaxSessionIsCut(t *testing.T) {
	h := newHarness(t, withMaxSession(8*time.Hour))
	h.connect()
	latest := h.clock.Now().Add(8*time.Hour + maxSessionSlack)
	registerBadge(t, h.badges, "ana")
	h.hub.setResponder(wire.TypeLogin, func(context.Context, any) (wire.Envelope, error) {
		return wire.New(wire.TypeSessionGrant, "", "x", wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse",
			ExpiresAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)})
	})
	h.a.Tap("ana")
	if e := h.ev.expect(t, EventSessionStarted)[0]; !e.ExpiresAt.Equal(latest) {
		t.Errorf("session.started %+v, want expires_at %s", e, latest)
	}
	h.clock.Advance(latest.Sub(h.clock.Now()) - DefaultWarning)
	h.ev.expect(t, EventSessionWarning)
	h.clock.Advance(DefaultWarning)
	h.ev.ended(t)
}

// A session restored from a session.json without granted_at (an older
// agent's) counts MaxSession from the restart, and keeps that start.
func TestRestoredSessionWithoutGrantTimeIsBounded(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	mustNoErr(t, writeSessionState(dir, sessionState{Session: &liveSession{Session: Session{
		ID: "s1", User: "ana", Apps: []string{}, ExpiresAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
	}}}))
	latest := clock.Now().Add(6*time.Hour + maxSessionSlack)
	h := startHarness(t, dir, badges, clock, withMaxSession(6*time.Hour))
	if e := h.ev.expect(t, EventSessionStarted)[0]; !e.Restored || !e.ExpiresAt.Equal(latest) {
		t.Errorf("session.started %+v, want restored, expires_at %s", e, latest)
	}
	h.do(func() {})
	if st, _ := readSessionState(dir); st.Session == nil || !st.Session.GrantedAt.Equal(clock.Now()) || !st.Session.ExpiresAt.Equal(latest) {
		t.Errorf("session.json: %+v", st.Session)
	}
}

// warn_seconds the agent cannot use are dropped: a lead whose seconds
// overflow a time.Duration (18446744074 s wraps to 0.29 s), negative or
// zero leads, leads longer than the longest session; duplicates go, and at
// most maxWarnings are kept, the shortest. With none left, the agent's own
// lead applies.
func TestWarnSecondsOutOfRange(t *testing.T) {
	h := newHarness(t, withMaxSession(12*time.Hour))
	h.connect()
	h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", WarnSeconds: []int{18446744074}}, 30*time.Minute)
	h.clock.Advance(25*time.Minute - time.Second)
	h.ev.none(t)
	h.clock.Advance(time.Second) // the agent's own 5 minutes
	h.ev.expect(t, EventSessionWarning)

	for _, tc := range []struct {
		name string
		give []int
		want []int
	}{
		{"overflowing and negative", []int{9300000000, -5, 0, 120, 2147483647}, []int{120}},
		{"longer than the longest session", []int{12*3600 + 1, 600}, []int{600}},
		{"too many", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3}, []int{8, 7, 6, 5, 4, 3, 2, 1}},
		{"none usable", []int{-1, 18446744074}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, withMaxSession(12*time.Hour))
			h.connect()
			h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", WarnSeconds: tc.give}, time.Hour)
			st, err := readSessionState(h.dir)
			if err != nil || st.Session == nil || !slices.Equal(st.Session.WarnSeconds, tc.want) {
				t.Errorf("warn_seconds kept: %+v, %v; want %v", st.Session, err, tc.want)
			}
		})
	}
}

// A revoke whose reason is not one of the contract's session.ended
// reasons ends the session as forced: what the hub sends never becomes a
// reason the kiosk's screen does not know.
func TestRevokeUnknownReasonIsForced(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: "<b>gone</b>\n"})
	if e := h.ev.ended(t); e.Reason != wire.ReasonForced {
		t.Errorf("ended with reason %q, want forced", e.Reason)
	}
	h.hub.waitFor("ack", func() bool { return h.acked("p1") })
}

// MaxSession is checked by New.
func TestNewMaxSessionRange(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, DefaultMaxSession + time.Second} {
		_, err := New(Config{StateDir: t.TempDir(), Hub: newFakeHub(t, SystemClock{}), Authenticators: softSource(t), MaxSession: d})
		if err == nil || !strings.Contains(err.Error(), "longest session") {
			t.Errorf("MaxSession %s: %v", d, err)
		}
	}
}

// TestClientReadLimit: a frame over wire.MaxMessageBytes ends the channel
// (gorilla's read limit, SetReadLimit: close 1009 to the hub), and the
// client reconnects; a frame of exactly the limit is delivered.
func TestClientReadLimit(t *testing.T) {
	pki := certstest.New(t)
	closeCodes := make(chan int, 4)
	frame := func(size int) []byte {
		head := `{"v":1,"type":"session.revoke","id":"p1","data":{"session_id":"s1","reason":"forced","pad":"`
		tail := `"}}`
		return []byte(head + strings.Repeat("x", size-len(head)-len(tail)) + tail)
	}
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		welcome(t, ws, hello, "", wire.Welcome{Site: "north"})
		size := wire.MaxMessageBytes + 1
		if n > 1 {
			size = wire.MaxMessageBytes
		}
		_ = ws.WriteMessage(websocket.TextMessage, frame(size))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					closeCodes <- ce.Code
				}
				return
			}
		}
	})
	c := newTestClient(t, pki, srv.url, nil, nil)
	h := newRecHandler("")
	runClient(t, c, h)
	recv(t, h.connected, "the first connection")
	if code := recv(t, closeCodes, "the client closing the channel"); code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want %d (message too big)", code, websocket.CloseMessageTooBig)
	}
	recv(t, h.connected, "the reconnection")
	if p := recv(t, h.pushes, "the push at the limit"); p.ID != "p1" || len(p.Data) == 0 {
		t.Errorf("push %+v", p)
	}
	if n := h.disconnects(); n < 1 {
		t.Errorf("%d disconnects, want the oversized frame to end the first channel", n)
	}
	if len(h.pushes) != 0 {
		t.Error("the oversized frame was delivered")
	}
}
