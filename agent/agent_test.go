package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// harness runs an Agent against a fakeHub, a fakeClock and soft badges.
type harness struct {
	t      *testing.T
	a      *Agent
	hub    *fakeHub
	clock  *fakeClock
	ev     *recorder
	dir    string // state directory
	badges string // soft badge directory

	teardowns chan Session
	gate      chan error // when non-nil, each teardown waits for a value
	stop      func()
}

type harnessOpt func(*harness, *Config)

func withGate() harnessOpt {
	return func(h *harness, _ *Config) { h.gate = make(chan error) }
}

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	return startHarness(t, t.TempDir(), t.TempDir(), newFakeClock(), opts...)
}

func startHarness(t *testing.T, dir, badges string, clock *fakeClock, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, clock: clock, ev: newRecorder(), dir: dir, badges: badges, teardowns: make(chan Session, 16)}
	h.hub = newFakeHub(t, clock)
	src, err := ParseAuthenticator("soft:"+badges, authenticator.SoftOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		StateDir: dir, Hub: h.hub, Authenticators: src, Events: h.ev, Clock: clock,
		Warning: 5 * time.Minute,
		Teardown: func(ctx context.Context, s Session) error {
			h.teardowns <- s
			if h.gate != nil {
				select {
				case err := <-h.gate:
					return err
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		},
	}
	for _, o := range opts {
		o(h, &cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.a = a
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	h.stop = func() { once.Do(func() { h.stopNow(cancel, done) }) }
	t.Cleanup(h.stop)
	return h
}

// stopNow stops Run and waits for it, so that nothing writes to the
// state directory any more.
func (h *harness) stopNow(cancel func(), done chan error) {
	cancel()
	select {
	case err := <-done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		h.t.Fatal("Run did not return")
	}
}

// do runs f on the agent's loop and waits for it.
func (h *harness) do(f func()) {
	h.t.Helper()
	done := make(chan struct{})
	h.a.post(func() { f(); close(done) })
	select {
	case <-done:
	case <-time.After(waitLimit):
		h.t.Fatal("agent loop stuck")
	}
}

// connect connects the hub and waits until a challenge is prefetched.
func (h *harness) connect() {
	h.t.Helper()
	h.hub.connect()
	h.ev.expect(h.t, EventConnected)
	h.waitLoop("a prefetched challenge", func() bool { return h.a.challenge != nil })
}

// waitLoop polls cond on the loop.
func (h *harness) waitLoop(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var ok bool
		h.do(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) wantState(s State) {
	h.t.Helper()
	h.do(func() {})
	if got := h.a.State(); got != s {
		h.t.Fatalf("state %s, want %s", got, s)
	}
}

func grantFor(clock Clock, id, user string, in time.Duration) func(context.Context, any) (wire.Envelope, error) {
	return func(context.Context, any) (wire.Envelope, error) {
		e, err := wire.New(wire.TypeSessionGrant, "", "x", wire.SessionGrant{
			SessionID: id, User: user, Role: "nurse", Apps: []string{"emr", "mail"}, ExpiresAt: clock.Now().Add(in),
		})
		return e, err
	}
}

// login taps user's badge and waits for session.started.
func (h *harness) login(id, user string, in time.Duration) Event {
	h.t.Helper()
	registerBadge(h.t, h.badges, user)
	h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, id, user, in))
	h.a.Tap(user)
	e := h.ev.expect(h.t, EventSessionStarted)[0]
	h.do(func() {}) // the timers are armed right after the event: let that happen first
	return e
}

func (h *harness) acked(re string) bool {
	for _, r := range h.hub.getReplies() {
		if r.Re == re && r.Type == wire.TypeAck {
			return true
		}
	}
	return false
}

func TestLoginAndSignout(t *testing.T) {
	h := newHarness(t)
	h.connect()
	started := h.login("s1", "ana", 8*time.Hour)
	want := Event{Event: EventSessionStarted, Time: h.clock.Now(), User: "ana", SessionID: "s1",
		ExpiresAt: h.clock.Now().Add(8 * time.Hour), EndsAt: h.clock.Now().Add(8 * time.Hour), Role: "nurse", Apps: []string{"emr", "mail"}}
	if diff := cmp.Diff(want, started); diff != "" {
		t.Errorf("session.started (-want +got):\n%s", diff)
	}
	h.wantState(Active)
	if got := h.hub.requestsOf(wire.TypeLogin); len(got) != 1 {
		t.Fatalf("login requests: %d", len(got))
	}
	// The used challenge is replaced right away.
	h.hub.waitFor("a second challenge", func() bool { return len(h.hub.requestsOf(wire.TypeChallengeRequest)) == 2 })
	if got := (hubHandler{h.a}).HelloSessions(); got.LiveSession != "s1" || !got.Complete || len(got.Ended) != 0 {
		t.Errorf("HelloSessions = %+v", got)
	}

	h.a.Signout()
	ended := h.ev.ended(t)
	if ended.Reason != wire.ReasonSignout || ended.SessionID != "s1" {
		t.Errorf("session.ended = %+v", ended)
	}
	if s := <-h.teardowns; s.ID != "s1" {
		t.Errorf("teardown of %q", s.ID)
	}
	h.wantState(Locked)
	h.hub.waitFor("session.end", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 1 })
	wantEnd := wire.SessionEnd{SessionID: "s1", Reason: "signout"}
	if got := h.hub.requestsOf(wire.TypeSessionEnd)[0]; got != any(wantEnd) {
		t.Errorf("session.end = %+v", got)
	}
	h.waitLoop("pending cleared", func() bool { return len(h.a.pending) == 0 && !h.a.flushing })
	st, err := readSessionState(h.dir)
	if err != nil || st.Session != nil || len(st.Pending) != 0 {
		t.Errorf("session.json after signout: %+v, %v", st, err)
	}
}

func TestLoginRefusedByHub(t *testing.T) {
	h := newHarness(t)
	h.connect()
	registerBadge(t, h.badges, "ana")
	h.hub.setResponder(wire.TypeLogin, func(context.Context, any) (wire.Envelope, error) {
		return env(t, wire.TypeLoginRefused, wire.LoginRefused{Reason: wire.RefusedOutsideShift}), nil
	})
	h.a.Tap("ana")
	if e := h.ev.expect(t, EventLoginRefused)[0]; e.Reason != wire.RefusedOutsideShift {
		t.Errorf("reason %q", e.Reason)
	}
	h.wantState(Locked)
}

func TestNoCredentialOnBadgeNeverContactsHub(t *testing.T) {
	h := newHarness(t)
	h.connect()
	before := h.hub.requestTypes()
	h.a.Tap("stranger") // no badge file: no credential
	if e := h.ev.expect(t, EventLoginRefused)[0]; e.Reason != wire.RefusedNotRecognised {
		t.Errorf("reason %q", e.Reason)
	}
	h.wantState(Locked)
	h.do(func() {
		if h.a.challenge == nil {
			t.Error("the unused challenge was thrown away")
		}
	})
	if got := h.hub.requestTypes(); !slices.Equal(got, before) {
		t.Errorf("hub contacted: %v, before the tap %v", got, before)
	}
}

func TestHubUnreachableLogin(t *testing.T) {
	h := newHarness(t)
	registerBadge(t, h.badges, "ana")
	h.a.Tap("ana") // never connected: no challenge
	if e := h.ev.expect(t, EventLoginRefused)[0]; e.Reason != RefusedHubUnreachable {
		t.Errorf("reason %q", e.Reason)
	}
	h.wantState(Locked)
}

func TestStaleChallengeFetchedOnDemand(t *testing.T) {
	h := newHarness(t)
	h.connect()
	registerBadge(t, h.badges, "ana")
	h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "s1", "ana", time.Hour))
	h.clock.Advance(wire.ChallengeTTL - challengeMargin) // prefetched one is too old now
	h.a.Tap("ana")
	h.ev.expect(t, EventSessionStarted)
	// prefetch on connect, on-demand fetch, prefetch after use
	h.hub.waitFor("three challenge requests", func() bool { return len(h.hub.requestsOf(wire.TypeChallengeRequest)) == 3 })
}

