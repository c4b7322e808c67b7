package governance_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// itemsOf starts a campaign over everything and returns its items by
// "userName kind entitlement".
func (e *env) itemsOf(name string) map[string]governance.ItemView {
	e.t.Helper()
	c, err := e.gov.StartCampaign(context.Background(), actor, governance.CampaignRequest{Name: name, Due: e.clock.Now().Add(24 * time.Hour)})
	if err != nil {
		e.t.Fatal(err)
	}
	items := map[string]governance.ItemView{}
	for _, it := range c.Items {
		items[it.User+" "+it.Kind+" "+it.Entitlement] = it
	}
	return items
}

// auditOf returns the detail and actor of the subject's records of action.
func (e *env) auditOf(subject, action string) []store.AuditRecord {
	e.t.Helper()
	recs, err := e.st.ListAudit(context.Background(), store.AuditQuery{Subject: subject})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.AuditRecord
	for _, r := range recs {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

// TestDecideOwnAccess: nobody decides on their own access, whoever they
// are (a console admin included): keep, revoke and comment on an item
// about the decider's hub user are refused with ErrForbidden and change
// and record nothing; another person may decide it, and the audit record
// names that person's hub user; a token is no person and is named as the
// actor.
func TestDecideOwnAccess(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	ada := e.user("ada", []string{"north"}, nil) // a console admin's hub user
	bob := e.user("bob", []string{"north"}, nil)
	e.group("Nurse", ada.ID, bob.ID)
	items := e.itemsOf("all")
	console := lifecycle.Actor{Name: "console:ada", System: "console"}
	self := governance.Decider{Actor: console, UserID: ada.ID}

	before := e.actions("user:" + ada.ID)
	for _, tc := range []struct{ name, item, decision, comment string }{
		{"keep own role", "ada role Nurse", "keep", ""},
		{"revoke own site", "ada site north", "revoke", ""},
		{"comment on own role", "ada role Nurse", "comment", "fine by me"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.gov.Decide(ctx, self, items[tc.item].ID, tc.decision, tc.comment)
			if !errors.Is(err, governance.ErrForbidden) || !strings.Contains(err.Error(), "own access") {
				t.Fatalf("err = %v, want ErrForbidden about own access", err)
			}
			it, _ := e.st.GetReviewItem(ctx, items[tc.item].ID)
			if it.Decision != store.ReviewPending || it.Comment != "" {
				t.Errorf("refused decision changed the item: %+v", it)
			}
		})
	}
	if u, _ := e.st.GetUser(ctx, ada.ID); !slices.Equal(u.Sites, []string{"north"}) {
		t.Errorf("ada's sites after a refused revoke = %v", u.Sites)
	}
	if got := e.actions("user:" + ada.ID); len(got) != len(before) {
		t.Errorf("refused decisions were audited: %v", got[len(before):])
	}

	// The same person decides someone else's item; the audit names the
	// person's hub user.
	if v, err := e.gov.Decide(ctx, self, items["bob role Nurse"].ID, "keep", ""); err != nil || v.Decision != "keep" || v.DecidedBy != "console:ada" {
		t.Fatalf("ada keeps bob's role: %+v, %v", v, err)
	}
	recs := e.auditOf("user:"+bob.ID, "review.decide")
	if len(recs) != 1 || recs[0].Actor != "console:ada" || !strings.Contains(string(recs[0].Detail), `"deciderUser":"`+ada.ID+`"`) {
		t.Errorf("review.decide of bob's role = %+v", recs)
	}
	// Another person decides ada's item.
	if v, err := e.gov.Decide(ctx, governance.Decider{Actor: lifecycle.Actor{Name: "console:bob", System: "console"}, UserID: bob.ID}, items["ada role Nurse"].ID, "keep", ""); err != nil || v.Decision != "keep" {
		t.Errorf("bob keeps ada's role: %+v, %v", v, err)
	}
	// A token is no person: it decides, and the record says the token did.
	if v, err := e.gov.Decide(ctx, decider, items["ada site north"].ID, "keep", ""); err != nil || v.DecidedBy != actor.Name {
		t.Fatalf("token keeps ada's site: %+v, %v", v, err)
	}
	for _, r := range e.auditOf("user:"+ada.ID, "review.decide") {
		if strings.Contains(string(r.Detail), `"entitlement":"north"`) && (r.Actor != actor.Name || r.System != "api" || strings.Contains(string(r.Detail), "deciderUser")) {
			t.Errorf("token's review.decide = %+v, want actor %s, system api, no person", r, actor.Name)
		}
	}
}

// TestKeepOfGoneUser: a user disabled or deleted while the campaign runs
// holds no access: keeping an item about them is refused with a conflict
// (it would certify access that does not exist) and changes nothing; a
// revoke records "already gone".
func TestKeepOfGoneUser(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	cy := e.user("cy", []string{"north"}, nil)
	dee := e.user("dee", []string{"south"}, nil)
	eve := e.user("eve", []string{"north"}, nil)
	e.group("Nurse", cy.ID, dee.ID, eve.ID)
	items := e.itemsOf("all")

	e.at(t0.Add(time.Hour))
	e.update(cy.ID, func(u *store.User) { u.Active = false })
	if err := e.engine.DeleteUser(ctx, actor, dee.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, item, state string }{
		{"disabled role", "cy role Nurse", "cy is disabled"},
		{"disabled site", "cy site north", "cy is disabled"},
		{"deleted role", "dee role Nurse", "is deleted"},
		{"deleted site", "dee site south", "is deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := items[tc.item].ID
			if id == "" {
				t.Fatalf("no item %q", tc.item)
			}
			_, err := e.gov.Decide(ctx, decider, id, "keep", "")
			if !errors.Is(err, governance.ErrConflict) || !strings.Contains(err.Error(), tc.state) || !strings.Contains(err.Error(), "no access left to keep") {
				t.Fatalf("keep: %v, want a conflict saying %q", err, tc.state)
			}
			if it, _ := e.st.GetReviewItem(ctx, id); it.Decision != store.ReviewPending {
				t.Errorf("refused keep decided the item: %+v", it)
			}
			if v, err := e.gov.Decide(ctx, decider, id, "revoke", ""); err != nil || v.Outcome != governance.OutcomeGone {
				t.Errorf("revoke: %+v, %v; want already gone", v, err)
			}
		})
	}
	// A live user's access is still kept.
	if v, err := e.gov.Decide(ctx, decider, items["eve role Nurse"].ID, "keep", ""); err != nil || v.Decision != "keep" {
		t.Errorf("keep of a live user's role: %+v, %v", v, err)
	}
}

