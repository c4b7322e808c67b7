package sim

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// errClosed means the kiosk's channel is down.
var errClosed = errors.New("kiosk channel closed")

// RemoteError is a wire.Error answer from the hub.
type RemoteError struct {
	Type    string // the request's type
	Code    string // wire.Err*
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("hub refused %s: %s: %s", e.Type, e.Code, e.Message)
}

// kiosk is one virtual kiosk: a device certificate and, once connected, a
// channel with a single reader goroutine. Requests are written by the
// caller under wmu and answered through pending; session.revoke pushes are
// acknowledged by the reader at once.
type kiosk struct {
	idx  int
	name string
	cert tls.Certificate

	ws      *websocket.Conn
	wmu     sync.Mutex  // serialises writes
	closing atomic.Bool // close was called: the reader's end is expected
	seq     atomic.Uint64
	done    chan struct{} // closed when the reader ends

	mu      sync.Mutex
	pending map[string]chan wire.Envelope // nil once the channel is down
	session string                        // the live session this kiosk expects to be revoked
	err     error                         // why the reader ended

	enroll chan wire.Envelope // enroll.start pushes, for the registering worker
	watch  atomic.Pointer[tracker]

	// challenge is a prefetched login challenge; only the goroutine that
	// drives the kiosk touches it.
	challenge *wire.Challenge
	badge     *authenticator.Soft // the kiosk's own user's badge, set when registered
}

