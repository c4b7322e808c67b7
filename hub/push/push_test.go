package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

func TestHelloWelcome(t *testing.T) {
	e := newTestEnv(t, nil)
	ws, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, ws, wire.TypeHello, "h1", "", wire.Hello{AgentVersion: "1.2.3", Profile: "zebra-et40", LiveSession: "s-9"})
	env := readEnv(t, ws)
	if env.Type != wire.TypeWelcome || env.Re != "h1" || env.ID != "" {
		t.Fatalf("got %+v, want a welcome answering h1 without an ID", env)
	}
	var w wire.Welcome
	if err := env.Unmarshal(&w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wire.Welcome{DeviceID: "kiosk-1", DeviceName: "kiosk kiosk-1", Site: "site-1"}, w); diff != "" {
		t.Errorf("welcome (-want +got):\n%s", diff)
	}
	got := recv(t, e.rec.hellos, "hello")
	if diff := cmp.Diff(wire.Hello{AgentVersion: "1.2.3", Profile: "zebra-et40", LiveSession: "s-9"}, got); diff != "" {
		t.Errorf("hello (-want +got):\n%s", diff)
	}
	if !e.hub.Connected("kiosk-1") || e.hub.Count() != 1 {
		t.Errorf("Connected = %v, Count = %d; want true, 1", e.hub.Connected("kiosk-1"), e.hub.Count())
	}

	ws.Close()
	if id := recv(t, e.rec.disconnected, "disconnect"); id != "kiosk-1" {
		t.Errorf("Disconnected(%q), want kiosk-1", id)
	}
	if e.hub.Connected("kiosk-1") || e.hub.Count() != 0 {
		t.Errorf("after close: Connected = %v, Count = %d; want false, 0", e.hub.Connected("kiosk-1"), e.hub.Count())
	}
}

func TestNoClientCertificate(t *testing.T) {
	e := newTestEnv(t, nil)
	_, resp, err := e.dial(t, "")
	if err == nil {
		t.Fatal("dial without a client certificate succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial without a client certificate: %v, response %+v; want 401", err, resp)
	}
	if e.hub.Count() != 0 {
		t.Errorf("Count = %d, want 0", e.hub.Count())
	}
}

func TestFirstMessageMustBeHello(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		wantRe   string
		wantCode string
	}{
		{"request before hello", `{"v":1,"type":"challenge.request","id":"c1"}`, "c1", wire.ErrState},
		{"ack before hello", `{"v":1,"type":"ack","id":"a1","re":"x"}`, "a1", wire.ErrState},
		{"malformed", `{"v":1,"type":`, "", wire.ErrBadMessage},
		{"wrong version", `{"v":7,"type":"hello","id":"h7"}`, "h7", wire.ErrVersion},
		{"hello without data", `{"v":1,"type":"hello","id":"h0"}`, "h0", wire.ErrBadMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			ws, _, err := e.dial(t, "kiosk-1")
			if err != nil {
				t.Fatal(err)
			}
			writeRaw(t, ws, []byte(tt.frame))
			got := readError(t, ws, tt.wantRe)
			if got.Code != tt.wantCode {
				t.Errorf("error code %q, want %q", got.Code, tt.wantCode)
			}
			if want := fmt.Sprintf("protocol version %d", wire.Version); tt.wantCode == wire.ErrVersion && !strings.Contains(got.Message, want) {
				t.Errorf("error message %q does not name %q", got.Message, want)
			}
			if code, _ := readClose(t, ws); code != websocket.ClosePolicyViolation {
				t.Errorf("close code %d, want %d", code, websocket.ClosePolicyViolation)
			}
			if e.hub.Count() != 0 {
				t.Errorf("Count = %d, want 0", e.hub.Count())
			}
			none(t, e.rec.hellos, 20*time.Millisecond, "Hello call")
		})
	}
}

func TestHelloTimeout(t *testing.T) {
	e := newTestEnv(t, func(_ *Config, tm *timing) { tm.hello = 100 * time.Millisecond })
	ws, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	readClose(t, ws)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("silent connection closed after %v, want about 100ms", d)
	}
}

