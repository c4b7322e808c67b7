package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// --- fakes for the hardware ------------------------------------------------

// fakeReader is a Reader the test drives: present and remove return once
// the agent has queued the event, so whatever the test asks the agent next
// comes after it.
type fakeReader struct {
	events  chan readerStep
	stopped chan struct{} // closed when Run returns
}

type readerStep struct {
	ev   ReaderEvent
	done chan struct{}
}

func newFakeReader() *fakeReader {
	return &fakeReader{events: make(chan readerStep), stopped: make(chan struct{})}
}

func (r *fakeReader) Run(ctx context.Context, report func(ReaderEvent)) error {
	defer close(r.stopped)
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-r.events:
			report(s.ev)
			close(s.done)
		}
	}
}

func (r *fakeReader) send(t *testing.T, ev ReaderEvent) {
	t.Helper()
	s := readerStep{ev: ev, done: make(chan struct{})}
	select {
	case r.events <- s:
	case <-time.After(waitLimit):
		t.Fatal("the agent does not run the reader")
	}
	<-s.done
}

func (r *fakeReader) present(t *testing.T, b Badge) {
	t.Helper()
	r.send(t, ReaderEvent{Badge: b})
}

func (r *fakeReader) remove(t *testing.T, id string) {
	t.Helper()
	r.send(t, ReaderEvent{Badge: Badge{ID: id}, Removed: true})
}

// touchKey is a USB security key: a soft badge that signs only once it is
// touched, waiting for the touch as a real key does until ctx is done.
type touchKey struct {
	key     authenticator.Authenticator
	waiting chan []byte   // the client data hash of each wait, as it starts
	touches chan struct{} // touch sends one
	ended   chan error    // each wait's end: nil after a touch
}

func newTouchKey(t *testing.T, dir, name string) *touchKey {
	t.Helper()
	soft, err := authenticator.NewSoft(dir, name, authSoftOpts())
	if err != nil {
		t.Fatal(err)
	}
	return &touchKey{key: soft, waiting: make(chan []byte, 16), touches: make(chan struct{}), ended: make(chan error, 16)}
}

func (k *touchKey) wait(ctx context.Context, cdh []byte) error {
	k.waiting <- cdh
	select {
	case <-k.touches:
		k.ended <- nil
		return nil
	case <-ctx.Done():
		k.ended <- ctx.Err()
		return ctx.Err() // what authenticator.FIDO2 returns when cancelled
	}
}

func (k *touchKey) MakeCredential(ctx context.Context, req authenticator.CreateRequest) (authenticator.CreateResult, error) {
	if err := k.wait(ctx, req.ClientDataHash); err != nil {
		return authenticator.CreateResult{}, err
	}
	return k.key.MakeCredential(ctx, req)
}

func (k *touchKey) GetAssertion(ctx context.Context, req authenticator.GetRequest) (authenticator.GetResult, error) {
	if err := k.wait(ctx, req.ClientDataHash); err != nil {
		return authenticator.GetResult{}, err
	}
	return k.key.GetAssertion(ctx, req)
}

// waitStarts waits until the key waits for a touch and returns the client
// data hash it would sign.
func (k *touchKey) waitStarts(t *testing.T) []byte {
	t.Helper()
	select {
	case h := <-k.waiting:
		return h
	case <-time.After(waitLimit):
		t.Fatal("the key is not waiting for a touch")
		return nil
	}
}

func (k *touchKey) waitEnds(t *testing.T) error {
	t.Helper()
	select {
	case err := <-k.ended:
		return err
	case <-time.After(waitLimit):
		t.Fatal("the touch wait did not end")
		return nil
	}
}

func (k *touchKey) touch(t *testing.T) {
	t.Helper()
	select {
	case k.touches <- struct{}{}:
	case <-time.After(waitLimit):
		t.Fatal("touched a key that waits for nothing")
	}
	if err := k.waitEnds(t); err != nil {
		t.Fatalf("touch wait ended with %v", err)
	}
}

// notWaiting fails if the key was asked to wait for a touch.
func (k *touchKey) notWaiting(t *testing.T) {
	t.Helper()
	select {
	case <-k.waiting:
		t.Fatal("the key waits for a touch")
	default:
	}
}

