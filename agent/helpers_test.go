package agent

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
)

const (
	testOrigin = "https://localhost:8443"
	testRPID   = "localhost"
	waitLimit  = 5 * time.Second // real time; only reached when a test fails
)

// --- fake clock ---------------------------------------------------------

// fakeClock is a Clock moved by hand. Like the real one, its timers run on
// a monotonic clock and Now reads the wall clock: Advance moves both, Jump
// only the wall clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time // the wall clock
	// jumped is how far Jump moved the wall clock ahead of the timers'
	// monotonic clock, now-jumped.
	jumped time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time // on the monotonic clock
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d - c.jumped), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Monotonic reads the timers' monotonic clock (MonotonicClock): Advance
// moves it, Jump does not.
func (c *fakeClock) Monotonic() time.Duration {
	_, mono := c.Read()
	return mono
}

// Read reads the wall clock and the monotonic clock at one instant
// (MonotonicClock).
func (c *fakeClock) Read() (time.Time, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now, c.now.Add(-c.jumped).Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// Advance moves the clock and runs the timers that came due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	mono := c.now.Add(-c.jumped)
	var due, rest []*fakeTimer
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(mono):
			t.stopped = true
			due = append(due, t)
		default:
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// Jump moves the wall clock by d (back, when d is negative) without moving
// the timers' monotonic clock, as a suspend (CLOCK_MONOTONIC stops while
// the machine sleeps) or a step of the system clock does: no timer fires,
// and the pending ones fire as much later (or earlier) on the wall clock.
func (c *fakeClock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.jumped += d
}

// --- recording fake hub ---------------------------------------------------

type request struct {
	Type string
	Data any
}

type replyRec struct {
	Re, Type string
	Data     any
}

// fakeHub is a HubClient that records what the agent sends and answers
// requests with per-type responders.
type fakeHub struct {
	t     *testing.T
	clock Clock

	mu        sync.Mutex
	h         Handler
	ready     chan struct{}
	connected bool
	requests  []request
	replies   []replyRec
	respond   map[string]func(ctx context.Context, data any) (wire.Envelope, error)
	changed   chan struct{} // signalled on every request or reply
	challenge int
	ahead     time.Duration // the hub's clock minus the kiosk's (setAhead)
}

func newFakeHub(t *testing.T, clock Clock) *fakeHub {
	f := &fakeHub{t: t, clock: clock, ready: make(chan struct{}), changed: make(chan struct{}, 1)}
	f.respond = map[string]func(context.Context, any) (wire.Envelope, error){
		wire.TypeChallengeRequest: func(context.Context, any) (wire.Envelope, error) {
			f.mu.Lock()
			f.challenge++
			n := f.challenge
			f.mu.Unlock()
			return env(t, wire.TypeChallenge, wire.Challenge{
				Options:   requestOptions(fmt.Sprintf("challenge-%d", n)),
				Origin:    testOrigin,
				ExpiresAt: f.now().Add(wire.ChallengeTTL),
			}), nil
		},
		wire.TypeSessionEnd: func(context.Context, any) (wire.Envelope, error) {
			return env(t, wire.TypeAck, nil), nil
		},
	}
	return f
}

func env(t testing.TB, typ string, data any) wire.Envelope {
	e, err := wire.New(typ, "", "x", data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fakeHub) Run(ctx context.Context, h Handler) error {
	f.mu.Lock()
	f.h = h
	f.mu.Unlock()
	close(f.ready)
	<-ctx.Done()
	return nil
}

func (f *fakeHub) Request(ctx context.Context, typ string, data any) (wire.Envelope, error) {
	f.mu.Lock()
	if !f.connected {
		f.mu.Unlock()
		return wire.Envelope{}, ErrNotConnected
	}
	f.requests = append(f.requests, request{typ, data})
	r := f.respond[typ]
	f.mu.Unlock()
	f.signal()
	if r == nil {
		return wire.Envelope{}, fmt.Errorf("%s: %w", typ, context.DeadlineExceeded)
	}
	return r(ctx, data)
}

func (f *fakeHub) Reply(ctx context.Context, re, typ string, data any) error {
	f.mu.Lock()
	defer f.signal()
	defer f.mu.Unlock()
	if !f.connected {
		return ErrNotConnected
	}
	f.replies = append(f.replies, replyRec{re, typ, data})
	return nil
}

func (f *fakeHub) signal() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

func (f *fakeHub) setResponder(typ string, r func(ctx context.Context, data any) (wire.Envelope, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond[typ] = r
}

func (f *fakeHub) handler() Handler {
	select {
	case <-f.ready:
	case <-time.After(waitLimit):
		f.t.Fatal("hub client never started")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.h
}

// setAhead sets the hub's clock d ahead of the kiosk's (behind, when d is
// negative), as the next welcome's server_time and the challenges'
// expires_at give it.
func (f *fakeHub) setAhead(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ahead = d
}

// now reads the hub's clock.
func (f *fakeHub) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock.Now().Add(f.ahead)
}

func (f *fakeHub) connect() {
	f.connectWith(wire.Welcome{DeviceID: "kiosk-1", DeviceName: "Ward 3 kiosk", Site: "north", ServerTime: f.now()})
}

// connectWith brings the channel up with welcome w: an older hub's, or
// one that carries an extend or a revoke.
func (f *fakeHub) connectWith(w wire.Welcome) {
	f.mu.Lock()
	f.connected = true
	f.mu.Unlock()
	f.handler().Connected(w)
}

func (f *fakeHub) disconnect() {
	f.mu.Lock()
	f.connected = false
	f.mu.Unlock()
	f.handler().Disconnected(ErrDisconnected)
}

func (f *fakeHub) push(typ, id string, data any) {
	e, err := wire.New(typ, id, "", data)
	if err != nil {
		f.t.Fatal(err)
	}
	f.handler().Push(e)
}

func (f *fakeHub) requestTypes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		out = append(out, r.Type)
	}
	return out
}

func (f *fakeHub) requestsOf(typ string) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []any
	for _, r := range f.requests {
		if r.Type == typ {
			out = append(out, r.Data)
		}
	}
	return out
}

