package agent

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// A grant that comes after the login gave up (LoginTimeout) is a session
// the hub holds live and the kiosk never opened: the agent reports its end
// (reason not_opened), so that the hub does not show it live until it
// expires. The worker saw a refusal and taps again.
func TestLateGrantReportedNotOpened(t *testing.T) {
	pki := certstest.New(t)
	ends := make(chan wire.SessionEnd, 4)
	hellos := make(chan wire.Hello, 4)
	refused := make(chan struct{})
	var writes sync.Mutex // the grant goes out from its own goroutine
	send := func(ws *websocket.Conn, typ, re string, data any) {
		writes.Lock()
		defer writes.Unlock()
		sendEnv(t, ws, typ, "", re, data)
	}
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		var h wire.Hello
		_ = hello.Unmarshal(&h)
		hellos <- h
		welcome(t, ws, hello, "", wire.Welcome{Site: "north", ServerTime: time.Now()})
		for {
			e, err := readEnv(ws)
			if err != nil {
				return
			}
			switch e.Type {
			case wire.TypeChallengeRequest:
				send(ws, wire.TypeChallenge, e.ID, wire.Challenge{Options: requestOptions("c"), Origin: testOrigin, ExpiresAt: time.Now().Add(time.Minute)})
			case wire.TypeLogin:
				// The hub commits the session and answers only once the
				// kiosk has given up.
				go func(re string) {
					<-refused
					send(ws, wire.TypeSessionGrant, re, wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", Apps: []string{"emr"}, ExpiresAt: time.Now().Add(time.Hour)})
				}(e.ID)
			case wire.TypeSessionEnd:
				var se wire.SessionEnd
				_ = e.Unmarshal(&se)
				send(ws, wire.TypeAck, e.ID, nil)
				ends <- se
			}
		}
	})
	c := newTestClient(t, pki, srv.url, nil, nil)
	badges := t.TempDir()
	registerBadge(t, badges, "ana")
	src, _ := ParseAuthenticator("soft:"+badges, authSoftOpts())
	ev := newRecorder()
	a, err := New(Config{StateDir: t.TempDir(), Hub: c, Authenticators: src, Events: ev, LoginTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	if h := recv(t, hellos, "hello"); !h.Complete || h.LiveSession != "" || len(h.Ended) != 0 {
		t.Errorf("first hello = %+v, want complete and naming no session", h)
	}
	ev.expect(t, EventConnected)
	a.Tap("ana")
	if e := ev.expect(t, EventLoginRefused)[0]; e.Reason != RefusedHubUnreachable {
		t.Errorf("login.refused %+v, want reason %s", e, RefusedHubUnreachable)
	}
	close(refused)
	if se := recv(t, ends, "session.end of the late grant"); se.SessionID != "s1" || se.Reason != wire.ReasonNotOpened {
		t.Fatalf("session.end = %+v, want s1 not_opened", se)
	}
	if a.State() != Locked {
		t.Errorf("state %s after a late grant, want locked", a.State())
	}
	ev.none(t)
}

// What a hello reports of the kiosk's sessions: the live one, the ends
// whose reports are still queued, and whether that is all of them.
func TestHelloNamesQueuedEnds(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	hello := func() wire.Hello { return (hubHandler{h.a}).HelloSessions() }
	if got := hello(); got.LiveSession != "s1" || !got.Complete || len(got.Ended) != 0 {
		t.Fatalf("hello with s1 open = %+v", got)
	}
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.a.Signout()
	h.ev.ended(t)
	if got := hello(); got.LiveSession != "" || !got.Complete || !slices.Equal(got.Ended, []string{"s1"}) {
		t.Fatalf("hello with s1's end queued = %+v, want ended [s1], complete", got)
	}
	h.hub.connect()
	h.hub.waitFor("the queued session.end", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 1 })
	h.waitLoop("the report taken off the queue", func() bool { return len(h.a.pending) == 0 })
	if got := hello(); got.LiveSession != "" || !got.Complete || len(got.Ended) != 0 {
		t.Fatalf("hello once the report was delivered = %+v", got)
	}
}

// A kiosk with more queued reports than a hello may name does not say its
// list is complete: the hub must not end the sessions it left out.
func TestHelloIncompleteWithManyQueuedEnds(t *testing.T) {
	dir := t.TempDir()
	var pending []wire.SessionEnd
	for i := range wire.MaxHelloEnded + 1 {
		pending = append(pending, wire.SessionEnd{SessionID: fmt.Sprintf("s%d", i), Reason: wire.ReasonSignout})
	}
	mustNoErr(t, writeSessionState(dir, sessionState{Pending: pending}))
	h := startHarness(t, dir, t.TempDir(), newFakeClock())
	if got := h.hub.handler().HelloSessions(); got.Complete || len(got.Ended) != 0 {
		t.Fatalf("hello with %d reports queued = complete %v, %d named; want incomplete", len(pending), got.Complete, len(got.Ended))
	}
}
