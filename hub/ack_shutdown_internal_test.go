package hub

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// refuseOneAck is a store whose next ack of a revocation, once armed,
// fails as it does while another process holds the database's write
// lock; refused is told when it has.
type refuseOneAck struct {
	store.Store
	armed   atomic.Bool
	refused chan struct{}
}

func (r *refuseOneAck) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return r.Store.InTx(ctx, func(tx store.Ops) error { return fn(refuseOneAckOps{Ops: tx, r: r}) })
}

type refuseOneAckOps struct {
	store.Ops
	r *refuseOneAck
}

func (o refuseOneAckOps) AckRevocations(ctx context.Context, sessionID, deviceID string, at time.Time) (int, error) {
	if o.r.armed.CompareAndSwap(true, false) {
		close(o.r.refused)
		return 0, fmt.Errorf("ack revocations of session %s: %w: database is locked", sessionID, store.ErrBusy)
	}
	return o.Ops.AckRevocations(ctx, sessionID, deviceID, at)
}

// addAckedRevocation stores a revocation of sessionID on kiosk k1 and
// queues the kiosk's ack of it, as the channel does when one arrives.
func addAckedRevocation(t *testing.T, s *Server, sessionID string) {
	t.Helper()
	now := s.cfg.Now().UTC()
	if _, err := s.st.AddRevocation(t.Context(), store.Revocation{UserID: "u1", SessionID: sessionID, DeviceID: "k1", Reason: wire.ReasonForced, Created: now}); err != nil {
		t.Fatal(err)
	}
	s.channel.Acked("k1", push.Push{Type: wire.TypeSessionRevoke, Data: wire.SessionRevoke{SessionID: sessionID, Reason: wire.ReasonForced}, Sent: now}, now)
}

// unacked returns the revocations still waiting for their kiosk's ack.
func unacked(t *testing.T, st store.Store) []store.Revocation {
	t.Helper()
	pending, err := st.ListRevocations(t.Context(), store.RevocationQuery{PendingOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return pending
}

// TestShutdownWritesHeldAcks: an ack the store refused for a passing
// reason, held for the next try, is written when the hub shuts down
// before that try. The recorder used to return at once, and ServeListener
// did not wait for it: the revocation stayed unacknowledged for good.
func TestShutdownWritesHeldAcks(t *testing.T) {
	s := newHelloHub(t, "k1")
	base := s.st
	r := &refuseOneAck{Store: base, refused: make(chan struct{})}
	r.armed.Store(true)
	s.st = r

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.ServeListener(ctx, ln, nil) }()

	addAckedRevocation(t, s, "sess-1")
	select {
	case <-r.refused:
	case <-time.After(10 * time.Second):
		t.Fatal("the ack was never written")
	}
	stop() // before the retry, ackRetry later
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("ServeListener: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ServeListener did not return after its context ended")
	}
	if pending := unacked(t, base); len(pending) != 0 {
		t.Errorf("revocations unacknowledged after the shutdown, though their kiosk acked them: %+v", pending)
	}
}

// TestRecorderStopWritesQueuedAcks: acks still queued when the recorder's
// context ends (those of the kiosks a shutdown disconnects arrive last)
// are written before it returns, not dropped with the context.
func TestRecorderStopWritesQueuedAcks(t *testing.T) {
	s := newHelloHub(t, "k1")
	for i := range 3 {
		addAckedRevocation(t, s, fmt.Sprintf("sess-%d", i))
	}
	ctx, stop := context.WithCancel(t.Context())
	stop()
	s.channel.recordAcks(ctx)
	if pending := unacked(t, s.st); len(pending) != 0 {
		t.Errorf("revocations unacknowledged after the recorder stopped, though their kiosk acked them: %+v", pending)
	}
}