// countingHub counts the agent's requests to the real hub client.
type countingHub struct {
	HubClient
	mu     sync.Mutex
	counts map[string]int
}

func (c *countingHub) Request(ctx context.Context, typ string, data any) (wire.Envelope, error) {
	c.mu.Lock()
	c.counts[typ]++
	c.mu.Unlock()
	return c.HubClient.Request(ctx, typ, data)
}

func (c *countingHub) count(typ string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[typ]
}

// --- a kiosk with a reader against a real hub ----------------------------------

// readerKiosk is an Agent with a fake reader, enrolled with and connected
// to a complete hub in this process (hubtest: HTTPS and the device channel
// over mutual TLS on 127.0.0.1, SQLite in a temporary directory). Badges
// are soft badges making genuine WebAuthn registrations and assertions.
type readerKiosk struct {
	t      *testing.T
	hub    *hubtest.Hub
	a      *Agent
	reader *fakeReader
	clock  *fakeClock
	ev     *recorder
	reqs   *countingHub
	badges string
	stop   func()
}

func startReaderKiosk(t *testing.T) *readerKiosk {
	t.Helper()
	// The hub's clock and the kiosk's move together, as with NTP.
	start := time.Now()
	h := hubtest.Start(t, hubtest.Options{Clock: hubtest.NewClock(start)})
	k := &readerKiosk{t: t, hub: h, reader: newFakeReader(), clock: &fakeClock{now: start}, ev: newRecorder(), badges: t.TempDir()}
	r := h.API(t, http.MethodPost, "/api/v1/devices/codes", map[string]string{"name": "north-1", "site": "north"})
	if r.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	code, _ := r.JSON()["code"].(string)
	state := filepath.Join(t.TempDir(), "state")
	if _, err := Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: filepath.Join(h.DataDir, "ca.pem"),
		Code: code, StateDir: state, Profile: "generic-x86"}); err != nil {
		t.Fatalf("enroll: %v", err)
	}
	src, err := ParseAuthenticator("soft:"+k.badges, authSoftOpts())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("agent log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	cfg := Config{
		StateDir: state, Authenticators: src, Clock: k.clock, Events: k.ev, Reader: k.reader,
		Logger: slog.New(slog.NewTextHandler(syncWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	c, err := ClientFromStateDir(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.reqs = &countingHub{HubClient: c, counts: map[string]int{}}
	cfg.Hub = k.reqs
	if k.a, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.a.Run(ctx) }()
	var once sync.Once
	k.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitLimit):
				t.Fatal("Run did not return")
			}
			select {
			case <-k.reader.stopped:
			default:
				t.Error("Run returned with the reader still running")
			}
		})
	}
	t.Cleanup(k.stop)
	k.ev.expect(t, EventConnected)
	return k
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// advance lets d pass on the kiosk's and the hub's clocks.
func (k *readerKiosk) advance(d time.Duration) {
	k.hub.Clock.Advance(d)
	k.clock.Advance(d)
}

// onLoop runs f on the agent's loop and waits for it: everything queued
// before has been applied.
func (k *readerKiosk) onLoop(f func()) {
	k.t.Helper()
	done := make(chan struct{})
	k.a.post(func() { f(); close(done) })
	select {
	case <-done:
	case <-time.After(waitLimit):
		k.t.Fatal("agent loop stuck")
	}
}

// idle waits until the agent has no tap in flight (a touch wait's end is
// seen by the key before the agent hears of it), then checks that it is in
// state s and said nothing more. A tap that should not have started fails
// it either way: still in flight, or with its events.
func (k *readerKiosk) idle(s State) {
	k.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var op opKind
		k.onLoop(func() { op = k.a.op })
		if op == opNone {
			break
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("a tap is still in flight (op %d, state %s)", op, k.a.State())
		}
		time.Sleep(time.Millisecond) // the loop has no signal for this
	}
	if got := k.a.State(); got != s {
		k.t.Fatalf("state %s, want %s", got, s)
	}
	k.ev.none(k.t)
}

