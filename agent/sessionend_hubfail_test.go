package agent

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestSessionEndKeptWhenHubFails: a session.end report the hub answers
// with wire.ErrInternal (it could not record it: its disk full, its
// database locked by another program) is kept and sent again, like one
// lost in transit. It used to be dropped as a refusal: the hub then kept
// the session live after the worker signed out, without its session.end
// audit record or the acknowledgement of a revocation the report stands
// for. A refusal (bad_message) is still dropped: resending cannot help.
func TestSessionEndKeptWhenHubFails(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", time.Hour)
	var tries atomic.Int32
	h.hub.setResponder(wire.TypeSessionEnd, func(context.Context, any) (wire.Envelope, error) {
		if tries.Add(1) == 1 {
			return wire.Envelope{}, &RemoteError{Type: wire.TypeSessionEnd, Code: wire.ErrInternal, Message: "internal error"}
		}
		return env(t, wire.TypeAck, nil), nil
	})
	h.a.Signout()
	h.ev.ended(t)
	h.hub.waitFor("session.end sent", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 1 })
	h.waitLoop("the failed try", func() bool { return !h.a.flushing })
	var kept int
	h.do(func() { kept = len(h.a.pending) })
	if kept != 1 {
		t.Fatalf("%d reports pending after the hub failed, want the report kept", kept)
	}
	h.clock.Advance(flushRetry)
	h.hub.waitFor("session.end sent again", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 2 })
	h.waitLoop("the report delivered", func() bool { return !h.a.flushing && len(h.a.pending) == 0 })

	// A refusal is dropped at once.
	h.login("s2", "ana", time.Hour)
	h.hub.setResponder(wire.TypeSessionEnd, func(context.Context, any) (wire.Envelope, error) {
		return wire.Envelope{}, &RemoteError{Type: wire.TypeSessionEnd, Code: wire.ErrBadMessage, Message: "session.end: unknown reason"}
	})
	h.a.Signout()
	h.ev.ended(t)
	h.hub.waitFor("second session.end sent", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 3 })
	h.waitLoop("the refused report dropped", func() bool { return !h.a.flushing && len(h.a.pending) == 0 })
}
