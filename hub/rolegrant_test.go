package hub_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestGroupRemovalKeepsGrantedCover: the identity provider takes two
// nurses out of the Nurse group (SCIM PATCH on the group) while each holds
// a just-in-time grant of Nurse at North, where they are signed in.
//
//   - jo works at South and covers at North through the grant alone: the
//     group never gave her anything there. Her session goes on untouched;
//     before, it was revoked, and her next tap signed her in again with
//     the same grant, her work on the kiosk lost mid-shift.
//   - kim works at North; her session ran to the policy maximum, as a
//     group role outlives any grant. It goes on, now only through the
//     grant, so its kiosk is told it ends at the grant's end
//     (session.extend), and the scheduler ends it there.
func TestGroupRemovalKeepsGrantedCover(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	ctx := t.Context()
	jo := createUser(t, h, "jo", `{"sites":["south"]}`)
	kim := createUser(t, h, "kim", `{"sites":["north"]}`)
	nurse := createGroup(t, h, "Nurse", jo, kim)
	kj, kk := h.EnrollKiosk(t, "north-1", "north"), h.EnrollKiosk(t, "north-2", "north")
	kj.Dial("")
	kk.Dial("")
	joBadge, kimBadge := registerBadge(t, h, kj, "jo"), registerBadge(t, h, kk, "kim")
	joEnd, kimEnd := now.Add(2*time.Hour), now.Add(3*time.Hour)
	postGrant(t, h, map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": joEnd, "reason": "cover at North"})
	postGrant(t, h, map[string]any{"user": "kim", "role": "Nurse", "site": "north", "end": kimEnd, "reason": "second ward"})
	js := grant(t, first(tap(t, kj, joBadge)))
	ks := grant(t, first(tap(t, kk, kimBadge)))
	if js.Role != "Nurse" || !js.ExpiresAt.Equal(joEnd) || ks.Role != "Nurse" || !ks.ExpiresAt.After(kimEnd) {
		t.Fatalf("sessions: jo %s until %s, kim %s until %s", js.Role, js.ExpiresAt, ks.Role, ks.ExpiresAt)
	}

	clock.Advance(10 * time.Minute)
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+nurse, `{"schemas":["`+patchOp+`"],"Operations":[`+
		`{"op":"remove","path":"members[value eq \"`+jo+`\"]"},{"op":"remove","path":"members[value eq \"`+kim+`\"]"}]}`), 204)

	expectExtend(t, kk, ks.SessionID, kimEnd, wire.ReasonExpired)
	// Anything pushed to the kiosks for the change is queued ahead of the
	// answer to a request made now.
	kj.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, nil)
	kk.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, nil)
	for _, c := range []struct {
		id      string
		expires time.Time
	}{{js.SessionID, joEnd}, {ks.SessionID, kimEnd}} {
		s, err := h.Store().GetSession(ctx, c.id)
		if err != nil || !s.Ended.IsZero() || !s.Expires.Equal(c.expires) {
			t.Errorf("session %s after the group change: %+v (%v), want live until %s", c.id, s, err, c.expires)
		}
		if rs, err := h.Store().ListRevocations(ctx, store.RevocationQuery{SessionID: c.id}); err != nil || len(rs) != 0 {
			t.Errorf("revocations of session %s: %+v (%v), want none", c.id, rs, err)
		}
	}
	// The loss of the group's role is recorded all the same.
	for _, uid := range []string{jo, kim} {
		rs, err := h.Store().ListRevocations(ctx, store.RevocationQuery{UserID: uid})
		if err != nil || len(rs) != 1 || rs[0].Detail != "role:Nurse" || rs[0].SessionID != "" {
			t.Errorf("revocations of %s: %+v (%v), want role:Nurse without a session", uid, rs, err)
		}
	}

	clock.Advance(kimEnd.Sub(clock.Now()))
	if _, err := h.Engine().RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	expectRevoke(t, kk, ks.SessionID, wire.ReasonExpired)
}
