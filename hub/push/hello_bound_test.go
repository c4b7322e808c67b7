package push

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// inFlight counts the hellos a handler works on at once, from the start
// of Admit to the end of Hello, and keeps the most it saw.
type inFlight struct {
	n, most atomic.Int32
}

func (f *inFlight) enter() {
	n := f.n.Add(1)
	for {
		m := f.most.Load()
		if n <= m || f.most.CompareAndSwap(m, n) {
			return
		}
	}
}

func (f *inFlight) leave() { f.n.Add(-1) }

// TestHellosAreBounded: a burst of hellos (a hub restart brings every
// kiosk back at once) is worked on a bounded number at a time, by
// default as many as the SQLite store has reader connections: the others
// wait for a slot instead of queueing on the store, and each is welcomed
// in turn.
func TestHellosAreBounded(t *testing.T) {
	limit := max(4, 2*runtime.GOMAXPROCS(0)) // the store's reader pool
	kiosks := 4 * limit
	var f inFlight
	e := newTestEnv(t, func(c *Config, tm *timing) {
		withAdmit(func(context.Context, string, wire.Hello) error {
			f.enter()
			return nil
		})(c, tm)
		c.Handler.(admitting).recorder.hello = func(ctx context.Context, id string, _ wire.Hello) (wire.Welcome, error) {
			defer f.leave()
			time.Sleep(20 * time.Millisecond) // the store's reads
			return wire.Welcome{DeviceID: id}, nil
		}
	})

	conns := make([]*websocket.Conn, kiosks)
	for i := range conns {
		ws, _, err := e.dial(t, "kiosk-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = ws
	}
	// Every hello at once.
	var wg sync.WaitGroup
	errs := make(chan string, kiosks)
	for i, ws := range conns {
		wg.Go(func() {
			id := "h" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			env, err := wire.New(wire.TypeHello, id, "", wire.Hello{AgentVersion: "test"})
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := env.Encode()
			_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
				errs <- err.Error()
				return
			}
			_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, frame, err := ws.ReadMessage()
			if err != nil {
				errs <- err.Error()
				return
			}
			if got, err := wire.Decode(frame); err != nil || got.Type != wire.TypeWelcome || got.Re != id {
				errs <- "answer " + string(frame) + ", want a welcome"
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if most := f.most.Load(); most > int32(limit) {
		t.Errorf("%d hellos worked on at once, want at most %d", most, limit)
	}
	if e.hub.Count() != kiosks {
		t.Errorf("Count = %d, want %d", e.hub.Count(), kiosks)
	}
}

// TestBusyHelloKeepsCurrentChannel: a hello that gets no slot within
// HelloWait is refused with a retryable code and close code 1013 (try
// again later), before it would replace the device's current channel,
// which stays up; the handler never hears of it. Once a slot is free the
// same hello is welcomed.
func TestBusyHelloKeepsCurrentChannel(t *testing.T) {
	holding, release := make(chan struct{}), make(chan struct{})
	var admits atomic.Int32
	e := newTestEnv(t, func(c *Config, tm *timing) {
		c.MaxHellos, c.HelloWait = 1, 100*time.Millisecond
		withAdmit(func(_ context.Context, id string, _ wire.Hello) error {
			admits.Add(1)
			return nil
		})(c, tm)
		c.Handler.(admitting).recorder.hello = func(_ context.Context, id string, h wire.Hello) (wire.Welcome, error) {
			if h.Profile == "hold" {
				close(holding)
				<-release
			}
			return wire.Welcome{DeviceID: id}, nil
		}
	})
	current, _ := e.connect(t, "kiosk-1")

	// kiosk-2's hello holds the only slot.
	holder, _, err := e.dial(t, "kiosk-2")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, holder, wire.TypeHello, "h-hold", "", wire.Hello{Profile: "hold"})
	recv(t, holding, "the held hello")
	recv(t, e.rec.hellos, "the held hello")

	again, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	writeEnv(t, again, wire.TypeHello, "h-busy", "", wire.Hello{})
	if got := readError(t, again, "h-busy"); got != (wire.Error{Code: wire.ErrInternal, Message: busyHello}) {
		t.Errorf("refusal %+v, want %s %q", got, wire.ErrInternal, busyHello)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("refused after %v, want after HelloWait (100ms)", waited)
	}
	if code, _ := readClose(t, again); code != websocket.CloseTryAgainLater {
		t.Errorf("busy connection closed with %d, want %d", code, websocket.CloseTryAgainLater)
	}
	if n := e.hub.BusyHellos(); n != 1 {
		t.Errorf("BusyHellos = %d, want 1", n)
	}
	if n := admits.Load(); n != 2 {
		t.Errorf("%d admission checks, want 2 (the busy hello gets none)", n)
	}
	none(t, e.rec.hellos, 20*time.Millisecond, "Hello call for the busy hello")
	writeEnv(t, current, "echo", "e1", "", "still here")
	if env := readEnv(t, current); env.Type != "echo.reply" || env.Re != "e1" {
		t.Errorf("current channel: got %+v, want echo.reply", env)
	}

	// The slot comes free: the held hello is welcomed, and the kiosk's
	// next try too.
	close(release)
	if env := readEnv(t, holder); env.Type != wire.TypeWelcome {
		t.Errorf("held hello: got %+v, want a welcome", env)
	}
	e.connect(t, "kiosk-1")
	if code, _ := readClose(t, current); code != websocket.ClosePolicyViolation {
		t.Errorf("replaced connection closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}
}

// TestCloseWhileWaitingForSlot: Close ends a hello's wait for a slot at
// once; it is not answered as busy.
func TestCloseWhileWaitingForSlot(t *testing.T) {
	holding := make(chan struct{})
	e := newTestEnv(t, func(c *Config, _ *timing) {
		c.MaxHellos, c.HelloWait = 1, time.Minute
		c.Handler.(*recorder).hello = func(ctx context.Context, id string, h wire.Hello) (wire.Welcome, error) {
			close(holding)
			<-ctx.Done()
			return wire.Welcome{}, ctx.Err()
		}
	})
	holder, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, holder, wire.TypeHello, "h1", "", wire.Hello{})
	recv(t, holding, "the held hello")
	waiting, _, err := e.dial(t, "kiosk-2")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, waiting, wire.TypeHello, "h2", "", wire.Hello{})
	time.Sleep(50 * time.Millisecond) // it waits for the slot
	closed := make(chan error, 1)
	go func() { closed <- e.hub.Close() }()
	recv(t, closed, "Close")
	if n := e.hub.BusyHellos(); n != 0 {
		t.Errorf("BusyHellos = %d, want 0", n)
	}
	_ = waiting.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, b, err := waiting.ReadMessage(); err == nil {
		t.Errorf("waiting hello answered %s at Close, want nothing", b)
	}
}