func TestHelloRefused(t *testing.T) {
	e := newTestEnv(t, nil)
	e.rec.hello = func(context.Context, string, wire.Hello) (wire.Welcome, error) {
		return wire.Welcome{}, &SafeError{Code: wire.ErrState, Message: "device not enrolled", Err: errors.New("row missing")}
	}
	ws, _, err := e.dial(t, "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, ws, wire.TypeHello, "h1", "", wire.Hello{Profile: "p"})
	if got := readError(t, ws, "h1"); got != (wire.Error{Code: wire.ErrState, Message: "device not enrolled"}) {
		t.Errorf("error %+v", got)
	}
	if code, _ := readClose(t, ws); code != websocket.ClosePolicyViolation {
		t.Errorf("close code %d, want %d", code, websocket.ClosePolicyViolation)
	}
	recv(t, e.rec.disconnected, "disconnect")
	if e.hub.Count() != 0 {
		t.Errorf("Count = %d, want 0", e.hub.Count())
	}
}

func TestOversizeMessage(t *testing.T) {
	e := newTestEnv(t, nil)
	ws, _ := e.connect(t, "kiosk-1")
	big := fmt.Sprintf(`{"v":1,"type":"echo","id":"big","data":"%s"}`, strings.Repeat("x", wire.MaxMessageBytes))
	writeRaw(t, ws, []byte(big))
	if code, _ := readClose(t, ws); code != websocket.CloseMessageTooBig && code != -1 {
		t.Errorf("close code %d, want %d", code, websocket.CloseMessageTooBig)
	}
	recv(t, e.rec.disconnected, "disconnect")
	none(t, e.rec.requests, 20*time.Millisecond, "request")

	// The hub carries on.
	ws2, _ := e.connect(t, "kiosk-2")
	writeEnv(t, ws2, "echo", "e1", "", "still here")
	if env := readEnv(t, ws2); env.Type != "echo.reply" || env.Re != "e1" {
		t.Errorf("got %+v, want echo.reply", env)
	}
}

func TestBadMessagesKeepTheChannel(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		wantRe   string
		wantCode string
	}{
		{"not json", `hello?`, "", wire.ErrBadMessage},
		{"truncated", `{"v":1,"type":"echo","id":"t1"`, "", wire.ErrBadMessage},
		{"no type", `{"v":1,"id":"n1"}`, "n1", wire.ErrBadMessage},
		{"numeric id", `{"v":1,"type":"echo","id":5}`, "", wire.ErrBadMessage},
		{"wrong version", `{"v":2,"type":"echo","id":"v2"}`, "v2", wire.ErrVersion},
		{"no version", `{"type":"echo","id":"v0"}`, "v0", wire.ErrVersion},
		{"array", `[1,2,3]`, "", wire.ErrBadMessage},
		{"second hello", `{"v":1,"type":"hello","id":"h2","data":{}}`, "h2", wire.ErrState},
	}
	e := newTestEnv(t, nil)
	ws, _ := e.connect(t, "kiosk-1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeRaw(t, ws, []byte(tt.frame))
			if got := readError(t, ws, tt.wantRe); got.Code != tt.wantCode {
				t.Errorf("error code %q, want %q", got.Code, tt.wantCode)
			}
			writeEnv(t, ws, "echo", "ok-"+tt.name, "", 1)
			if env := readEnv(t, ws); env.Type != "echo.reply" || env.Re != "ok-"+tt.name {
				t.Fatalf("after bad message got %+v, want echo.reply", env)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		typ  string
		want wire.Error
	}{
		{"bogus", wire.Error{Code: wire.ErrUnknownType, Message: "unknown message type"}},
		{"fail", wire.Error{Code: wire.ErrInternal, Message: "internal error"}},
		{"safe", wire.Error{Code: wire.ErrState, Message: "not now"}},
		{"panic", wire.Error{Code: wire.ErrInternal, Message: "internal error"}},
	}
	e := newTestEnv(t, nil)
	ws, _ := e.connect(t, "kiosk-1")
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			writeEnv(t, ws, tt.typ, "r-"+tt.typ, "", nil)
			if got := readError(t, ws, "r-"+tt.typ); got != tt.want {
				t.Errorf("error %+v, want %+v", got, tt.want)
			}
			writeEnv(t, ws, "echo", "e-"+tt.typ, "", nil)
			if env := readEnv(t, ws); env.Type != "echo.reply" || env.Re != "e-"+tt.typ {
				t.Fatalf("got %+v, want echo.reply", env)
			}
		})
	}
	t.Run("no reply", func(t *testing.T) {
		writeEnv(t, ws, "quiet", "q1", "", nil)
		// An incoming error is handed to the handler but never answered
		// with another error.
		writeEnv(t, ws, wire.TypeError, "", "whatever", wire.Error{Code: "x"})
		writeEnv(t, ws, "echo", "e2", "", nil)
		if env := readEnv(t, ws); env.Type != "echo.reply" || env.Re != "e2" {
			t.Fatalf("got %+v, want only echo.reply", env)
		}
	})
}