func TestWarningAndExpiryWithHubUnreachable(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", 10*time.Minute)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)

	h.clock.Advance(5*time.Minute - time.Second)
	h.wantState(Active)
	h.ev.none(t)
	h.clock.Advance(time.Second)
	w := h.ev.expect(t, EventSessionWarning)[0]
	if w.SessionID != "s1" || !w.ExpiresAt.Equal(h.clock.Now().Add(5*time.Minute)) {
		t.Errorf("session.warning = %+v", w)
	}
	h.wantState(Warning)

	h.clock.Advance(5 * time.Minute)
	if e := h.ev.ended(t); e.Reason != wire.ReasonExpired {
		t.Errorf("reason %q", e.Reason)
	}
	<-h.teardowns
	h.wantState(Locked)
	st, _ := readSessionState(h.dir)
	if st.Session != nil || len(st.Pending) != 1 || st.Pending[0].Reason != wire.ReasonExpired {
		t.Errorf("session.json: %+v", st)
	}

	h.hub.connect()
	h.ev.expect(t, EventConnected)
	h.hub.waitFor("queued session.end", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 1 })
}

func TestGrantInsideWarningWindow(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", 2*time.Minute)
	h.ev.expect(t, EventSessionWarning)
	h.wantState(Warning)
}

func TestSignoutQueuedWhileOffline(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.a.Signout()
	h.ev.ended(t)
	h.wantState(Locked)
	if n := len(h.hub.requestsOf(wire.TypeSessionEnd)); n != 0 {
		t.Fatalf("session.end sent while offline: %d", n)
	}
	h.hub.connect()
	h.ev.expect(t, EventConnected)
	h.hub.waitFor("session.end after reconnect", func() bool { return len(h.hub.requestsOf(wire.TypeSessionEnd)) == 1 })
}

