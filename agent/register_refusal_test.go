package agent

import (
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// The Agent (shiftgate-agent run, the kiosk UI) passes the hub's reason for
// refusing a registration on in credential.refused, so the screen can say
// what to do; a code it does not know (an older hub's bad_state, a newer
// hub's) is "refused". Every refusal ends the enrollment and answers its
// push with the hub's code.
func TestEnrollRefusalReasons(t *testing.T) {
	for _, tc := range []struct{ code, reason string }{
		{wire.ErrEnrollmentExpired, RegisterEnrollmentExpired},
		{wire.ErrModelNotAllowed, RegisterModelNotAllowed},
		{wire.ErrAttestationUntrusted, RegisterAttestationUntrusted},
		{wire.ErrAlreadyRegistered, RegisterAlreadyRegistered},
		{wire.ErrInvalidAttestation, RegisterInvalidAttestation},
		{wire.ErrState, RegisterRefused},
		{wire.ErrInternal, RegisterRefused},
		{"something_new", RegisterRefused},
	} {
		t.Run(tc.code, func(t *testing.T) {
			h := newHarness(t)
			h.connect()
			h.hub.setResponder(wire.TypeRegister, refuse(tc.code))
			h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
			h.ev.expect(t, EventEnrollmentArmed)
			h.a.Tap("ana")
			evs := h.ev.expect(t, EventCredentialRefused, EventEnrollmentEnded)
			if e := evs[0]; e.Reason != tc.reason || e.User != "ana" {
				t.Errorf("credential.refused = %+v, want reason %s", e, tc.reason)
			}
			if e := evs[1]; e.Reason != EnrollmentRefused {
				t.Errorf("enrollment.ended = %+v", e)
			}
			h.hub.waitFor("error reply", func() bool { return len(h.hub.getReplies()) == 1 })
			if r := h.hub.getReplies()[0]; r.Re != "e1" || r.Type != wire.TypeError || r.Data != (wire.Error{Code: tc.code, Message: "registration refused"}) {
				t.Errorf("reply %+v", r)
			}
			h.wantState(Locked)
		})
	}
}