func TestRequestsInOrder(t *testing.T) {
	e := newTestEnv(t, nil)
	var inFlight atomic.Int32
	var overlap atomic.Bool
	e.rec.request = func(ctx context.Context, deviceID string, env wire.Envelope) (wire.Envelope, error) {
		if deviceID == "kiosk-1" {
			if inFlight.Add(1) > 1 {
				overlap.Store(true)
			}
			defer inFlight.Add(-1)
		}
		return defaultRequest(ctx, env)
	}
	ws, _ := e.connect(t, "kiosk-1")
	const n = 30
	for i := range n {
		// Varying handler times must not reorder the replies.
		writeEnv(t, ws, "sleep", fmt.Sprint("r", i), "", (n-i)%4)
	}
	for i := range n {
		env := readEnv(t, ws)
		if want := fmt.Sprint("r", i); env.Re != want || env.Type != "echo.reply" {
			t.Fatalf("reply %d: %+v, want echo.reply to %s", i, env, want)
		}
	}
	for i := range n {
		if got := recv(t, e.rec.requests, "request"); got.ID != fmt.Sprint("r", i) {
			t.Fatalf("handler saw %s as request %d", got.ID, i)
		}
	}
	if overlap.Load() {
		t.Error("requests of one connection overlapped")
	}
}

func TestConnectionsInParallel(t *testing.T) {
	e := newTestEnv(t, nil)
	release := make(chan struct{})
	e.rec.request = func(ctx context.Context, deviceID string, env wire.Envelope) (wire.Envelope, error) {
		if env.Type == "block" {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return wire.Envelope{Type: "unblocked"}, nil
		}
		return defaultRequest(ctx, env)
	}
	ws1, _ := e.connect(t, "kiosk-1")
	ws2, _ := e.connect(t, "kiosk-2")
	writeEnv(t, ws1, "block", "b1", "", nil)
	recv(t, e.rec.requests, "blocking request")
	// kiosk-2 is served while kiosk-1's request blocks, and so are
	// kiosk-1's acks: they are not requests.
	writeEnv(t, ws2, "echo", "e1", "", nil)
	if env := readEnv(t, ws2); env.Re != "e1" {
		t.Fatalf("got %+v", env)
	}
	p, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonForced})
	if err != nil {
		t.Fatal(err)
	}
	if env := readEnv(t, ws1); env.ID != p.ID {
		t.Fatalf("got %+v, want the push", env)
	}
	writeEnv(t, ws1, wire.TypeAck, "", p.ID, nil)
	recv(t, e.rec.acks, "ack")
	close(release)
	if env := readEnv(t, ws1); env.Type != "unblocked" || env.Re != "b1" {
		t.Fatalf("got %+v, want unblocked", env)
	}
}

