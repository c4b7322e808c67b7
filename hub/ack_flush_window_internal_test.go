package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// busyWrites is a store whose first write, once armed, waits until
// released and then fails as SQLite does after waiting out its busy
// timeout (another process holding the write lock): it does not end
// with its context, as the writer's BEGIN does not. It notes, of each
// later write, whether its context was still live when it began.
type busyWrites struct {
	store.Store
	entered chan struct{} // closed when the first write began
	release chan struct{} // closed by the test to end the first write

	mu    sync.Mutex
	first bool
	later []bool // per later write: its context was live
}

func (b *busyWrites) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	b.mu.Lock()
	first := !b.first
	b.first = true
	if !first {
		b.later = append(b.later, ctx.Err() == nil)
	}
	b.mu.Unlock()
	if first {
		close(b.entered)
		<-b.release
		return fmt.Errorf("begin transaction: %w: database is locked", store.ErrBusy)
	}
	return b.Store.InTx(ctx, fn)
}

// TestAckFlushWindowCountsFromTheStop: the ackFlushWait a shutdown gives
// the held acks counts from when the recorder was stopped, not from the
// end of a write the stop found running. That write cannot be cut short
// (SQLite waits out its busy timeout, 5 s, while another process holds
// the lock): the flush used to start a window of its own after it and
// try again, for up to another busy timeout, so a hub stopped while its
// store was locked took twice the bound or more to exit, past what
// systemd waits (TimeoutStopSec) once the HTTP shutdown had taken its
// own 5 s.
func TestAckFlushWindowCountsFromTheStop(t *testing.T) {
	s := newHelloHub(t, "k1")
	b := &busyWrites{Store: s.st, entered: make(chan struct{}), release: make(chan struct{})}
	s.st = b

	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); s.channel.recordAcks(ctx) }()
	addAckedRevocation(t, s, "sess-1")
	select {
	case <-b.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the ack was never written")
	}
	stop()
	// The running write outlasts the whole window before it fails.
	time.Sleep(ackFlushWait + 100*time.Millisecond)
	close(b.release)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the recorder did not return after its context ended")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, live := range b.later {
		if live {
			t.Errorf("write %d began with a live context after the flush window (from the stop) had passed: the shutdown waits a window more", i+2)
		}
	}
}
