package push

import (
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestErrorAnswerSettlesPush: a push the kiosk answers with an error (a
// session.extend an older agent does not know, a revoke whose teardown
// failed) is answered, not outstanding: it is passed on to the handler and
// no longer counts against maxOutstanding, so a kiosk that keeps answering
// is never dropped as one that stopped.
func TestErrorAnswerSettlesPush(t *testing.T) {
	e := newTestEnv(t, nil)
	ws, _ := e.connect(t, "kiosk-1")
	for i := range maxOutstanding + 1 {
		p, err := e.hub.Push("kiosk-1", wire.TypeSessionExtend, wire.SessionExtend{SessionID: "s"})
		if err != nil {
			t.Fatalf("push %d (every earlier one answered with an error): %v", i, err)
		}
		if env := readEnv(t, ws); env.ID != p.ID {
			t.Fatalf("push %d: got %+v", i, env)
		}
		writeEnv(t, ws, wire.TypeError, "", p.ID, wire.Error{Code: wire.ErrUnknownType, Message: "unknown type"})
		if got := recv(t, e.rec.requests, "error passed on"); got.Type != wire.TypeError || got.Re != p.ID {
			t.Fatalf("handler got %+v, want the error answering %s", got, p.ID)
		}
	}
}