// connect dials the hub, sends hello, waits for welcome and starts the
// reader. The welcome's verdict on a live session never applies: the
// simulator reports none.
func (k *kiosk) connect(ctx context.Context, d *websocket.Dialer, wsURL string) error {
	ws, resp, err := d.DialContext(ctx, wsURL, nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial %s: HTTP %d: %w", k.name, resp.StatusCode, err)
		}
		return fmt.Errorf("dial %s: %w", k.name, err)
	}
	ws.SetReadLimit(wire.MaxMessageBytes)
	hello, err := wire.New(wire.TypeHello, "h1", "", wire.Hello{AgentVersion: "shiftgate-sim", Profile: kioskProfile})
	if err != nil {
		ws.Close()
		return err
	}
	frame, _ := hello.Encode() // New made the data: it encodes
	deadline := time.Now().Add(15 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = ws.SetWriteDeadline(deadline)
	if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		ws.Close()
		return fmt.Errorf("hello %s: %w", k.name, err)
	}
	_ = ws.SetReadDeadline(deadline)
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return fmt.Errorf("welcome %s: %w", k.name, err)
	}
	env, err := wire.Decode(data)
	if err == nil && env.Type != wire.TypeWelcome {
		err = fmt.Errorf("hub answered hello with %s %s", env.Type, env.Data)
	}
	if err != nil {
		ws.Close()
		return fmt.Errorf("welcome %s: %w", k.name, err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	k.ws = ws
	k.closing.Store(false)
	k.done = make(chan struct{})
	k.mu.Lock()
	k.pending = make(map[string]chan wire.Envelope, 1)
	k.err = nil
	k.mu.Unlock()
	return nil
}

// connected reports whether the channel is up.
func (k *kiosk) connected() bool {
	if k.done == nil {
		return false
	}
	select {
	case <-k.done:
		return false
	default:
		return true
	}
}

// readLoop is the kiosk's only goroutine; it ends when the channel does,
// calling lost unless close ended it. stray counts messages the kiosk did
// not expect.
func (k *kiosk) readLoop(stray *atomic.Int64, lost func(*kiosk, error)) {
	defer close(k.done)
	var buf bytes.Buffer // reused: Decode copies what it keeps
	for {
		_, r, err := k.ws.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		data := buf.Bytes()
		if err != nil {
			k.mu.Lock()
			k.pending = nil
			k.err = err
			k.mu.Unlock()
			if !k.closing.Load() {
				lost(k, err)
			}
			return
		}
		env, err := wire.Decode(data)
		if err != nil {
			stray.Add(1)
			continue
		}
		if env.Re != "" {
			k.mu.Lock()
			ch := k.pending[env.Re]
			delete(k.pending, env.Re)
			k.mu.Unlock()
			if ch != nil {
				ch <- env // buffered: one answer per request
			} else {
				stray.Add(1)
			}
			continue
		}
		switch env.Type {
		case wire.TypeSessionRevoke:
			// Ack first: the write's timestamp is the ack time.
			werr := k.writeEnvelope(wire.Envelope{V: wire.Version, Type: wire.TypeAck, Re: env.ID})
			at := time.Now()
			sessionID := revokedSession(env.Data)
			k.mu.Lock()
			expected := sessionID != "" && sessionID == k.session
			if expected {
				k.session = ""
			}
			k.mu.Unlock()
			t := k.watch.Load()
			if !expected || t == nil || werr != nil {
				stray.Add(1)
				continue
			}
			t.record(at)
		case wire.TypeEnrollStart:
			select {
			case k.enroll <- env:
			default:
				stray.Add(1)
				_ = k.writeEnvelope(wire.Envelope{V: wire.Version, Type: wire.TypeAck, Re: env.ID})
			}
		default:
			stray.Add(1)
		}
	}
}

func (k *kiosk) writeEnvelope(env wire.Envelope) error {
	frame, err := env.Encode()
	if err != nil {
		return err
	}
	k.wmu.Lock()
	defer k.wmu.Unlock()
	_ = k.ws.SetWriteDeadline(time.Now().Add(wire.WriteWait))
	return k.ws.WriteMessage(websocket.TextMessage, frame)
}

// request sends typ with data and waits for the answer. A wire.Error
// answer is returned as a *RemoteError.
func (k *kiosk) request(ctx context.Context, typ string, data any) (wire.Envelope, error) {
	id := "r" + strconv.FormatUint(k.seq.Add(1), 10)
	env, err := wire.New(typ, id, "", data)
	if err != nil {
		return wire.Envelope{}, err
	}
	ch := make(chan wire.Envelope, 1)
	k.mu.Lock()
	if k.pending == nil {
		k.mu.Unlock()
		return wire.Envelope{}, fmt.Errorf("%s %s: %w", k.name, typ, errClosed)
	}
	k.pending[id] = ch
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		if k.pending != nil {
			delete(k.pending, id)
		}
		k.mu.Unlock()
	}()
	if err := k.writeEnvelope(env); err != nil {
		return wire.Envelope{}, fmt.Errorf("%s %s: %w", k.name, typ, err)
	}
	select {
	case ans := <-ch:
		if ans.Type == wire.TypeError {
			var e wire.Error
			_ = ans.Unmarshal(&e)
			return ans, &RemoteError{Type: typ, Code: e.Code, Message: e.Message}
		}
		return ans, nil
	case <-k.done:
		return wire.Envelope{}, fmt.Errorf("%s %s: %w", k.name, typ, errClosed)
	case <-ctx.Done():
		return wire.Envelope{}, fmt.Errorf("%s %s: no answer: %w", k.name, typ, ctx.Err())
	}
}

// close ends the channel and waits for the reader.
func (k *kiosk) close() {
	if k.ws == nil {
		return
	}
	k.closing.Store(true)
	k.wmu.Lock()
	_ = k.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "simulation over"), time.Now().Add(time.Second))
	k.wmu.Unlock()
	k.ws.Close()
	<-k.done
}

// expect notes the session whose revocation the kiosk should see next.
func (k *kiosk) expect(sessionID string) {
	k.mu.Lock()
	k.session = sessionID
	k.mu.Unlock()
}

