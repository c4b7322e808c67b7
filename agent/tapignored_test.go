package agent

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// ignored returns the next event, failing unless it is a tap.ignored for
// reason.
func (r *recorder) ignored(t *testing.T, reason string) Event {
	t.Helper()
	e := r.expect(t, EventTapIgnored)[0]
	if e.Reason != reason {
		t.Fatalf("tap.ignored reason %q, want %q (%+v)", e.Reason, reason, e)
	}
	return e
}

// heldResponder answers typ with answer once release is closed: the
// operation that sent it stays in flight until then.
func heldResponder(release <-chan struct{}, answer func(context.Context, any) (wire.Envelope, error)) func(context.Context, any) (wire.Envelope, error) {
	return func(ctx context.Context, data any) (wire.Envelope, error) {
		select {
		case <-release:
		case <-ctx.Done():
			return wire.Envelope{}, ctx.Err()
		}
		return answer(ctx, data)
	}
}

// A tap while another is being handled (a login or a registration at the
// hub) is answered with tap.ignored "busy" at once, and the operation in
// flight goes on as if it had not come: one request to the hub, its own
// outcome, for its own badge.
func TestTapIgnoredWhileBusy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     string // the request held at the hub
		arm     bool   // an enrollment is armed: the first tap registers
		outcome []string
	}{
		{name: "login", typ: wire.TypeLogin, outcome: []string{EventSessionStarted}},
		{name: "registration", typ: wire.TypeRegister, arm: true, outcome: []string{EventCredentialRegistered, EventEnrollmentEnded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.connect()
			registerBadge(t, h.badges, "ana")
			registerBadge(t, h.badges, "ben")
			release := make(chan struct{})
			h.hub.setResponder(wire.TypeLogin, heldResponder(release, grantFor(h.clock, "s1", "ana", time.Hour)))
			h.hub.setResponder(wire.TypeRegister, heldResponder(release, func(context.Context, any) (wire.Envelope, error) {
				return env(t, wire.TypeRegistered, wire.Registered{User: "dana"}), nil
			}))
			if tc.arm {
				h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "dana", Options: creationOptions("dana"), Origin: testOrigin})
				h.ev.expect(t, EventEnrollmentArmed)
			}

			h.a.Tap("ana")
			h.hub.waitFor("ana's request at the hub", func() bool { return len(h.hub.requestsOf(tc.typ)) == 1 })
			h.wantState(Verifying)

			h.a.Tap("ben")
			e := h.ev.ignored(t, TapIgnoredBusy)
			b, err := json.Marshal(e)
			mustNoErr(t, err)
			if want := `{"event":"tap.ignored","time":"2026-03-02T08:00:00.000Z","reason":"busy"}`; string(b) != want {
				t.Errorf("JSON %s, want %s", b, want)
			}
			h.wantState(Verifying) // still ana's

			close(release)
			evs := h.ev.expect(t, tc.outcome...)
			switch tc.name {
			case "login":
				if evs[0].User != "ana" || evs[0].SessionID != "s1" {
					t.Errorf("session.started = %+v, want ana's s1", evs[0])
				}
				h.wantState(Active)
			default:
				if evs[0].User != "dana" || evs[1].Reason != EnrollmentRegistered {
					t.Errorf("registration events %+v", evs)
				}
				h.wantState(Locked)
			}
			h.ev.none(t)
			if n := len(h.hub.requestsOf(tc.typ)); n != 1 {
				t.Errorf("%d %s requests, want ana's only", n, tc.typ)
			}
		})
	}
}

// A tap while the last session is being torn down is answered with
// tap.ignored "ending", also when an enrollment was armed meanwhile (the
// badge does not register over the leftovers either); nothing is sent to
// the hub, and the teardown finishes as it would have.
func TestTapIgnoredWhileEnding(t *testing.T) {
	h := newHarness(t, withGate())
	h.connect()
	h.login("s1", "ana", time.Hour)
	registerBadge(t, h.badges, "ben")
	h.a.Signout()
	h.ev.expect(t, EventSessionEnding)
	<-h.teardowns

	h.a.Tap("ben")
	h.ev.ignored(t, TapIgnoredEnding)
	h.wantState(Ending)

	h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "dana", Options: creationOptions("dana"), Origin: testOrigin})
	h.ev.expect(t, EventEnrollmentArmed)
	h.a.Tap("ben")
	h.ev.ignored(t, TapIgnoredEnding)
	h.wantState(Ending)

	h.gate <- nil
	if e := h.ev.expect(t, EventSessionEnded)[0]; e.SessionID != "s1" || e.Reason != wire.ReasonSignout {
		t.Errorf("session.ended = %+v", e)
	}
	h.wantState(Locked)
	h.ev.none(t)
	if n, r := len(h.hub.requestsOf(wire.TypeLogin)), len(h.hub.requestsOf(wire.TypeRegister)); n != 1 || r != 0 {
		t.Errorf("%d login and %d register requests; want ana's login only", n, r)
	}
}

// Offline, a tap is not ignored: it is tried, and answered at once with
// login.refused "hub_unreachable" (the screen says the kiosk could not reach
// the server), never with tap.ignored.
func TestTapWhileOfflineIsRefusedNotIgnored(t *testing.T) {
	h := newHarness(t)
	h.connect()
	registerBadge(t, h.badges, "ana")
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)

	h.a.Tap("ana")
	if e := h.ev.expect(t, EventLoginRefused)[0]; e.Reason != RefusedHubUnreachable {
		t.Errorf("login.refused reason %q, want %q", e.Reason, RefusedHubUnreachable)
	}
	h.wantState(Locked)
	h.ev.none(t)
}