func TestPushAck(t *testing.T) {
	now := time.Date(2025, 3, 1, 17, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	e := newTestEnv(t, func(c *Config, _ *timing) { c.Now = func() time.Time { return *clock.Load() } })
	ws, _ := e.connect(t, "kiosk-1")

	revoke := wire.SessionRevoke{SessionID: "s-42", Reason: wire.ReasonDeprovisioned}
	p, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, revoke)
	if err != nil {
		t.Fatal(err)
	}
	want := Push{ID: p.ID, DeviceID: "kiosk-1", Type: wire.TypeSessionRevoke, Data: revoke, Sent: now}
	if diff := cmp.Diff(want, p); diff != "" || p.ID == "" {
		t.Errorf("Push (-want +got):\n%s", diff)
	}
	env := readEnv(t, ws)
	if env.Type != wire.TypeSessionRevoke || env.ID != p.ID || env.Re != "" {
		t.Fatalf("got %+v, want the push", env)
	}
	var got wire.SessionRevoke
	if err := env.Unmarshal(&got); err != nil || got != revoke {
		t.Fatalf("push data %+v (%v), want %+v", got, err, revoke)
	}
	// A second push gets a fresh ID; a raw JSON payload goes out as is.
	p2, err := e.hub.Push("kiosk-1", wire.TypeEnrollStart, json.RawMessage(`{"user":"ann"}`))
	if err != nil || p2.ID == p.ID {
		t.Fatalf("second push %+v, %v", p2, err)
	}
	if env := readEnv(t, ws); env.ID != p2.ID || string(env.Data) != `{"user":"ann"}` {
		t.Fatalf("got %+v", env)
	}

	later := now.Add(time.Second)
	clock.Store(&later)
	writeEnv(t, ws, wire.TypeAck, "", p.ID, nil)
	a := recv(t, e.rec.acks, "ack")
	if diff := cmp.Diff(ackEvent{"kiosk-1", want, want.Sent.Add(time.Second)}, a, cmp.AllowUnexported(ackEvent{})); diff != "" {
		t.Errorf("Acked (-want +got):\n%s", diff)
	}
	// A duplicate or unknown ack is ignored: no Acked, no request, no reply.
	writeEnv(t, ws, wire.TypeAck, "", p.ID, nil)
	writeEnv(t, ws, wire.TypeAck, "", "nonsense", nil)
	writeEnv(t, ws, "echo", "e1", "", nil)
	if env := readEnv(t, ws); env.Re != "e1" {
		t.Fatalf("got %+v, want only the echo", env)
	}
	none(t, e.rec.acks, 20*time.Millisecond, "ack")
	if got := recv(t, e.rec.requests, "request"); got.Type != "echo" {
		t.Errorf("handler got request %+v", got)
	}

	if _, err := e.hub.Push("kiosk-1", "bad type\"", nil); err == nil {
		t.Error("push with a type needing escapes succeeded")
	}
	if _, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, func() {}); err == nil {
		t.Error("push of unencodable data succeeded")
	}
}

func TestPushOffline(t *testing.T) {
	e := newTestEnv(t, nil)
	if _, err := e.hub.Push("nobody", wire.TypeSessionRevoke, nil); !errors.Is(err, ErrOffline) {
		t.Errorf("push to unknown device: %v, want ErrOffline", err)
	}
	ws, _ := e.connect(t, "kiosk-1")
	ws.Close()
	recv(t, e.rec.disconnected, "disconnect")
	if _, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, nil); !errors.Is(err, ErrOffline) {
		t.Errorf("push to disconnected device: %v, want ErrOffline", err)
	}
}

func TestDisconnect(t *testing.T) {
	e := newTestEnv(t, nil)
	ws, _ := e.connect(t, "kiosk-1")
	other, _ := e.connect(t, "kiosk-2")
	e.hub.Disconnect("kiosk-1", wire.ReasonDeviceDisabled)
	e.hub.Disconnect("nobody", wire.ReasonDeviceDisabled)
	code, text := readClose(t, ws)
	if code != websocket.ClosePolicyViolation || text != wire.ReasonDeviceDisabled {
		t.Errorf("close %d %q, want %d %q", code, text, websocket.ClosePolicyViolation, wire.ReasonDeviceDisabled)
	}
	if id := recv(t, e.rec.disconnected, "disconnect"); id != "kiosk-1" {
		t.Errorf("Disconnected(%q)", id)
	}
	if e.hub.Connected("kiosk-1") || !e.hub.Connected("kiosk-2") || e.hub.Count() != 1 {
		t.Errorf("Connected(1) = %v, Connected(2) = %v, Count = %d", e.hub.Connected("kiosk-1"), e.hub.Connected("kiosk-2"), e.hub.Count())
	}
	writeEnv(t, other, "echo", "e", "", nil)
	readEnv(t, other)
}