// nextChallenge returns the prefetched challenge if it is still good for
// a while, or fetches one.
func (k *kiosk) nextChallenge(ctx context.Context) (*wire.Challenge, error) {
	if c := k.challenge; c != nil {
		k.challenge = nil
		if time.Until(c.ExpiresAt) > 10*time.Second {
			return c, nil
		}
	}
	return k.fetchChallenge(ctx)
}

func (k *kiosk) fetchChallenge(ctx context.Context) (*wire.Challenge, error) {
	ans, err := k.request(ctx, wire.TypeChallengeRequest, nil)
	if err != nil {
		return nil, err
	}
	if ans.Type != wire.TypeChallenge {
		return nil, fmt.Errorf("%s: challenge.request answered with %s", k.name, ans.Type)
	}
	var c wire.Challenge
	if err := ans.Unmarshal(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// errRefused is a login the hub refused.
type errRefused struct{ reason string }

func (e *errRefused) Error() string { return "login refused: " + e.reason }

// login taps badge on the kiosk with challenge c and returns the grant.
// The hub's answer carries the next challenge, kept for the next login.
func (k *kiosk) login(ctx context.Context, badge authenticator.Authenticator, c *wire.Challenge) (wire.SessionGrant, error) {
	var g wire.SessionGrant
	cred, err := authenticator.Authenticate(ctx, badge, c.Origin, c.Options)
	if err != nil {
		return g, fmt.Errorf("%s: badge: %w", k.name, err)
	}
	ans, err := k.request(ctx, wire.TypeLogin, wire.Login{Credential: cred})
	if err != nil {
		return g, err
	}
	switch ans.Type {
	case wire.TypeSessionGrant:
		if err := ans.Unmarshal(&g); err != nil {
			return g, err
		}
		k.challenge = g.NextChallenge
		return g, nil
	case wire.TypeLoginRefused:
		var r wire.LoginRefused
		_ = ans.Unmarshal(&r)
		k.challenge = r.NextChallenge
		return g, fmt.Errorf("%s: %w", k.name, &errRefused{r.Reason})
	}
	return g, fmt.Errorf("%s: login answered with %s", k.name, ans.Type)
}

// signout ends a session the way a worker does.
func (k *kiosk) signout(ctx context.Context, sessionID string) error {
	ans, err := k.request(ctx, wire.TypeSessionEnd, wire.SessionEnd{SessionID: sessionID, Reason: wire.ReasonSignout})
	if err != nil {
		return err
	}
	if ans.Type != wire.TypeAck {
		return fmt.Errorf("%s: session.end answered with %s", k.name, ans.Type)
	}
	return nil
}

// tracker collects the acks of one revocation: the kiosks' readers record
// the time each ack was written, and done closes when want have arrived.
type tracker struct {
	want  int64
	count atomic.Int64
	mu    sync.Mutex
	acks  []time.Time
	done  chan struct{}
}

func newTracker(want int) *tracker {
	return &tracker{want: int64(want), acks: make([]time.Time, 0, want), done: make(chan struct{})}
}

func (t *tracker) record(at time.Time) {
	t.mu.Lock()
	t.acks = append(t.acks, at)
	t.mu.Unlock()
	if t.count.Add(1) == t.want {
		close(t.done)
	}
}

// times returns the ack times recorded so far.
func (t *tracker) times() []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Time(nil), t.acks...)
}

// kioskProfile is the hardware profile the virtual kiosks enroll with: the
// generic one admits any authenticator model, the software badges included.
const kioskProfile = "generic-x86"

// revokedSession returns the session a session.revoke's data names. Ten
// thousand kiosks decode one each at once in a mass revoke, on the cores
// the hub needs: the form the hub writes ({"session_id":"…", then the
// rest) is read directly, anything else with encoding/json.
func revokedSession(data []byte) string {
	const prefix = `{"session_id":"`
	if rest, ok := bytes.CutPrefix(data, []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i])
		}
	}
	var rv wire.SessionRevoke
	_ = json.Unmarshal(data, &rv)
	return rv.SessionID
}