// createUser provisions userName over SCIM at site north, as a Nurse.
func (k *readerKiosk) createUser(userName, displayName string) {
	k.t.Helper()
	const (
		user  = "urn:ietf:params:scim:schemas:core:2.0:User"
		group = "urn:ietf:params:scim:schemas:core:2.0:Group"
		ext   = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	)
	r := k.hub.Do(k.t, http.MethodPost, "/scim/v2/Users", fmt.Sprintf(
		`{"schemas":[%q,%q],"userName":%q,"displayName":%q,"active":true,%q:{"sites":["north"]}}`, user, ext, userName, displayName, ext))
	if r.Status != http.StatusCreated {
		k.t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	id, _ := r.JSON()["id"].(string)
	r = k.hub.Do(k.t, http.MethodPost, "/scim/v2/Groups", fmt.Sprintf(`{"schemas":[%q],"displayName":"Nurse","members":[{"value":%q}]}`, group, id))
	if r.Status != http.StatusCreated {
		k.t.Fatalf("create group: %d %s", r.Status, r.Body)
	}
}

// armEnrollment is a supervisor's POST /api/v1/enrollments for this kiosk.
func (k *readerKiosk) armEnrollment(userName string) {
	k.t.Helper()
	r := k.hub.API(k.t, http.MethodPost, "/api/v1/enrollments", map[string]string{"user": userName, "device": "north-1"})
	if r.Status != http.StatusAccepted {
		k.t.Fatalf("enrollment: %d %s", r.Status, r.Body)
	}
	if e := k.ev.expect(k.t, EventEnrollmentArmed)[0]; e.User != userName {
		k.t.Fatalf("enrollment.armed %+v", e)
	}
}

// --- tests -----------------------------------------------------------------------

// An NFC card taps once per presentation: it registers when an enrollment
// is armed, signs in once, and a card left on the reader — during the
// session or after it — never signs anybody in again until it is taken
// away and presented again.
func TestReaderNFCOncePerPresentation(t *testing.T) {
	k := startReaderKiosk(t)
	k.createUser("dana.kim", "Dana Kim")
	card := Badge{ID: "nfc:reader0", Name: "dana", Transport: TransportNFC}

	k.armEnrollment("dana.kim")
	k.reader.present(t, card)
	evs := k.ev.expect(t, EventBadgeRead, EventCredentialRegistered, EventEnrollmentEnded)
	if evs[1].User != "dana.kim" || evs[2].Reason != EnrollmentRegistered {
		t.Fatalf("registration events %+v", evs)
	}
	// The presentation was the registration's: the card still on the
	// reader does not sign in.
	k.idle(Locked)

	k.reader.remove(t, card.ID)
	k.reader.present(t, card)
	k.ev.expect(t, EventBadgeRead)
	if e := k.ev.expect(t, EventSessionStarted)[0]; e.User != "dana.kim" || e.DisplayName != "Dana Kim" {
		t.Fatalf("session.started %+v", e)
	}
	k.idle(Active)

	// Presented again during the session: ignored, and used up.
	k.reader.remove(t, card.ID)
	k.reader.present(t, card)
	k.idle(Active)

	k.a.Signout()
	if e := k.ev.ended(t); e.Reason != wire.ReasonSignout {
		t.Fatalf("session.ended %+v", e)
	}
	k.idle(Locked) // the card still lies on the reader
	if n := k.reqs.count(wire.TypeLogin); n != 1 {
		t.Fatalf("%d logins sent, want 1", n)
	}

	k.reader.remove(t, card.ID)
	k.reader.present(t, card)
	k.ev.expect(t, EventBadgeRead, EventSessionStarted)
	if n := k.reqs.count(wire.TypeLogin); n != 2 {
		t.Fatalf("%d logins sent, want 2", n)
	}
}

// A USB key left plugged in signs in only on a touch: the agent waits for
// one, a wait that runs out starts again quietly with the same challenge
// (a fresh one once it gets too old), and after a sign-out it takes a new
// touch.
func TestReaderUSBTouch(t *testing.T) {
	k := startReaderKiosk(t)
	k.createUser("ana.lima", "Ana Lima")
	key := newTouchKey(t, k.badges, "ana")
	usb := Badge{ID: "/dev/hidraw3", Name: "ana", Transport: TransportUSB, Authenticator: key}

	// Registration: plugged in while an enrollment is armed, then touched.
	k.armEnrollment("ana.lima")
	k.reader.present(t, usb)
	key.waitStarts(t)
	k.ev.none(t)
	key.touch(t)
	k.ev.expect(t, EventBadgeRead, EventCredentialRegistered, EventEnrollmentEnded)

	// Then the key waits for the touch of a login.
	first := key.waitStarts(t)
	challenges := k.reqs.count(wire.TypeChallengeRequest)
	if k.a.State() != Locked {
		t.Fatalf("state %s while waiting for a touch, want locked", k.a.State())
	}

	// Nobody touches it: each wait runs out, and another starts with the
	// same challenge while it is good for a whole wait.
	for i, d := range []time.Duration{DefaultTouchWait, DefaultTouchWait} {
		k.advance(d)
		if err := key.waitEnds(t); err == nil {
			t.Fatalf("wait %d ended without an error", i)
		}
		if got := key.waitStarts(t); !bytes.Equal(got, first) {
			t.Fatalf("wait %d: a new challenge, want the unused one again", i+2)
		}
	}
	// The third wait was cut to the challenge's remaining life (60 s,
	// less 10 s to send it): then a fresh challenge.
	k.advance(wire.ChallengeTTL - 2*DefaultTouchWait - challengeMargin)
	key.waitEnds(t)
	if got := key.waitStarts(t); bytes.Equal(got, first) {
		t.Fatal("a challenge past its time was used again")
	}
	if n := k.reqs.count(wire.TypeChallengeRequest); n != challenges+1 {
		t.Fatalf("%d challenge requests after the waits ran out, want %d", n, challenges+1)
	}
	k.ev.none(t) // waits that ran out say nothing
	if n := k.reqs.count(wire.TypeLogin); n != 0 {
		t.Fatalf("%d logins without a touch", n)
	}

	key.touch(t)
	k.ev.expect(t, EventBadgeRead)
	if e := k.ev.expect(t, EventSessionStarted)[0]; e.User != "ana.lima" {
		t.Fatalf("session.started %+v", e)
	}
	k.idle(Active)
	key.notWaiting(t) // no touch wait during the session

	// Signed out with the key still plugged in: no login without a new
	// touch.
	k.a.Signout()
	k.ev.ended(t)
	key.waitStarts(t)
	k.ev.none(t)
	if n := k.reqs.count(wire.TypeLogin); n != 1 {
		t.Fatalf("%d logins, want 1", n)
	}
	key.touch(t)
	k.ev.expect(t, EventBadgeRead, EventSessionStarted)

	// Unplugged while waiting: the wait stops and none starts again.
	k.a.Signout()
	k.ev.ended(t)
	key.waitStarts(t)
	k.reader.remove(t, usb.ID)
	if err := key.waitEnds(t); err == nil {
		t.Fatal("the wait of an unplugged key ended without an error")
	}
	k.idle(Locked)
	key.notWaiting(t)
}

// --- the same loop against the recording fake hub: edge cases ----------------

func withReader(r Reader) harnessOpt {
	return func(_ *harness, cfg *Config) { cfg.Reader = r }
}

// readerIdle waits until no tap is in flight (see readerKiosk.idle), then
// checks the state and that nothing more was said.
func (h *harness) readerIdle(s State) {
	h.t.Helper()
	h.waitLoop("no tap in flight", func() bool { return h.a.op == opNone })
	var op opKind
	var rt *readerTap
	h.do(func() { op, rt = h.a.op, h.a.rtap })
	if op != opNone || rt != nil || h.a.State() != s {
		h.t.Fatalf("op %d, reader tap %v, state %s; want none and %s", op, rt != nil, h.a.State(), s)
	}
	h.ev.none(h.t)
}

// Stopping the agent stops the reader and a touch wait in flight, and
// leaves no goroutine behind.
func TestReaderStopsCleanly(t *testing.T) {
	before := runtime.NumGoroutine()
	r := newFakeReader()
	h := newHarness(t, withReader(r))
	h.connect()
	key := newTouchKey(t, h.badges, "ana")
	r.present(t, Badge{ID: "usb0", Name: "ana", Transport: TransportUSB, Authenticator: key})
	key.waitStarts(t)

	h.stop()
	if err := key.waitEnds(t); err == nil {
		t.Error("the touch wait ended without an error")
	}
	select {
	case <-r.stopped:
	default:
		t.Error("Run returned with the reader still running")
	}
	deadline := time.Now().Add(waitLimit)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // goroutines end on their own; there is nothing to await
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d after, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// A key that fails before it is touched (here: it holds no credential) is
// refused once and then left alone until it is plugged in again: no loop
// of refusals.
func TestReaderKeyFailingWithoutTouch(t *testing.T) {
	r := newFakeReader()
	h := newHarness(t, withReader(r))
	h.connect()
	// A soft badge that was never registered answers at once: no
	// credentials.
	r.present(t, Badge{ID: "usb0", Name: "stranger", Transport: TransportUSB})
	if e := h.ev.expect(t, EventLoginRefused)[0]; e.Reason != wire.RefusedNotRecognised {
		t.Fatalf("login.refused %+v", e)
	}
	h.readerIdle(Locked)

	// Plugged in again, after it was registered: it waits for a touch.
	r.remove(t, "usb0")
	registerBadge(t, h.badges, "stranger")
	key := newTouchKey(t, h.badges, "stranger")
	h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "s1", "stranger", time.Hour))
	r.present(t, Badge{ID: "usb0", Name: "stranger", Transport: TransportUSB, Authenticator: key})
	key.waitStarts(t)
	key.touch(t)
	h.ev.expect(t, EventBadgeRead, EventSessionStarted)
}