func TestReconnectReplaces(t *testing.T) {
	e := newTestEnv(t, nil)
	old, _ := e.connect(t, "kiosk-1")
	p0, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, nil)
	if err != nil {
		t.Fatal(err)
	}
	readEnv(t, old)

	ws, _ := e.connect(t, "kiosk-1")
	if code, _ := readClose(t, old); code != websocket.ClosePolicyViolation {
		t.Errorf("old connection closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}
	none(t, e.rec.disconnected, 50*time.Millisecond, "Disconnected for a replaced connection")
	if !e.hub.Connected("kiosk-1") || e.hub.Count() != 1 {
		t.Errorf("Connected = %v, Count = %d; want true, 1", e.hub.Connected("kiosk-1"), e.hub.Count())
	}
	p, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, wire.SessionRevoke{SessionID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if env := readEnv(t, ws); env.ID != p.ID {
		t.Fatalf("got %+v", env)
	}
	// Outstanding pushes belong to their connection.
	writeEnv(t, ws, wire.TypeAck, "", p0.ID, nil)
	writeEnv(t, ws, wire.TypeAck, "", p.ID, nil)
	if a := recv(t, e.rec.acks, "ack"); a.push.ID != p.ID {
		t.Errorf("acked %s, want %s", a.push.ID, p.ID)
	}
	ws.Close()
	recv(t, e.rec.disconnected, "disconnect")
	if e.hub.Count() != 0 {
		t.Errorf("Count = %d, want 0", e.hub.Count())
	}
}

func TestWelcomeRevokeIsAcked(t *testing.T) {
	e := newTestEnv(t, nil)
	revoke := &wire.SessionRevoke{SessionID: "s-7", Reason: wire.ReasonShiftEnd}
	e.rec.hello = func(_ context.Context, id string, h wire.Hello) (wire.Welcome, error) {
		return wire.Welcome{DeviceID: id, Revoke: revoke}, nil
	}
	ws, welcome := e.connect(t, "kiosk-1")
	if welcome.ID == "" {
		t.Fatal("a welcome with a revoke has no ID to ack")
	}
	writeEnv(t, ws, wire.TypeAck, "", welcome.ID, nil)
	a := recv(t, e.rec.acks, "ack")
	if a.push.ID != welcome.ID || a.push.Type != wire.TypeSessionRevoke || a.push.Data != *revoke {
		t.Errorf("acked %+v", a.push)
	}
}

func TestPushDuringHelloFollowsWelcome(t *testing.T) {
	e := newTestEnv(t, nil)
	pushed := make(chan Push, 1)
	e.rec.hello = func(_ context.Context, id string, h wire.Hello) (wire.Welcome, error) {
		// A revocation lands while the verdict is being made.
		p, err := e.hub.Push(id, wire.TypeSessionRevoke, wire.SessionRevoke{SessionID: "s"})
		if err != nil {
			t.Errorf("push during hello: %v", err)
		}
		pushed <- p
		return wire.Welcome{DeviceID: id}, nil
	}
	ws, _ := e.connect(t, "kiosk-1") // fails unless the welcome comes first
	p := recv(t, pushed, "push")
	if env := readEnv(t, ws); env.ID != p.ID || env.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %+v, want the push", env)
	}
}

func TestMissingPongs(t *testing.T) {
	// The pong wait is also how long a stall of either end (the race
	// detector on a loaded machine descheduling the client's reader or
	// the hub's) may last before the client that answers is dropped as
	// well: at 150 ms, one run in six under load dropped it.
	const pongWait = 500 * time.Millisecond
	e := newTestEnv(t, func(_ *Config, tm *timing) {
		tm.ping = 20 * time.Millisecond
		tm.pongWait = pongWait
	})
	// A client that reads answers pings (gorilla's default ping handler)
	// and stays; one that stops reading sends no pongs and is dropped.
	alive, _ := e.connect(t, "alive")
	pinged := make(chan time.Time, 1) // when the latest ping was answered
	pong := alive.PingHandler()
	alive.SetPingHandler(func(data string) error {
		select {
		case <-pinged:
		default:
		}
		pinged <- time.Now()
		return pong(data)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				return
			}
		}
	}()
	_, _ = e.connect(t, "silent")
	if id := recv(t, e.rec.disconnected, "disconnect"); id != "silent" {
		t.Errorf("Disconnected(%q), want silent", id)
	}
	// The client that answers is still pinged, and so still connected,
	// two pong waits after it answered its first ping: its pongs, not
	// its hello, keep it.
	var first time.Time
	for kept := false; !kept; {
		select {
		case at := <-pinged:
			if first.IsZero() {
				first = at
			}
			kept = at.Sub(first) >= 2*pongWait
		case id := <-e.rec.disconnected:
			t.Fatalf("Disconnected(%q) while the client answering pings was watched", id)
		case <-time.After(5 * time.Second):
			t.Fatal("the client answering pings is pinged no more")
		}
	}
	if !e.hub.Connected("alive") {
		t.Error("a client answering pings was dropped")
	}
	alive.Close()
	<-done
}