func TestRevokeAckedAfterTeardown(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	<-h.teardowns
	h.wantState(Ending)
	// A second revoke for the same session during the teardown waits too.
	h.hub.push(wire.TypeSessionRevoke, "p2", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	h.do(func() {})
	if len(h.hub.getReplies()) != 0 {
		t.Fatalf("acked before the teardown finished: %+v", h.hub.getReplies())
	}
	h.a.Tap("ana") // ignored while ending
	h.gate <- nil
	evs := h.ev.expect(t, EventSessionEnding, EventTapIgnored, EventSessionEnded)
	if evs[1].Reason != TapIgnoredEnding {
		t.Errorf("tap.ignored = %+v, want reason %s", evs[1], TapIgnoredEnding)
	}
	e := evs[2]
	if e.Reason != wire.ReasonDeprovisioned || e.SessionID != "s1" {
		t.Errorf("session.ended = %+v", e)
	}
	h.hub.waitFor("acks", func() bool { return h.acked("p1") && h.acked("p2") })
	h.wantState(Locked)
	if n := len(h.hub.requestsOf(wire.TypeSessionEnd)); n != 0 {
		t.Errorf("session.end sent for a hub revocation: %d", n)
	}
	h.ev.none(t)
}

func TestRevokeReasons(t *testing.T) {
	for _, reason := range []string{wire.ReasonDeprovisioned, wire.ReasonEntitlementRemoved, wire.ReasonForced,
		wire.ReasonCredentialRevoked, wire.ReasonDeviceDisabled, wire.ReasonShiftEnd} {
		t.Run(reason, func(t *testing.T) {
			h := newHarness(t)
			h.connect()
			h.login("s1", "ana", time.Hour)
			h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: reason})
			if e := h.ev.ended(t); e.Reason != reason {
				t.Errorf("reason %q", e.Reason)
			}
			h.hub.waitFor("ack", func() bool { return h.acked("p1") })
		})
	}
}

func TestRevokeTeardownFailureIsReported(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonForced})
	<-h.teardowns
	h.gate <- errors.New("kill: permission denied")
	h.ev.expect(t, EventSessionEnding, EventSessionTeardownFailed)
	h.wantState(Ending) // kept until a teardown succeeds
	h.hub.waitFor("error reply", func() bool { return len(h.hub.getReplies()) == 1 })
	if r := h.hub.getReplies()[0]; r.Re != "p1" || r.Type != wire.TypeError {
		t.Errorf("reply %+v", r)
	}
}

func TestRevokeForUnknownSessionAckedAtOnce(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "other", Reason: wire.ReasonForced})
	h.hub.waitFor("ack", func() bool { return h.acked("p1") })
	h.wantState(Active)
	select {
	case s := <-h.teardowns:
		t.Fatalf("teardown of %+v", s)
	default:
	}
	h.ev.none(t)
}

