package agent

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// cutProxy relays TCP between the kiosk and the hub on 127.0.0.1. hold
// stops what the hub sends from reaching the kiosk; cut then drops every
// connection with what it held: a network that died with a message on
// its way.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
	held  chan struct{} // closed while nothing is held
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, held: make(chan struct{})}
	close(p.held)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := up.Read(buf)
				if n > 0 {
					p.mu.Lock()
					gate := p.held
					p.mu.Unlock()
					<-gate
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			c.Close()
		}()
	}
}

// hold keeps what the hub sends from now on.
func (p *cutProxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = make(chan struct{})
}

// cut closes every connection, dropping what was held, and relays again.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	select {
	case <-p.held:
	default:
		close(p.held)
	}
}

// A grant lost with the channel: the hub commits the session and writes
// the grant, the network dies before the kiosk reads it, and the kiosk
// comes back without it. Its hello says so, and the hub ends the session
// it never opened (not_opened) and gets the kiosk's ack: nobody is shown
// signed in at a kiosk where nobody is. Real hub, real agent and client.
func TestLostGrantEndedAtReconnect(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	state := enrollAt(t, h, SystemClock{})
	k := &readerKiosk{t: t, hub: h, ev: newRecorder()}
	k.createUser("ola", "Ola")

	proxy := newCutProxy(t, h.URL[len("https://"):])
	badges := t.TempDir()
	src, err := ParseAuthenticator("soft:"+badges, authSoftOpts())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{StateDir: state, Authenticators: src, Events: k.ev, LoginTimeout: time.Second}
	c, err := ClientFromStateDir(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.wsURL = "wss://" + proxy.ln.Addr().String() + wire.WSPath
	c.cfg.Backoff = Backoff{Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond}
	cfg.Hub = c
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	k.ev.expect(t, EventConnected)
	k.armEnrollment("ola")
	a.Tap("ola")
	k.ev.expect(t, EventCredentialRegistered, EventEnrollmentEnded)
	// The login below must reach the hub: with its challenge's answer
	// held too, it would not be sent at all. Wait, in the agent's loop,
	// for the prefetched challenge (on a loaded machine the prefetch
	// after the registration can still be on its way).
	deadline := time.Now().Add(10 * time.Second)
	for ready := false; !ready; {
		done := make(chan struct{})
		a.post(func() { ready = a.challenge != nil; close(done) })
		<-done
		if !ready && time.Now().After(deadline) {
			t.Fatal("no login challenge prefetched after the registration")
		}
		time.Sleep(time.Millisecond)
	}

	proxy.hold()
	a.Tap("ola")
	if e := k.ev.expect(t, EventLoginRefused)[0]; e.Reason != RefusedHubUnreachable {
		t.Fatalf("login with the grant held: %+v, want refused %s", e, RefusedHubUnreachable)
	}
	// The hub may commit after the kiosk gave up waiting (a loaded
	// machine): the session is there within a moment, not necessarily
	// at once.
	var live []store.Session
	for wait := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		live, err = h.Store().ListSessions(t.Context(), store.SessionQuery{LiveOnly: true})
		if err != nil || len(live) == 1 || time.Now().After(wait) {
			break
		}
	}
	if err != nil || len(live) != 1 {
		t.Fatalf("live sessions at the hub while the grant is held: %+v, %v; want the one granted", live, err)
	}
	sid := live[0].ID
	proxy.cut()

	deadline = time.Now().Add(10 * time.Second)
	for {
		s, err := h.Store().GetSession(t.Context(), sid)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: sid})
		if err != nil {
			t.Fatal(err)
		}
		if s.EndReason == wire.ReasonNotOpened && len(rs) == 1 && !rs[0].Acked.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s the kiosk never opened: ended %v reason %q, revocations %+v; want ended not_opened and acknowledged", sid, s.Ended, s.EndReason, rs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := a.State(); st != Locked {
		t.Errorf("kiosk state %s, want locked", st)
	}
}