func TestFullQueueDrops(t *testing.T) {
	e := newTestEnv(t, func(c *Config, tm *timing) {
		c.SendQueue = 4
		tm.writeWait = 3 * time.Second
	})
	ws, _ := e.connect(t, "kiosk-1") // and then never reads
	payload := json.RawMessage(`"` + strings.Repeat("x", 32<<10) + `"`)
	var err error
	var slowest time.Duration
	for i := 0; i < 20000 && err == nil; i++ {
		start := time.Now()
		_, err = e.hub.Push("kiosk-1", wire.TypeEnrollStart, payload)
		slowest = max(slowest, time.Since(start))
	}
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("pushing to a kiosk that does not read: %v, want ErrOffline at some point", err)
	}
	// A Push that blocked on the full queue would wait for the writer,
	// stuck in a write to the kiosk until writeWait (3 s). A third of it
	// tells the two apart with room for a loaded machine (the race
	// detector and other test binaries stalled one Push for 161 ms).
	if slowest > time.Second {
		t.Errorf("slowest Push took %v; Push must not block on a kiosk that does not read", slowest)
	}
	// The channel is dropped at once, but its writer may be in a write to
	// the kiosk that does not read, which ends at its deadline; on a
	// loaded machine (the race detector, other tests) that takes longer
	// than recv's 5 s. What counts is that it is dropped.
	dropped := time.Now()
	select {
	case <-e.rec.disconnected:
	case <-time.After(30 * time.Second):
		t.Fatal("the kiosk that does not read was never disconnected")
	}
	t.Logf("disconnected %v after the queue filled", time.Since(dropped).Round(time.Millisecond))
	if e.hub.Connected("kiosk-1") {
		t.Error("still connected")
	}
	ws.Close()
}

func TestCloseEndsEverything(t *testing.T) {
	e := newTestEnv(t, nil)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		ws, _ := e.connect(t, fmt.Sprint("kiosk-", i))
		writeEnv(t, ws, "sleep", "s", "", 60_000) // in flight at Close
		wg.Add(1)
		go func() {
			defer wg.Done()
			readClose(t, ws)
		}()
	}
	for range n {
		recv(t, e.rec.requests, "request")
	}
	// A connection still in its hello.
	pending, _, err := e.dial(t, "kiosk-late")
	if err != nil {
		t.Fatal(err)
	}
	_ = e.hub.Close()
	wg.Wait()
	readClose(t, pending)
	for range n {
		recv(t, e.rec.disconnected, "disconnect")
	}
	if e.hub.Count() != 0 {
		t.Errorf("Count = %d after Close", e.hub.Count())
	}
	if _, err := e.hub.Push("kiosk-1", wire.TypeSessionRevoke, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("push after Close: %v, want ErrClosed", err)
	}
	if _, resp, err := e.dial(t, "kiosk-1"); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v, %v; want 503", err, resp)
	}
}

