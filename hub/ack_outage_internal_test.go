package hub

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// failingWrites is a store whose first write transactions fail with err,
// as they do while the disk is full or another process holds the
// database's write lock; it reports the outcome of every transaction.
type failingWrites struct {
	store.Store
	err   error
	fails atomic.Int32 // transactions still to fail
	done  chan error
}

func (f *failingWrites) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	err := f.err
	if f.fails.Add(-1) < 0 {
		err = f.Store.InTx(ctx, fn)
	}
	select {
	case f.done <- err:
	default:
	}
	return err
}

// TestAckOutlivesStoreOutage: a kiosk's acknowledgement of a session.revoke
// that arrives while the store cannot be written (the disk full, or a
// lock another process holds past the busy timeout) is recorded once the
// store takes writes again. It used to be logged and dropped: the
// revocation then stayed unacknowledged for good, and the teardown
// reports counted a kiosk that had torn the session down as one that
// never did.
func TestAckOutlivesStoreOutage(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"full disk", fmt.Errorf("begin transaction: %w: database or disk is full", store.ErrFull)},
		{"locked by another process", fmt.Errorf("begin transaction: %w: database is locked", store.ErrBusy)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newHelloHub(t, "k1")
			ctx := t.Context()
			now := s.cfg.Now().UTC()
			if _, err := s.st.AddRevocation(ctx, store.Revocation{UserID: "u1", SessionID: "sess-1", DeviceID: "k1", Reason: wire.ReasonForced, Created: now}); err != nil {
				t.Fatal(err)
			}
			f := &failingWrites{Store: s.st, err: tc.err, done: make(chan error, 16)}
			f.fails.Store(1)
			s.st = f
			rec, stop := context.WithCancel(ctx)
			ended := make(chan struct{})
			go func() { defer close(ended); s.channel.recordAcks(rec) }()
			t.Cleanup(func() { stop(); <-ended })

			s.channel.Acked("k1", push.Push{Type: wire.TypeSessionRevoke, Data: wire.SessionRevoke{SessionID: "sess-1", Reason: wire.ReasonForced}, Sent: now}, now)
			for i := range 2 {
				select {
				case err := <-f.done:
					if i == 1 && err != nil {
						t.Fatalf("second write of the ack: %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("the ack was written %d time(s), want it written again after the store failed", i)
				}
			}
			pending, err := f.Store.ListRevocations(ctx, store.RevocationQuery{PendingOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) != 0 {
				t.Errorf("revocations still unacknowledged after the store recovered: %+v", pending)
			}
		})
	}
}