func TestRevokeWhileVerifying(t *testing.T) {
	for _, tc := range []struct {
		name    string
		revoked string // session the push names
		want    string // event after the grant
	}{
		{name: "the session being granted", revoked: "s1", want: EventLoginRefused},
		{name: "another session", revoked: "s0", want: EventSessionStarted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.connect()
			registerBadge(t, h.badges, "ana")
			release := make(chan struct{})
			grant := grantFor(h.clock, "s1", "ana", time.Hour)
			h.hub.setResponder(wire.TypeLogin, func(ctx context.Context, d any) (wire.Envelope, error) {
				<-release
				return grant(ctx, d)
			})
			h.a.Tap("ana")
			h.hub.waitFor("login", func() bool { return len(h.hub.requestsOf(wire.TypeLogin)) == 1 })
			h.wantState(Verifying)
			h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: tc.revoked, Reason: wire.ReasonDeprovisioned})
			h.hub.waitFor("ack", func() bool { return h.acked("p1") })
			h.wantState(Verifying)
			close(release)
			e := h.ev.expect(t, tc.want)[0]
			if tc.want == EventLoginRefused {
				if e.Reason != wire.ReasonDeprovisioned {
					t.Errorf("reason %q", e.Reason)
				}
				h.wantState(Locked)
				if st, _ := readSessionState(h.dir); st.Session != nil {
					t.Errorf("revoked session persisted: %+v", st.Session)
				}
			} else {
				h.wantState(Active)
			}
		})
	}
}

func TestEnrollStartRegistersOnNextTap(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.hub.setResponder(wire.TypeRegister, func(_ context.Context, d any) (wire.Envelope, error) {
		if len(d.(wire.Register).Credential) == 0 {
			t.Error("register without a credential")
		}
		return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
	})
	h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
	if e := h.ev.expect(t, EventEnrollmentArmed)[0]; e.User != "ana" || e.DisplayName != "User ana" {
		t.Errorf("enrollment.armed = %+v", e)
	}
	if len(h.hub.getReplies()) != 0 {
		t.Fatal("enroll.start acked before the registration")
	}
	h.a.Tap("ana")
	evs := h.ev.expect(t, EventCredentialRegistered, EventEnrollmentEnded)
	if e := evs[0]; e.User != "ana" || e.DisplayName != "User ana" {
		t.Errorf("credential.registered = %+v", e)
	}
	if e := evs[1]; e.User != "ana" || e.Reason != EnrollmentRegistered {
		t.Errorf("enrollment.ended = %+v", e)
	}
	h.hub.waitFor("ack", func() bool { return h.acked("e1") })
	h.wantState(Locked)
	if _, err := os.Stat(filepath.Join(h.badges, "ana.json")); err != nil {
		t.Errorf("badge file: %v", err)
	}
	if n := len(h.hub.requestsOf(wire.TypeLogin)); n != 0 {
		t.Fatalf("registration tap sent a login")
	}

	// The next tap is a login with the new credential.
	h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "s1", "ana", time.Hour))
	h.a.Tap("ana")
	h.ev.expect(t, EventSessionStarted)
}

func TestEnrollRegisterRefusedByHub(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.hub.setResponder(wire.TypeRegister, func(context.Context, any) (wire.Envelope, error) {
		return wire.Envelope{}, &RemoteError{Type: wire.TypeRegister, Code: wire.ErrState, Message: "enrollment expired"}
	})
	h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
	h.ev.expect(t, EventEnrollmentArmed)
	h.a.Tap("ana")
	evs := h.ev.expect(t, EventCredentialRefused, EventEnrollmentEnded)
	if e := evs[0]; e.Reason != RegisterRefused || e.User != "ana" {
		t.Errorf("credential.refused = %+v", e)
	}
	if e := evs[1]; e.Reason != EnrollmentRefused || e.User != "ana" {
		t.Errorf("enrollment.ended = %+v", e)
	}
	h.hub.waitFor("error reply", func() bool { return len(h.hub.getReplies()) == 1 })
	if r := h.hub.getReplies()[0]; r.Re != "e1" || r.Type != wire.TypeError {
		t.Errorf("reply %+v", r)
	}
	h.do(func() {
		if h.a.enroll != nil {
			t.Error("enrollment still pending")
		}
	})
}

func TestRestartRestoresLiveSession(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock)
	h.connect()
	h.login("s1", "ana", 30*time.Minute)
	h.stop()

	h2 := startHarness(t, dir, badges, clock)
	e := h2.ev.expect(t, EventSessionStarted)[0]
	if !e.Restored || e.SessionID != "s1" || e.User != "ana" || !e.ExpiresAt.Equal(clock.Now().Add(30*time.Minute)) {
		t.Errorf("restored session.started = %+v", e)
	}
	h2.wantState(Active)
	if got := h2.hub.handler().HelloSessions(); got.LiveSession != "s1" {
		t.Errorf("hello would report live session %q", got.LiveSession)
	}
	// The timers are armed: the warning at 25 min, the end at 30. (One
	// Advance past both would be a kiosk asleep through them: no warning.)
	clock.Advance(25 * time.Minute)
	h2.ev.expect(t, EventSessionWarning)
	clock.Advance(5 * time.Minute)
	h2.ev.ended(t)
	h2.wantState(Locked)
}