// An NFC card presented while a plugged-in key waits for a touch takes
// over: the wait is called off and the card signs in.
func TestReaderCardPreemptsTouchWait(t *testing.T) {
	r := newFakeReader()
	h := newHarness(t, withReader(r))
	h.connect()
	key := newTouchKey(t, h.badges, "forgotten")
	r.present(t, Badge{ID: "usb0", Name: "forgotten", Transport: TransportUSB, Authenticator: key})
	key.waitStarts(t)

	registerBadge(t, h.badges, "ana")
	h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "s1", "ana", time.Hour))
	r.present(t, Badge{ID: "nfc0", Name: "ana", Transport: TransportNFC})
	if err := key.waitEnds(t); err == nil {
		t.Fatal("the touch wait was not called off")
	}
	h.ev.expect(t, EventBadgeRead)
	if e := h.ev.expect(t, EventSessionStarted)[0]; e.User != "ana" {
		t.Fatalf("session.started %+v", e)
	}
	h.readerIdle(Active)
	key.notWaiting(t)
}

// An enrollment armed while a plugged-in key waits for a login touch calls
// that wait off: the next touch registers. A disconnect calls a wait off
// too, and none runs until the hub is back.
func TestReaderWaitCalledOff(t *testing.T) {
	r := newFakeReader()
	h := newHarness(t, withReader(r))
	h.connect()
	key := newTouchKey(t, h.badges, "ana")
	r.present(t, Badge{ID: "usb0", Name: "ana", Transport: TransportUSB, Authenticator: key})
	login := key.waitStarts(t)

	h.hub.setResponder(wire.TypeRegister, func(context.Context, any) (wire.Envelope, error) {
		return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
	})
	h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
	h.ev.expect(t, EventEnrollmentArmed)
	key.waitEnds(t)
	if reg := key.waitStarts(t); bytes.Equal(reg, login) {
		t.Fatal("the wait after enroll.start is still the login's")
	}
	key.touch(t)
	h.ev.expect(t, EventBadgeRead, EventCredentialRegistered, EventEnrollmentEnded)

	key.waitStarts(t) // a login wait again
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	key.waitEnds(t)
	h.readerIdle(Locked)
	key.notWaiting(t)
	h.hub.connect()
	h.ev.expect(t, EventConnected)
	key.waitStarts(t)
}

