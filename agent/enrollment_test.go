package agent

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// A registration that fails on the way to the hub leaves the enrollment
// armed: the next tap tries again.
func TestEnrollmentStaysArmedAfterFailedTap(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
	h.ev.expect(t, EventEnrollmentArmed)
	// No responder for register: the request fails as if the hub were
	// unreachable.
	h.a.Tap("ana")
	if e := h.ev.expect(t, EventCredentialRefused)[0]; e.Reason != RegisterHubUnreachable || e.DisplayName != "User ana" {
		t.Errorf("credential.refused = %+v", e)
	}
	h.wantState(Locked)
	h.ev.none(t) // still armed: no enrollment.ended

	h.hub.setResponder(wire.TypeRegister, func(context.Context, any) (wire.Envelope, error) {
		return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
	})
	h.a.Tap("ana")
	evs := h.ev.expect(t, EventCredentialRegistered, EventEnrollmentEnded)
	if evs[1].Reason != EnrollmentRegistered {
		t.Errorf("enrollment.ended = %+v", evs[1])
	}
	h.hub.waitFor("ack", func() bool { return h.acked("e1") })
}

func TestEnrollmentEndsOnDisconnect(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
	h.ev.expect(t, EventEnrollmentArmed)
	h.hub.disconnect()
	if e := h.ev.expect(t, EventDisconnected, EventEnrollmentEnded)[1]; e.Reason != EnrollmentDisconnected || e.User != "ana" {
		t.Errorf("enrollment.ended = %+v", e)
	}
	// Without an enrollment, nothing more is said on the next disconnect.
	h.hub.connect()
	h.ev.expect(t, EventConnected)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.wantState(Locked)
	h.ev.none(t)
}

func TestEnrollmentReplaced(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
	h.ev.expect(t, EventEnrollmentArmed)
	h.hub.push(wire.TypeEnrollStart, "e2", wire.EnrollStart{User: "ben", Options: creationOptions("ben"), Origin: testOrigin})
	if e := h.ev.expect(t, EventEnrollmentArmed)[0]; e.User != "ben" || e.DisplayName != "User ben" {
		t.Errorf("enrollment.armed = %+v", e)
	}
	h.hub.waitFor("ack of the replaced one", func() bool { return h.acked("e1") })
	h.ev.none(t)
}

func TestCreationDisplayName(t *testing.T) {
	for _, tc := range []struct {
		name, options, want string
	}{
		{"publicKey", `{"publicKey":{"user":{"id":"dQ","name":"ana","displayName":"Ana Lima"}}}`, "Ana Lima"},
		{"bare", `{"user":{"displayName":"Ana Lima"}}`, "Ana Lima"},
		{"none", `{"publicKey":{"user":{"name":"ana"}}}`, ""},
		{"not JSON", `nope`, ""},
		{"control characters and spaces", `{"publicKey":{"user":{"displayName":"  Ana\u0000\n\tLima \u202e"}}}`, "Ana Lima"},
		{"long", `{"publicKey":{"user":{"displayName":"` + strings.Repeat("a", 100) + `"}}}`, strings.Repeat("a", maxDisplayName-1) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := creationDisplayName(json.RawMessage(tc.options)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
