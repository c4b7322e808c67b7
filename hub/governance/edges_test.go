package governance_test

import (
	"context"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDeletedJoinerIsNotPending: a joiner the identity provider created
// inactive (a pre-hire account, or one whose end date had already passed)
// and then deleted never becomes able to sign in, and nobody is waiting
// for it: it is not pending provisioning, before the delete (nothing was
// asked for yet: its clock starts when it is activated) or after it.
// Deleting a disabled user records user.delete only (it was stripped when
// disabled), so the history must read that too.
func TestDeletedJoinerIsNotPending(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		mod  func(*store.User)
	}{
		{"created inactive", func(u *store.User) { u.Active = false }},
		{"end date already passed", func(u *store.User) { u.EndDate = t0.Add(-time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, t0)
			u := e.user("pat", []string{"north"}, tc.mod)
			if u.State != store.UserDisabled {
				t.Fatalf("state = %v, want disabled", u.State)
			}
			if got := e.numbers().TimeToProvision; got.Pending != 0 || got.Count != 0 {
				t.Fatalf("before the delete: %+v, want nothing measured or pending", got)
			}
			if err := e.at(t0.Add(time.Hour)).engine.DeleteUser(ctx, actor, u.ID); err != nil {
				t.Fatal(err)
			}
			want := governance.Durations{}
			if d := gocmp.Diff(want, e.numbers().TimeToProvision); d != "" {
				t.Errorf("time to provision after the delete (-want +got):\n%s", d)
			}
			fresh, err := governance.New(governance.Config{Store: e.st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := fresh.Numbers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := gocmp.Diff(want, rep.TimeToProvision); d != "" {
				t.Errorf("time to provision from a fresh service (-want +got):\n%s", d)
			}
		})
	}
}

// TestRevokeRoleEndsItsSessions: revoking a role in a review ends the
// live sessions signed in under that role, and tells their kiosks.
func TestRevokeRoleEndsItsSessions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, nil)
	e.group("Nurse", ann.ID)
	e.badge(ann.ID)
	sess := e.session(ann.ID, "north", "Nurse")
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "c", Due: t0.Add(time.Hour), Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil || len(c.Items) != 1 {
		t.Fatal(c, err)
	}
	if v, err := e.gov.Decide(ctx, decider, c.Items[0].ID, "revoke", ""); err != nil || v.Outcome != governance.OutcomeRevoked {
		t.Fatalf("revoke: %+v, %v", v, err)
	}
	if s, _ := e.st.GetSession(ctx, sess); s.Ended.IsZero() {
		t.Errorf("the session under the revoked role is still live: %+v", s)
	}
	pushed := false
	for _, r := range e.pushes() {
		pushed = pushed || r.SessionID == sess
	}
	if !pushed {
		t.Errorf("no revocation pushed for the session: %v", e.pushes())
	}
}