func TestRestartAfterExpiryEndsSession(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock)
	h.connect()
	h.login("s1", "ana", 30*time.Minute)
	h.stop()
	clock.Advance(time.Hour)

	h2 := startHarness(t, dir, badges, clock)
	if e := h2.ev.ended(t); e.Reason != wire.ReasonExpired {
		t.Errorf("reason %q", e.Reason)
	}
	h2.wantState(Locked)
	h2.hub.connect()
	h2.ev.expect(t, EventConnected)
	h2.hub.waitFor("session.end", func() bool { return len(h2.hub.requestsOf(wire.TypeSessionEnd)) == 1 })
}

func TestRestartFinishesInterruptedTeardown(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	h := startHarness(t, dir, badges, clock, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.a.Signout()
	<-h.teardowns
	h.stop() // teardown interrupted

	h2 := startHarness(t, dir, badges, clock)
	if e := h2.ev.ended(t); e.Reason != wire.ReasonSignout {
		t.Errorf("reason %q", e.Reason)
	}
	if s := <-h2.teardowns; s.ID != "s1" {
		t.Errorf("teardown of %q", s.ID)
	}
}

func TestTapIgnoredDuringSession(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.login("s1", "ana", time.Hour)
	registerBadge(t, h.badges, "ben")
	h.a.Tap("ben")
	h.wantState(Active)
	h.ev.ignored(t, TapIgnoredSessionOpen)
	h.ev.none(t)
	if n := len(h.hub.requestsOf(wire.TypeLogin)); n != 1 {
		t.Errorf("%d logins", n)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Locked: "locked", Verifying: "verifying", Active: "active",
		Warning: "warning", Ending: "ending", State(9): "State(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
	}
	if Locked != 1 || Verifying != 2 || Active != 3 || Warning != 4 || Ending != 5 {
		t.Error("state numbers changed")
	}
}

// TestNextChallengeFromAnswer: a challenge sent with the hub's answer to a
// login is kept for the next tap, which then needs no challenge.request.
func TestNextChallengeFromAnswer(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.hub.waitFor("the first challenge", func() bool { return len(h.hub.requestsOf(wire.TypeChallengeRequest)) == 1 })
	registerBadge(h.t, h.badges, "ana")
	sessions := 0
	h.hub.setResponder(wire.TypeLogin, func(context.Context, any) (wire.Envelope, error) {
		sessions++
		return wire.New(wire.TypeSessionGrant, "", "x", wire.SessionGrant{
			SessionID: fmt.Sprintf("s%d", sessions), User: "ana", Role: "nurse", ExpiresAt: h.clock.Now().Add(time.Hour),
			NextChallenge: &wire.Challenge{Options: requestOptions(fmt.Sprintf("next-%d", sessions)), Origin: testOrigin, ExpiresAt: h.clock.Now().Add(wire.ChallengeTTL)},
		})
	})
	for i := 1; i <= 2; i++ {
		h.a.Tap("ana")
		h.ev.expect(t, EventSessionStarted)
		h.a.Signout()
		h.ev.ended(t)
	}
	h.do(func() {})
	if n := len(h.hub.requestsOf(wire.TypeChallengeRequest)); n != 1 {
		t.Errorf("challenge requests: %d; want only the first, the others came with the grants", n)
	}
	logins := h.hub.requestsOf(wire.TypeLogin)
	if len(logins) != 2 {
		t.Fatalf("logins: %d", len(logins))
	}
	var cred struct {
		Response struct {
			ClientDataJSON string `json:"clientDataJSON"`
		} `json:"response"`
	}
	if err := json.Unmarshal(logins[1].(wire.Login).Credential, &cred); err != nil {
		t.Fatal(err)
	}
	cd, err := base64.RawURLEncoding.DecodeString(cred.Response.ClientDataJSON)
	if err != nil {
		t.Fatal(err)
	}
	var clientData struct{ Challenge string }
	if err := json.Unmarshal(cd, &clientData); err != nil || clientData.Challenge != b64("next-1") {
		t.Errorf("second login signed challenge %q (%v); want the one sent with the first grant, %q", clientData.Challenge, err, b64("next-1"))
	}
}
