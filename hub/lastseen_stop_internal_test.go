package hub

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/push"
)

// holdWarning is a log handler that, at the first record whose message
// holds msg, tells held and waits until release is closed: it keeps the
// goroutine that logs there from going on.
type holdWarning struct {
	slog.Handler
	msg     string
	held    chan struct{}
	release chan struct{}
}

func (h *holdWarning) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.msg) {
		select {
		case <-h.held:
		default:
			close(h.held)
			<-h.release
		}
	}
	return h.Handler.Handle(ctx, r)
}

// TestShutdownWaitsForSeenRecorder: the goroutine of the periodic
// last-seen flush has ended before the shutdown's flush begins and
// before ServeListener returns. Here it is held where it warns that its
// flush failed; ServeListener used to go on without it, flush, and return
// while it was still running: a flush it went on to make reached the
// store after the caller had closed it.
func TestShutdownWaitsForSeenRecorder(t *testing.T) {
	s, _ := seenHub(t)
	held := &heldTouches{Store: s.st, entered: make(chan map[string]time.Time), release: make(chan error)}
	s.st = held
	hold := &holdWarning{Handler: s.cfg.Logger.Handler(), msg: "the next flush tries again",
		held: make(chan struct{}), release: make(chan struct{})}
	s.cfg.Logger = slog.New(hold)
	at := s.cfg.Now().UTC().Truncate(time.Millisecond)
	s.seen.mark("k1", at)
	_, cancel, wait := serveSeen(t, s)
	select {
	case <-held.entered: // the periodic flush, seenFlushEvery after the start
	case <-time.After(30 * time.Second):
		t.Fatal("the last-seen times were never flushed")
	}
	held.release <- errDiskIO // kept for the next flush, and warned of
	<-hold.held

	cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- wait() }()
	// The recorder is still in its warning: neither the shutdown's flush
	// nor the return may come before it has ended. A second is ample for
	// either to come, were they not waiting for it.
	select {
	case <-held.entered:
		t.Error("the shutdown's flush began while the periodic flush's goroutine was still running")
		held.release <- nil
		close(hold.release)
		<-stopped
		return
	case err := <-stopped:
		close(hold.release)
		t.Fatalf("ServeListener returned (%v) while the periodic flush's goroutine was still running", err)
	case <-time.After(time.Second):
	}
	close(hold.release)
	select {
	case batch := <-held.entered: // the shutdown's flush, of what the failed one kept
		if !batch["k1"].Equal(at) {
			t.Errorf("the shutdown's flush wrote %v, want k1's sighting at %s", batch, at)
		}
		held.release <- nil
	case err := <-stopped:
		t.Fatalf("ServeListener returned without flushing at shutdown: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("ServeListener: %v", err)
	}
	wantSeenStored(t, held.Store, at)
}

// errListenerBroke is how brokenListener's Accept fails.
var errListenerBroke = errors.New("accept: listener broke")

// brokenListener is a listener whose Accept fails for good once its
// inner listener is closed, as a listener whose socket is gone.
type brokenListener struct{ net.Listener }

func (l brokenListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, errListenerBroke
	}
	return c, nil
}

// TestServeFailureShutsDown: when the listener fails, ServeListener
// returns the error after shutting down as it does when its context
// ends: the kiosks' channels are closed (they reconnect to a hub that
// serves) and their last-seen times written. It used to return at once:
// the channels stayed open to a hub that served no more, and the
// sightings in memory were lost.
func TestServeFailureShutsDown(t *testing.T) {
	s, logs := seenHub(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	listening := make(chan struct{})
	go func() {
		served <- s.ServeListener(t.Context(), brokenListener{ln}, func(net.Addr) { close(listening) })
	}()
	<-listening
	at := s.cfg.Now().UTC().Truncate(time.Millisecond)
	s.seen.mark("k1", at)
	ln.Close()
	select {
	case err := <-served:
		if !errors.Is(err, errListenerBroke) {
			t.Fatalf("ServeListener = %v, want the listener's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ServeListener did not return after its listener failed")
	}
	if _, err := s.push.Push("k1", "ping", nil); !errors.Is(err, push.ErrClosed) {
		t.Errorf("push after the listener failed: %v, want %v: the kiosks' channels were left open", err, push.ErrClosed)
	}
	wantSeenStored(t, s.st, at)
	noSeenWarning(t, logs)
}
