package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
	"github.com/shiftgate/shiftgate/hub/push"
)

// holdingHandler is a push.Handler whose Hello holds kiosk-2's hello
// until release is closed, and then refuses it (so that its channel's
// goroutines are gone before the client's are counted), and welcomes
// every other one.
type holdingHandler struct {
	holding, release chan struct{}
}

func (h holdingHandler) Hello(ctx context.Context, deviceID string, _ wire.Hello) (wire.Welcome, error) {
	if deviceID == "kiosk-2" {
		close(h.holding)
		select {
		case <-h.release:
		case <-ctx.Done():
		}
		return wire.Welcome{}, errors.New("held, then refused")
	}
	return wire.Welcome{DeviceID: deviceID}, nil
}

func (holdingHandler) Request(context.Context, string, wire.Envelope) (wire.Envelope, error) {
	return wire.Envelope{}, nil
}
func (holdingHandler) Acked(string, push.Push, time.Time) {}
func (holdingHandler) Disconnected(string)                {}

// TestClientRetriesBusyHello: a hub busy with other hellos (a restart
// brings every kiosk back at once) refuses this kiosk's hello for want
// of a slot (push.Config.MaxHellos); the agent tries again with its
// backoff, and is welcomed once the hub has a slot for it.
func TestClientRetriesBusyHello(t *testing.T) {
	pki := certstest.New(t)
	hold := holdingHandler{holding: make(chan struct{}), release: make(chan struct{})}
	hub := push.New(push.Config{Handler: hold, MaxHellos: 1, HelloWait: 50 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(wire.WSPath, hub)
	srv := &http.Server{Handler: mux}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(tls.NewListener(ln, pki.ServerConfig(nil)))
	}()
	t.Cleanup(func() {
		_ = hub.Close()
		_ = srv.Close()
		<-served
	})

	// kiosk-2's hello holds the hub's only slot.
	d := websocket.Dialer{TLSClientConfig: pki.ClientConfig(t, "kiosk-2"), HandshakeTimeout: 5 * time.Second}
	holder, _, err := d.Dial("wss://"+ln.Addr().String()+wire.WSPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	sendEnv(t, holder, wire.TypeHello, "h-hold", "", wire.Hello{AgentVersion: "test"})
	recv(t, hold.holding, "kiosk-2's hello")

	clock := &recClock{}
	c := newTestClient(t, pki, "https://"+ln.Addr().String(), nil, func(cfg *ClientConfig) { cfg.Clock = clock })
	h := newRecHandler("")
	stop := runClient(t, c, h)
	deadline := time.Now().Add(waitLimit)
	for hub.BusyHellos() < 2 { // refused, and refused again after its backoff
		if time.Now().After(deadline) {
			t.Fatalf("the hub refused %d hellos as busy, want 2", hub.BusyHellos())
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case w := <-h.connected:
		t.Fatalf("connected (%+v) while the hub had no slot for the hello", w)
	default:
	}
	close(hold.release)
	if w := recv(t, h.connected, "welcome once a slot is free"); w.DeviceID != "kiosk-1" {
		t.Errorf("welcome for %q, want kiosk-1", w.DeviceID)
	}
	stop()
	if n := len(clock.short()); int64(n) < hub.BusyHellos() {
		t.Errorf("%d backoff waits, want one after each of the %d busy refusals", n, hub.BusyHellos())
	}
}
