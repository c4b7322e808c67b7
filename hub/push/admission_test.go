package push

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// admitting is the recorder with an admission check (Admitter).
type admitting struct {
	*recorder
	admit func(ctx context.Context, deviceID string, h wire.Hello) error
}

func (a admitting) Admit(ctx context.Context, deviceID string, h wire.Hello) error {
	return a.admit(ctx, deviceID, h)
}

// withAdmit makes the test hub's handler check admission with admit.
func withAdmit(admit func(context.Context, string, wire.Hello) error) func(*Config, *timing) {
	return func(c *Config, _ *timing) {
		c.Handler = admitting{recorder: c.Handler.(*recorder), admit: admit}
	}
}

// TestRefusedHelloKeepsCurrentChannel: a hello the handler refuses at
// admission (a certificate a renewal replaced, say) is answered with the
// error and closed, and the device's current channel stays up: a
// connection the hub will not take must not cut off the one the kiosk
// has. A push made while admission runs goes to the current channel.
func TestRefusedHelloKeepsCurrentChannel(t *testing.T) {
	var e *testEnv
	pushed := make(chan Push, 1)
	e = newTestEnv(t, withAdmit(func(_ context.Context, id string, h wire.Hello) error {
		if h.Profile != "stale" {
			return nil
		}
		p, err := e.hub.Push(id, wire.TypeSessionRevoke, wire.SessionRevoke{SessionID: "s-1", Reason: wire.ReasonForced})
		if err != nil {
			t.Errorf("push during admission: %v", err)
		}
		pushed <- p
		return &SafeError{Code: wire.ErrState, Message: "certificate replaced", Err: errors.New("serial 42 superseded")}
	}))
	current, _ := e.connect(t, "kiosk-1")

	stale, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, stale, wire.TypeHello, "h2", "", wire.Hello{Profile: "stale"})
	if got := readError(t, stale, "h2"); got != (wire.Error{Code: wire.ErrState, Message: "certificate replaced"}) {
		t.Errorf("refusal %+v", got)
	}
	if code, _ := readClose(t, stale); code != websocket.ClosePolicyViolation {
		t.Errorf("refused connection closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}

	p := recv(t, pushed, "push during admission")
	if env := readEnv(t, current); env.ID != p.ID || env.Type != wire.TypeSessionRevoke {
		t.Fatalf("current channel got %+v, want the push made during admission", env)
	}
	writeEnv(t, current, wire.TypeAck, "", p.ID, nil)
	if a := recv(t, e.rec.acks, "ack"); a.push.ID != p.ID {
		t.Errorf("acked %s, want %s", a.push.ID, p.ID)
	}
	if !e.hub.Connected("kiosk-1") || e.hub.Count() != 1 {
		t.Errorf("Connected = %v, Count = %d; want true, 1", e.hub.Connected("kiosk-1"), e.hub.Count())
	}
	none(t, e.rec.hellos, 20*time.Millisecond, "Hello call for a connection refused at admission")
	none(t, e.rec.disconnected, 20*time.Millisecond, "Disconnected call")

	// An admitted hello replaces the channel as before.
	next, _ := e.connect(t, "kiosk-1")
	if code, _ := readClose(t, current); code != websocket.ClosePolicyViolation {
		t.Errorf("replaced connection closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}
	next.Close()
	recv(t, e.rec.disconnected, "disconnect")
}

// TestAdmissionFailures: an admission check that fails without a
// SafeError, or panics, is an internal error to the kiosk, which keeps
// its current channel.
func TestAdmissionFailures(t *testing.T) {
	e := newTestEnv(t, withAdmit(func(_ context.Context, _ string, h wire.Hello) error {
		switch h.Profile {
		case "fail":
			return errors.New("database on fire")
		case "panic":
			panic("admission bug")
		}
		return nil
	}))
	current, _ := e.connect(t, "kiosk-1")
	for _, profile := range []string{"fail", "panic"} {
		t.Run(profile, func(t *testing.T) {
			ws, _, err := e.dial(t, "kiosk-1")
			if err != nil {
				t.Fatal(err)
			}
			writeEnv(t, ws, wire.TypeHello, "h-"+profile, "", wire.Hello{Profile: profile})
			if got := readError(t, ws, "h-"+profile); got.Code != wire.ErrInternal {
				t.Errorf("refusal %+v, want %s", got, wire.ErrInternal)
			}
			readClose(t, ws)
		})
	}
	writeEnv(t, current, "echo", "e1", "", "still here")
	if env := readEnv(t, current); env.Type != "echo.reply" || env.Re != "e1" {
		t.Errorf("current channel: got %+v, want echo.reply", env)
	}
}

// TestCloseDuringAdmission: Close ends an admission check under way (its
// context) and does not wait for it to give up by itself.
func TestCloseDuringAdmission(t *testing.T) {
	admitting := make(chan struct{})
	e := newTestEnv(t, withAdmit(func(ctx context.Context, _ string, _ wire.Hello) error {
		close(admitting)
		<-ctx.Done()
		return ctx.Err()
	}))
	ws, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, ws, wire.TypeHello, "h1", "", wire.Hello{})
	recv(t, admitting, "admission check")
	closed := make(chan error, 1)
	go func() { closed <- e.hub.Close() }()
	recv(t, closed, "Close")
	if e.hub.Count() != 0 {
		t.Errorf("Count = %d after Close", e.hub.Count())
	}
	none(t, e.rec.hellos, 20*time.Millisecond, "Hello call")
}