// --- PollReader ------------------------------------------------------------------

// pollScript is a device list the test changes between polls.
type pollScript struct {
	mu   sync.Mutex
	devs []Device
	err  error
}

func (s *pollScript) set(err error, devs ...Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devs, s.err = devs, err
}

func (s *pollScript) list() ([]Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.devs), s.err
}

func TestPollReader(t *testing.T) {
	usb := Device{Path: "/dev/hidraw3", Transport: TransportUSB}
	nfc := Device{Path: "nfc:/sys/devices/nfc0", Transport: TransportNFC}
	var busy sync.Mutex
	script := &pollScript{}
	r, err := NewPollReader(PollReaderConfig{List: script.list, Busy: &busy, Transports: []string{TransportNFC}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	report := func(ev ReaderEvent) {
		what := "presented"
		if ev.Removed {
			what = "removed"
		}
		got = append(got, what+" "+ev.Badge.ID+" "+ev.Badge.Transport)
	}
	step := func(name string, want ...string) {
		t.Helper()
		got = nil
		r.poll(report)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: reported %q, want %q", name, got, want)
		}
	}

	script.set(nil, nfc, usb)
	step("card and key", "presented "+nfc.Path+" nfc") // the profile takes NFC only
	step("card stays")
	script.set(nil, usb)
	step("card flickers off for one poll")
	script.set(nil, nfc, usb)
	step("card back: the same presentation")
	script.set(fmt.Errorf("libfido2 says no"))
	step("listing fails: nothing changes")
	step("listing fails again: nothing changes")
	script.set(nil)
	busy.Lock()
	step("card in use: no poll")
	step("still in use")
	busy.Unlock()
	step("card gone one poll")
	step("card gone two polls", "removed "+nfc.Path+" nfc")
	script.set(nil, nfc)
	step("card presented again", "presented "+nfc.Path+" nfc")
}

// PollReader.Run polls on its clock and returns when its context is done.
func TestPollReaderRun(t *testing.T) {
	clock := newFakeClock()
	polls := make(chan struct{}, 16)
	list := func() ([]Device, error) {
		polls <- struct{}{}
		return []Device{{Path: "/dev/hidraw0", Transport: TransportUSB}}, nil
	}
	r, err := NewPollReader(PollReaderConfig{List: list, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan ReaderEvent, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(ev ReaderEvent) { events <- ev }) }()
	recv(t, polls, "first poll")
	if ev := recv(t, events, "presented"); ev.Removed || ev.Badge.ID != "/dev/hidraw0" || ev.Badge.Name != "/dev/hidraw0" {
		t.Fatalf("event %+v", ev)
	}
	for i := range 3 {
		waitTimer(t, clock)
		clock.Advance(250 * time.Millisecond)
		recv(t, polls, fmt.Sprintf("poll %d", i+2))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
	}
	if len(events) != 0 {
		t.Errorf("%d more events for a device that stayed", len(events))
	}
}

// waitTimer waits until clock has a timer pending.
func waitTimer(t *testing.T, c *fakeClock) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		c.mu.Lock()
		n := 0
		for _, tm := range c.timers {
			if !tm.stopped {
				n++
			}
		}
		c.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no timer armed")
		}
		time.Sleep(time.Millisecond) // the fake clock has no arming signal
	}
}