// TestOrphanedSession: a live kiosk session of a disabled or deleted user
// (left live by a failed push or a restore: made here directly in the
// store) is an orphaned/session_without_active_user finding; remediating
// it ends that session and hands its revocation to the kiosk in the same
// transaction as the audit records; a live user's session is no finding.
func TestOrphanedSession(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	fay := e.user("fay", []string{"north"}, nil)
	gus := e.user("gus", []string{"south"}, nil)
	hal := e.user("hal", []string{"north"}, nil)
	e.at(t0.Add(time.Hour))
	e.update(fay.ID, func(u *store.User) { u.Active = false })
	if err := e.engine.DeleteUser(ctx, actor, gus.ID); err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(2 * time.Hour))
	faySess := e.session(fay.ID, "north", "Nurse")
	gusSess := e.session(gus.ID, "south", "Nurse")
	e.session(hal.ID, "north", "Nurse")
	pushedBefore := len(e.pushes())

	fs, err := e.gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]governance.Finding{}
	for _, f := range fs {
		if f.Rule == governance.RuleSessionWithoutUser {
			found[f.Entitlement] = f
		}
	}
	if len(found) != 2 {
		t.Fatalf("session findings = %+v, want fay's and gus's", found)
	}
	for _, tc := range []struct {
		name, session, user, detail string
	}{
		{"disabled", faySess, fay.ID, "a live kiosk session of user fay on kiosk kiosk-"},
		{"deleted", gusSess, gus.ID, "a live kiosk session of user gus on kiosk kiosk-"}, // named from its tombstone
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := found["session:"+tc.session]
			if !ok {
				t.Fatalf("no finding for session %s", tc.session)
			}
			want := map[string]string{"kind": governance.KindOrphaned, "remediation": governance.RemedyEndSession, "user": tc.user}
			got := map[string]string{"kind": f.Kind, "remediation": f.Remediation, "user": f.UserID}
			for k := range want {
				if got[k] != want[k] {
					t.Errorf("%s = %q, want %q", k, got[k], want[k])
				}
			}
			if !strings.HasPrefix(f.Detail, tc.detail) || f.Since == nil || !f.Since.Equal(t0.Add(2*time.Hour)) {
				t.Errorf("finding = %+v", f)
			}
			r, err := e.gov.Remediate(ctx, actor, f.ID, governance.FindingsOptions{})
			if err != nil || r.Outcome != "done" || r.Action != governance.RemedyEndSession {
				t.Fatalf("remediate: %+v, %v", r, err)
			}
			if s, _ := e.st.GetSession(ctx, tc.session); s.Ended.IsZero() || s.EndReason != lifecycle.ReasonDeprovisioned {
				t.Errorf("session after remediation = %+v", s)
			}
			if !slices.ContainsFunc(e.pushes()[pushedBefore:], func(r store.Revocation) bool {
				return r.SessionID == tc.session && r.Reason == lifecycle.ReasonDeprovisioned
			}) {
				t.Errorf("no revocation of %s pushed: %+v", tc.session, e.pushes()[pushedBefore:])
			}
			acts := e.actions("user:" + tc.user)
			if !slices.Contains(acts, "session.signout_forced") || !slices.Contains(acts, "finding.remediate") {
				t.Errorf("remediation audit = %v", acts)
			}
			if _, err := e.gov.Remediate(ctx, actor, f.ID, governance.FindingsOptions{}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("remediate twice: %v, want not found", err)
			}
		})
	}
	fs, _ = e.gov.Findings(ctx, governance.FindingsOptions{})
	for _, f := range fs {
		if f.Rule == governance.RuleSessionWithoutUser {
			t.Errorf("finding left after remediation: %+v", f)
		}
	}
}
