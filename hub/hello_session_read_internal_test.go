package hub

import (
	"context"
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// busySessions is a store whose session reads fail as a database locked
// by another process does; device reads work.
type busySessions struct{ store.Store }

func (busySessions) GetSession(context.Context, string) (store.Session, error) {
	return store.Session{}, store.ErrBusy
}

// TestHelloSessionReadFailureKeepsSession: a hello whose live session
// cannot be read (the store busy, as in a reconnect storm) is the hub's
// failure, which the agent retries with its backoff, keeping the session
// under its offline grace meanwhile; it is not a verdict that ends the
// session of the person working at the kiosk as "forced". A session the
// store does not know is still ended.
func TestHelloSessionReadFailureKeepsSession(t *testing.T) {
	s := newHelloHub(t, "k1")
	ctx := channelCtx(t)
	s.st = busySessions{s.st}
	w, err := s.channel.Hello(ctx, "k1", wire.Hello{AgentVersion: "test", Profile: "generic-x86", LiveSession: "sess-1"})
	if w.Revoke != nil {
		t.Errorf("hello with the store busy: welcome revokes %+v, want the session kept", *w.Revoke)
	}
	if se := (*push.SafeError)(nil); err == nil || errors.As(err, &se) || !errors.Is(err, store.ErrBusy) {
		t.Errorf("hello with the store busy: %v, want an internal error wrapping store.ErrBusy", err)
	}

	s.st = s.st.(busySessions).Store
	w, err = s.channel.Hello(ctx, "k1", wire.Hello{AgentVersion: "test", Profile: "generic-x86", LiveSession: "sess-unknown"})
	if err != nil {
		t.Fatalf("hello naming an unknown session: %v", err)
	}
	if w.Revoke == nil || w.Revoke.Reason != wire.ReasonForced {
		t.Errorf("hello naming an unknown session: revoke %+v, want %s", w.Revoke, wire.ReasonForced)
	}
}