// TestWorkersPark: a request worker waits for the next connection with
// requests instead of ending, at most maxParked wait, and Close ends them.
func TestWorkersPark(t *testing.T) {
	e := newTestEnv(t, nil)
	e.hub.maxParked = 2
	release := make(chan struct{})
	e.rec.request = func(ctx context.Context, deviceID string, env wire.Envelope) (wire.Envelope, error) {
		if env.Type == "block" {
			<-release
			return wire.Envelope{Type: "unblocked"}, nil
		}
		return defaultRequest(ctx, env)
	}
	waitParked := func(want int32, exact bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for n := e.hub.parked.Load(); n != want && (exact || n < want); n = e.hub.parked.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("%d workers parked, want %d", n, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var ws []*websocket.Conn
	for i := range 4 {
		w, _ := e.connect(t, fmt.Sprint("kiosk-", i))
		ws = append(ws, w)
	}

	// Requests one after another, on different channels, are served by
	// the parked worker. (A request that comes in the instant between a
	// worker counting itself parked and waiting starts another, so allow
	// a spare.)
	const rounds = 20
	for i := range rounds {
		w := ws[i%len(ws)]
		writeEnv(t, w, "echo", fmt.Sprint("e", i), "", nil)
		if env := readEnv(t, w); env.Re != fmt.Sprint("e", i) {
			t.Fatalf("got %+v", env)
		}
		recv(t, e.rec.requests, "request")
		waitParked(1, false) // a spare may park too
	}
	if n := e.hub.started.Load(); n > 2 {
		t.Errorf("%d workers started for %d requests one after another, want 1", n, rounds)
	}

	// Four at once need four workers; afterwards only maxParked wait.
	for i, w := range ws {
		writeEnv(t, w, "block", fmt.Sprint("b", i), "", nil)
	}
	for range ws {
		recv(t, e.rec.requests, "blocking request")
	}
	close(release)
	for _, w := range ws {
		if env := readEnv(t, w); env.Type != "unblocked" {
			t.Fatalf("got %+v", env)
		}
	}
	waitParked(2, true)
	// The other two end rather than park: the count stays at 2 (a worker
	// that finds the bound reached counts itself only for an instant).
	time.Sleep(20 * time.Millisecond)
	waitParked(2, true)

	_ = e.hub.Close()
	if n := e.hub.parked.Load(); n != 0 {
		t.Errorf("%d workers still parked after Close", n)
	}
}

// TestPushMany: every push goes out in order behind what was queued
// before it, each outcome is reported once, and a kiosk that is offline
// fails alone.
func TestPushMany(t *testing.T) {
	e := newTestEnv(t, nil)
	const kiosks = 5
	conns := make([]*websocket.Conn, kiosks)
	for i := range conns {
		conns[i], _ = e.connect(t, fmt.Sprintf("kiosk-%d", i))
	}
	// A push queued first must reach kiosk-0 before the PushMany's.
	first, err := e.hub.Push("kiosk-0", wire.TypeEnrollStart, json.RawMessage(`{"user":"first"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ps []Outgoing
	for i := range kiosks {
		for j := range 3 {
			ps = append(ps, Outgoing{DeviceID: fmt.Sprintf("kiosk-%d", i), Type: wire.TypeSessionRevoke, Data: wire.SessionRevoke{SessionID: fmt.Sprintf("s-%d-%d", i, j)}})
		}
	}
	ps = append(ps, Outgoing{DeviceID: "nobody", Type: wire.TypeSessionRevoke})
	var mu sync.Mutex
	outcomes := map[int]error{}
	ids := map[int]string{}
	e.hub.PushMany(ps, func(i int, p Push, err error) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := outcomes[i]; dup {
			t.Errorf("push %d reported twice", i)
		}
		outcomes[i], ids[i] = err, p.ID
	})
	if len(outcomes) != len(ps) {
		t.Fatalf("%d outcomes for %d pushes", len(outcomes), len(ps))
	}
	if err := outcomes[len(ps)-1]; !errors.Is(err, ErrOffline) {
		t.Errorf("push to an offline kiosk: %v, want ErrOffline", err)
	}
	if env := readEnv(t, conns[0]); env.ID != first.ID {
		t.Fatalf("kiosk-0 got %+v first, want the push queued before", env)
	}
	for i, ws := range conns {
		for j := range 3 {
			k := i*3 + j
			if outcomes[k] != nil {
				t.Fatalf("push %d: %v", k, outcomes[k])
			}
			env := readEnv(t, ws)
			var rv wire.SessionRevoke
			_ = env.Unmarshal(&rv)
			if env.ID != ids[k] || rv.SessionID != fmt.Sprintf("s-%d-%d", i, j) {
				t.Fatalf("kiosk-%d got %+v (%+v), want push %d", i, env, rv, k)
			}
			writeEnv(t, ws, wire.TypeAck, "", env.ID, nil)
			if a := recv(t, e.rec.acks, "ack"); a.push.ID != ids[k] {
				t.Fatalf("acked %+v, want push %d", a.push, k)
			}
		}
	}
}

// TestPushManyPastAStuckKiosk: a kiosk that has stopped reading blocks
// the write of its push, not the pushes behind it: they go out from
// another goroutine long before its write times out. PushMany itself
// returns once the stuck write ends (here: the kiosk goes away).
func TestPushManyPastAStuckKiosk(t *testing.T) {
	const writeWait = 20 * time.Second
	e := newTestEnv(t, func(_ *Config, tm *timing) { tm.writeWait = writeWait })
	stuck, _ := e.connect(t, "stuck") // never reads
	defer stuck.Close()
	reader, _ := e.connect(t, "reader")
	big := json.RawMessage(`"` + strings.Repeat("x", 32<<10) + `"`)
	var ps []Outgoing
	for range 512 { // 16 MiB: more than the socket buffers hold
		ps = append(ps, Outgoing{DeviceID: "stuck", Type: wire.TypeEnrollStart, Data: big})
	}
	ps = append(ps, Outgoing{DeviceID: "reader", Type: wire.TypeSessionRevoke, Data: wire.SessionRevoke{SessionID: "s-1"}})
	start := time.Now()
	readerErr := make(chan error, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		e.hub.PushMany(ps, func(i int, _ Push, err error) {
			if i == len(ps)-1 {
				readerErr <- err
			}
		})
	}()
	if env := readEnv(t, reader); env.Type != wire.TypeSessionRevoke {
		t.Fatalf("reader got %+v", env)
	}
	if d := time.Since(start); d > writeWait/2 {
		t.Errorf("the reading kiosk got its push after %v: it waited for the stuck kiosk's write (timeout %v)", d, writeWait)
	}
	if err := recv(t, readerErr, "the reading kiosk's outcome"); err != nil {
		t.Errorf("push to the reading kiosk: %v", err)
	}
	stuck.Close()
	recv(t, returned, "PushMany to return once the stuck kiosk is gone")
}

// TestPushManyKeepsEachKiosksOrder: with several writers (one stalls at
// its first push, so others start), every kiosk still gets its pushes in
// their order in the batch.
func TestPushManyKeepsEachKiosksOrder(t *testing.T) {
	e := newTestEnv(t, nil)
	const kiosks, per = 20, 30 // per < the send queue: nothing overflows
	conns := make([]*websocket.Conn, kiosks)
	for k := range conns {
		conns[k], _ = e.connect(t, fmt.Sprintf("kiosk-%d", k))
	}
	var ps []Outgoing
	for j := range per { // interleaved: kiosk 0's first, kiosk 1's first, …
		for k := range kiosks {
			ps = append(ps, Outgoing{DeviceID: fmt.Sprintf("kiosk-%d", k), Type: wire.TypeSessionRevoke, Data: wire.SessionRevoke{SessionID: strconv.Itoa(j)}})
		}
	}
	var wg sync.WaitGroup
	for k, ws := range conns {
		wg.Go(func() {
			for j := range per {
				env := readEnv(t, ws)
				var rv wire.SessionRevoke
				_ = env.Unmarshal(&rv)
				if rv.SessionID != strconv.Itoa(j) {
					t.Errorf("kiosk-%d: frame %d is push %s", k, j, rv.SessionID)
					return
				}
			}
		})
	}
	var stalled atomic.Bool
	e.hub.PushMany(ps, func(i int, _ Push, err error) {
		if err != nil {
			t.Errorf("push %d: %v", i, err)
		}
		if stalled.CompareAndSwap(false, true) {
			time.Sleep(10 * stallCheck) // the other writers start meanwhile
		}
	})
	wg.Wait()
}

// TestDisconnectPastAStuckWrite: a kiosk that stopped reading holds a
// direct write until the write's deadline. A ping falling due meanwhile
// must not hold the connection's writer goroutine as well, or a
// disconnect would wait for that deadline instead of closing the socket
// (and so ending the stuck write) within closeWait.
func TestDisconnectPastAStuckWrite(t *testing.T) {
	const writeWait = 30 * time.Second
	e := newTestEnv(t, func(_ *Config, tm *timing) {
		tm.writeWait = writeWait
		tm.ping = 10 * time.Millisecond
	})
	stuck, _ := e.connect(t, "stuck") // never reads
	defer stuck.Close()
	big := json.RawMessage(`"` + strings.Repeat("x", 32<<10) + `"`)
	var ps []Outgoing
	for range 512 { // 16 MiB: more than the socket buffers hold
		ps = append(ps, Outgoing{DeviceID: "stuck", Type: wire.TypeEnrollStart, Data: big})
	}
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		e.hub.PushMany(ps, func(int, Push, error) {})
	}()
	time.Sleep(300 * time.Millisecond) // the write fills the buffers; pings fall due
	none(t, returned, 0, "PushMany to block on a kiosk that does not read")
	e.hub.Disconnect("stuck", "test")
	recv(t, returned, "PushMany to return once the channel is disconnected, well before the write deadline")
}
