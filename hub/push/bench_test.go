package push

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// benchHandler counts acks down and reports when the last one of a round
// arrives.
type benchHandler struct {
	remaining atomic.Int64
	last      chan time.Time
}

func (h *benchHandler) Hello(_ context.Context, id string, _ wire.Hello) (wire.Welcome, error) {
	return wire.Welcome{DeviceID: id}, nil
}

func (h *benchHandler) Request(context.Context, string, wire.Envelope) (wire.Envelope, error) {
	return wire.Envelope{}, ErrUnknownType
}

func (h *benchHandler) Acked(_ string, _ Push, at time.Time) {
	if h.remaining.Add(-1) == 0 {
		h.last <- at
	}
}

func (h *benchHandler) Disconnected(string) {}

// BenchmarkFanout is the mass revoke: 1,000 connected kiosks over real TLS
// WebSockets, one session.revoke to each, every client acks at once; one
// op is one round from the first Push call to the last ack.
func BenchmarkFanout(b *testing.B) { benchFanout(b, 1000, 1000) }

// BenchmarkFanout8k is BenchmarkFanout at the scale of the mass-revoke
// target (10,000 kiosks): as many connections as a process may open here
// with both ends in it (20,000 files). It tells whether the push layer
// alone, without a database, a big heap or a second process, fits the
// target: 220-248 ms a round on average (five runs) when each push was
// queued for its connection's writer; with PushMany, run in turn with the
// old binary, 194 and 252 ms against 239 and 255.
func BenchmarkFanout8k(b *testing.B) { benchFanout(b, 8000, 8000) }

// BenchmarkFanoutLeaver is one leaver: 1,000 kiosks connected, the
// leaver's sessions on 3 of them.
func BenchmarkFanoutLeaver(b *testing.B) { benchFanout(b, 1000, 3) }

func benchFanout(b *testing.B, conns, targets int) {
	e := newTestEnv(b, nil)
	bh := &benchHandler{last: make(chan time.Time, 1)}
	e.hub.handler = bh

	ids := make([]string, conns)
	for i := range ids {
		ids[i] = fmt.Sprintf("kiosk-%05d", i)
	}
	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	clients := make([]*websocket.Conn, conns)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				clients[i] = benchConnect(b, e, ids[i])
			}
		}()
	}
	for i := range ids {
		work <- i
	}
	close(work)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	for _, ws := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ackLoop(ws)
		}()
	}
	b.Cleanup(func() {
		for _, ws := range clients {
			ws.Close()
		}
		wg.Wait()
	})
	if got := e.hub.Count(); got != conns {
		b.Fatalf("Count = %d, want %d", got, conns)
	}
	var m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m1)

	var lats []time.Duration
	next := 0
	for b.Loop() {
		bh.remaining.Store(int64(targets))
		t0 := time.Now()
		// As the hub sends them: one at a time for a leaver, PushMany for
		// a batch of 64 or more (hub.asyncPushes).
		round := make([]Outgoing, targets)
		for i := range round {
			id := ids[next%conns]
			next++
			round[i] = Outgoing{DeviceID: id, Type: wire.TypeSessionRevoke, Data: wire.SessionRevoke{SessionID: "s-" + id, Reason: wire.ReasonDeprovisioned}}
		}
		if targets >= 64 {
			e.hub.PushMany(round, func(i int, _ Push, err error) {
				if err != nil {
					b.Error(err)
				}
			})
		} else {
			for _, o := range round {
				if _, err := e.hub.Push(o.DeviceID, o.Type, o.Data); err != nil {
					b.Fatal(err)
				}
			}
		}
		select {
		case last := <-bh.last:
			lats = append(lats, last.Sub(t0))
		case <-time.After(10 * time.Second):
			b.Fatalf("round timed out with %d acks missing", bh.remaining.Load())
		}
	}
	reportRounds(b, lats)
	// Both ends live in this process: a rough upper bound for the hub's
	// own cost per connection.
	inuse := func(m *runtime.MemStats) float64 { return float64(m.HeapInuse + m.StackInuse) }
	b.ReportMetric((inuse(&m1)-inuse(&m0))/float64(conns)/1024, "KiB/conn-pair")
}

