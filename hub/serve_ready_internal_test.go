package hub

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

// failingListener is a listener whose every Accept fails at once, with
// an error that is not temporary, as one whose socket is gone: Serve
// returns at its first Accept. failed is closed at that first Accept.
type failingListener struct {
	net.Listener
	once   sync.Once
	failed chan struct{}
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.failed) })
	return nil, errListenerBroke
}

// TestServeReadyNotAfterFailure: ready, which announces a hub that
// serves (the CLI's demo and hubtest go on to use it), is never called
// once ServeTLS has failed, and ServeListener returns the listener's
// error. ready used to be called whatever became of ServeTLS, started
// beside it: here the "hub listening" line logged before it is held
// until the listener has failed, which made the old order certain.
func TestServeReadyNotAfterFailure(t *testing.T) {
	s, _ := seenHub(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &failingListener{Listener: ln, failed: make(chan struct{})}
	s.cfg.Logger = slog.New(&holdWarning{Handler: s.cfg.Logger.Handler(), msg: "hub listening",
		held: make(chan struct{}), release: fl.failed})
	var afterFailure bool
	served := make(chan error, 1)
	go func() {
		served <- s.ServeListener(t.Context(), fl, func(net.Addr) {
			select {
			case <-fl.failed:
				afterFailure = true
			default:
			}
		})
	}()
	select {
	case err := <-served:
		if !errors.Is(err, errListenerBroke) {
			t.Errorf("ServeListener = %v, want the listener's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ServeListener did not return after its listener failed")
	}
	if afterFailure {
		t.Error("ready was called after the listener had failed: it announced a hub that does not serve")
	}
}