func TestReaderForSoft(t *testing.T) {
	r, err := ReaderFor("soft:/tmp/badges", nil, nil)
	if r != nil || err != nil {
		t.Errorf("ReaderFor(soft) = %v, %v; want no reader", r, err)
	}
}

// impatientKey gives up waiting for a touch at once, as a misbehaving key
// (or libfido2's U2F path) may.
type impatientKey struct{ calls chan struct{} }

func (k impatientKey) MakeCredential(context.Context, authenticator.CreateRequest) (authenticator.CreateResult, error) {
	k.calls <- struct{}{}
	return authenticator.CreateResult{}, fmt.Errorf("make credential: %w", authenticator.ErrTouchTimeout)
}

func (k impatientKey) GetAssertion(context.Context, authenticator.GetRequest) (authenticator.GetResult, error) {
	k.calls <- struct{}{}
	return authenticator.GetResult{}, fmt.Errorf("get assertion: %w", authenticator.ErrTouchTimeout)
}

// A key that gives up on a touch without waiting does not make the agent
// spin: touch waits pause for a while, quietly, then start again.
func TestReaderImpatientKeyPauses(t *testing.T) {
	r := newFakeReader()
	h := newHarness(t, withReader(r))
	h.connect()
	key := impatientKey{calls: make(chan struct{}, 16)}
	r.present(t, Badge{ID: "usb0", Name: "odd", Transport: TransportUSB, Authenticator: key})
	recv(t, key.calls, "first wait")
	h.readerIdle(Locked)
	if n := len(key.calls); n != 0 {
		t.Fatalf("%d more waits at once", n)
	}
	h.clock.Advance(readerPause)
	recv(t, key.calls, "the wait after the pause")
	h.readerIdle(Locked)
	if n := len(key.calls); n != 0 {
		t.Fatalf("%d more waits at once", n)
	}
}