func (f *fakeHub) getReplies() []replyRec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]replyRec(nil), f.replies...)
}

// waitFor polls cond after every request or reply until it holds.
func (f *fakeHub) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.After(waitLimit)
	for !cond() {
		select {
		case <-f.changed:
		case <-time.After(time.Millisecond):
		case <-deadline:
			f.t.Fatalf("timed out waiting for %s; requests %v, replies %+v", what, f.requestTypes(), f.getReplies())
		}
	}
}

// --- events ---------------------------------------------------------------

type recorder struct {
	ch chan Event
}

func newRecorder() *recorder { return &recorder{ch: make(chan Event, 1000)} }

func (r *recorder) Emit(e Event) { r.ch <- e }

// expect returns the next events, failing unless their names are names.
func (r *recorder) expect(t *testing.T, names ...string) []Event {
	t.Helper()
	var got []Event
	for _, n := range names {
		select {
		case e := <-r.ch:
			got = append(got, e)
			if e.Event != n {
				t.Fatalf("event %d: got %s (%+v), want %s", len(got), e.Event, e, n)
			}
		case <-time.After(waitLimit):
			t.Fatalf("timed out waiting for event %s; got %+v", n, got)
		}
	}
	return got
}

// ended returns the next session.ended, failing unless the session.ending
// right before it announced the same session, user and reason.
func (r *recorder) ended(t *testing.T) Event {
	t.Helper()
	evs := r.expect(t, EventSessionEnding, EventSessionEnded)
	ending, ended := evs[0], evs[1]
	if ending.SessionID != ended.SessionID || ending.User != ended.User || ending.Reason != ended.Reason {
		t.Fatalf("session.ending %+v does not announce session.ended %+v", ending, ended)
	}
	return ended
}

func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-r.ch:
		t.Fatalf("unexpected event %+v", e)
	default:
	}
}

// --- WebAuthn options ------------------------------------------------------

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func requestOptions(challenge string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"publicKey": map[string]any{
		"challenge": b64(challenge), "rpId": testRPID, "userVerification": "discouraged", "timeout": 60000,
	}})
	return b
}

func creationOptions(user string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"publicKey": map[string]any{
		"rp":               map[string]any{"id": testRPID, "name": "Shiftgate"},
		"user":             map[string]any{"id": b64("uid-" + user), "name": user, "displayName": "User " + user},
		"challenge":        b64("reg-" + user),
		"pubKeyCredParams": []map[string]any{{"type": "public-key", "alg": -7}},
		"authenticatorSelection": map[string]any{
			"residentKey": "required", "requireResidentKey": true, "userVerification": "discouraged",
		},
	}})
	return b
}

// registerBadge gives soft badge name in dir a credential, as a past
// enrollment would have.
func registerBadge(t *testing.T, dir, name string) {
	t.Helper()
	a, err := authenticator.NewSoft(dir, name, authenticator.SoftOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authenticator.Register(t.Context(), a, testOrigin, creationOptions(name)); err != nil {
		t.Fatal(err)
	}
}

func authSoftOpts() authenticator.SoftOptions { return authenticator.SoftOptions{NoSync: true} }

func signer(c *tls.Certificate) crypto.Signer { return c.PrivateKey.(crypto.Signer) }

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