// benchConnect opens a channel and reads its welcome.
func benchConnect(b *testing.B, e *testEnv, id string) *websocket.Conn {
	ws, _, err := e.dial(b, id)
	if err != nil {
		b.Errorf("dial %s: %v", id, err)
		return nil
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"hello","id":"h","data":{"profile":"bench"}}`)); err != nil {
		b.Errorf("hello %s: %v", id, err)
		return nil
	}
	if _, _, err := ws.ReadMessage(); err != nil {
		b.Errorf("welcome %s: %v", id, err)
	}
	return ws
}

// ackLoop is a kiosk that acks every push at once.
func ackLoop(ws *websocket.Conn) {
	var env struct {
		ID string `json:"id"`
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if err := json.Unmarshal(msg, &env); err != nil || env.ID == "" {
			continue
		}
		ack := make([]byte, 0, 64)
		ack = append(ack, `{"v":1,"type":"ack","re":"`...)
		ack = append(ack, env.ID...)
		ack = append(ack, `"}`...)
		if err := ws.WriteMessage(websocket.TextMessage, ack); err != nil {
			return
		}
	}
}

// BenchmarkFanoutTLSFloor is BenchmarkFanout with everything but TLS taken
// away: the same 1,000 mTLS connections on 127.0.0.1, but one bare TLS
// record out to each (the size of a session.revoke frame) and one back,
// with no WebSocket, JSON, hub or handler. It is the floor the fan-out
// is measured against: what a push and its ack cost on this machine
// before any of our code runs.
func BenchmarkFanoutTLSFloor(b *testing.B) { benchFloor(b, 1000) }

// BenchmarkFanoutTLSFloor8k is the floor at BenchmarkFanout8k's scale:
// 135-161 ms a round of 8,000 on average (five runs), the slowest of ten
// 175-182 ms (two runs), about the same per connection as at 1,000.
func BenchmarkFanoutTLSFloor8k(b *testing.B) { benchFloor(b, 8000) }

func benchFloor(b *testing.B, conns int) {
	pki := certstest.New(b)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.ServerConfig(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	// The hub's side: a reader per connection counts acks down.
	var remaining atomic.Int64
	last := make(chan time.Time, 1)
	server := make(chan net.Conn, conns)
	go func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if err := c.(*tls.Conn).Handshake(); err != nil {
					b.Errorf("server handshake: %v", err) // the round then times out
				}
				server <- c
			}()
		}
	}()
	// The kiosks' side: read a record, answer with one.
	cfg := pki.ClientConfig(b, "kiosk-floor")
	for range conns {
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf, ack := make([]byte, 512), make([]byte, 90)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
				if _, err := c.Write(ack); err != nil {
					return
				}
			}
		}()
	}
	hub := make([]net.Conn, 0, conns)
	for range conns {
		s := <-server
		defer s.Close()
		hub = append(hub, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 512)
			for {
				if _, err := s.Read(buf); err != nil {
					return
				}
				if remaining.Add(-1) == 0 {
					last <- time.Now()
				}
			}
		}()
	}
	frame := make([]byte, 140)
	var lats []time.Duration
	for b.Loop() {
		remaining.Store(int64(conns))
		t0 := time.Now()
		for _, c := range hub {
			if _, err := c.Write(frame); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case at := <-last:
			lats = append(lats, at.Sub(t0))
		case <-time.After(10 * time.Second):
			b.Fatalf("round timed out with %d acks missing", remaining.Load())
		}
	}
	reportRounds(b, lats)
}

// reportRounds reports the p50 and p99 of the rounds' times (each round:
// the first push to the last ack), by nearest rank: with fewer than 100
// rounds the p99 is the slowest round.
func reportRounds(b *testing.B, lats []time.Duration) {
	slices.Sort(lats)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(lats)))) - 1
		return float64(lats[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
