package agent

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestAgentOverRealChannel runs the Agent with the real Client against a
// scripted hub over mutual TLS: login, a revoke acknowledged only after the
// teardown hook returned, then a sign-out reported with session.end.
func TestAgentOverRealChannel(t *testing.T) {
	pki := certstest.New(t)
	fromHub := make(chan wire.Envelope, 16)
	toHub := make(chan func(ws *websocket.Conn), 16)
	srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
		welcome(t, ws, hello, "", wire.Welcome{Site: "north", ServerTime: time.Now()})
		msgs := make(chan wire.Envelope)
		go func() {
			defer close(msgs)
			for {
				e, err := readEnv(ws)
				if err != nil {
					return
				}
				msgs <- e
			}
		}()
		grants := 0
		for {
			select {
			case e, ok := <-msgs:
				if !ok {
					return
				}
				switch e.Type {
				case wire.TypeChallengeRequest:
					sendEnv(t, ws, wire.TypeChallenge, "", e.ID, wire.Challenge{Options: requestOptions("c"), Origin: testOrigin, ExpiresAt: time.Now().Add(time.Minute)})
				case wire.TypeLogin:
					grants++
					id := "s" + string(rune('0'+grants))
					sendEnv(t, ws, wire.TypeSessionGrant, "", e.ID, wire.SessionGrant{SessionID: id, User: "ana", Role: "nurse", Apps: []string{"emr"}, ExpiresAt: time.Now().Add(time.Hour)})
				case wire.TypeSessionEnd:
					sendEnv(t, ws, wire.TypeAck, "", e.ID, nil)
					fromHub <- e
				default:
					fromHub <- e
				}
			case f := <-toHub:
				f(ws)
			}
		}
	})

	c := newTestClient(t, pki, srv.url, nil, nil)
	badges := t.TempDir()
	registerBadge(t, badges, "ana")
	src, _ := ParseAuthenticator("soft:"+badges, authSoftOpts())
	ev := newRecorder()
	tornDown := make(chan Session, 4)
	release := make(chan struct{})
	a, err := New(Config{StateDir: t.TempDir(), Hub: c, Authenticators: src, Events: ev,
		Teardown: func(ctx context.Context, s Session) error {
			tornDown <- s
			<-release
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)

	ev.expect(t, EventConnected)
	a.Tap("ana")
	if e := ev.expect(t, EventSessionStarted)[0]; e.SessionID != "s1" {
		t.Fatalf("session.started %+v", e)
	}

	toHub <- func(ws *websocket.Conn) {
		sendEnv(t, ws, wire.TypeSessionRevoke, "p1", "", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonEntitlementRemoved})
	}
	recv(t, tornDown, "teardown")
	select {
	case e := <-fromHub:
		t.Fatalf("hub got %s before the teardown finished", e.Type)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if e := ev.ended(t); e.Reason != wire.ReasonEntitlementRemoved {
		t.Errorf("session.ended %+v", e)
	}
	if ack := recv(t, fromHub, "ack"); ack.Type != wire.TypeAck || ack.Re != "p1" {
		t.Errorf("hub got %+v, want the ack of p1", ack)
	}

	a.Tap("ana")
	ev.expect(t, EventSessionStarted)
	a.Signout()
	ev.ended(t)
	end := recv(t, fromHub, "session.end")
	var se wire.SessionEnd
	if err := end.Unmarshal(&se); err != nil || end.Type != wire.TypeSessionEnd || se.SessionID != "s2" || se.Reason != wire.ReasonSignout {
		t.Errorf("hub got %+v (%+v)", end, se)
	}
}

// runAgent runs a until the test ends; the cleanup stops it and waits for
// Run to return.
func runAgent(t *testing.T, a *Agent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitLimit):
			t.Error("Run did not return")
		}
	})
}
