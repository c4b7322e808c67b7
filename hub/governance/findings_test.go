package governance_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestFindingsAndRemediation: each rule fires on the condition it names
// and nothing else; remediation applies through the engine, is audited,
// and leaves the finding gone.
func TestFindingsAndRemediation(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	day := 24 * time.Hour
	grant := func(u store.User, role, site string, end time.Time) store.Grant {
		t.Helper()
		g, err := e.engine.GrantAccess(ctx, actor, store.Grant{UserID: u.ID, Role: role, Site: site, End: end, Reason: "cover"})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	gil := e.user("gil", []string{"north"}, nil)
	grant(gil, "Picker", "south", t0.Add(20*day))
	hal := e.user("hal", []string{"north", "south"}, nil)
	halGrant := grant(hal, "Nurse", "south", t0.Add(25*day))
	ida := e.user("ida", nil, nil)
	e.group("Nurse", ida.ID)
	jo1 := e.user("jo1", []string{"north"}, func(u *store.User) { u.ExternalID = "E1" })
	e.at(t0.Add(time.Second))
	e.user("jo2", []string{"north"}, func(u *store.User) { u.ExternalID = "E1" })
	kim := e.user("kim", []string{"north"}, func(u *store.User) { u.EmploymentType = "temp" })
	e.user("lea", []string{"north"}, func(u *store.User) { u.EmploymentType = "temp"; u.EndDate = t0.Add(90 * day) })
	e.badge(kim.ID)

	e.at(t0.Add(day)).update(hal.ID, func(u *store.User) { u.Sites = []string{"south"} }) // hal moves
	e.at(t0.Add(19 * day))
	gilGrant2 := grant(gil, "Picker", "south", t0.Add(40*day)) // a chain of 40 days

	fs, err := e.gov.Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]governance.Finding{}
	var got []string
	for _, f := range fs {
		got = append(got, f.Rule+" "+f.User+" "+f.Entitlement)
		byRule[f.Rule] = f
	}
	// kim's badge, unused for 19 days, is not dormant under the default 30.
	want := []string{
		"no_end_date kim ",
		"duplicate_external_id jo1 ",
		"grant_chain gil grant:" + gilGrant2.ID,
		"grant_kept_after_move hal grant:" + halGrant.ID,
		"role_without_site ida role:Nurse",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings =\n%q\nwant\n%q", got, want)
	}
	again, _ := e.gov.Findings(ctx, governance.FindingsOptions{})
	for i := range again {
		if again[i].ID != fs[i].ID {
			t.Errorf("finding IDs are not stable: %s then %s", fs[i].ID, again[i].ID)
		}
	}
	if fs, _ := e.gov.Findings(ctx, governance.FindingsOptions{DormantAfter: 18 * day}); fs[0].Rule != governance.RuleNoLogin || fs[0].User != "kim" {
		t.Errorf("with 18 days, kim (badge unused since day 0) is dormant: %+v", fs[0])
	}

	// Remediate.
	if _, err := e.gov.Remediate(ctx, actor, byRule["no_end_date"].ID, governance.FindingsOptions{}); !errors.Is(err, governance.ErrConflict) {
		t.Errorf("remediate no_end_date: %v, want a conflict", err)
	}
	for _, rule := range []string{"grant_chain", "grant_kept_after_move", "role_without_site", "duplicate_external_id"} {
		r, err := e.gov.Remediate(ctx, actor, byRule[rule].ID, governance.FindingsOptions{})
		if err != nil || r.Outcome != "done" || r.Action != byRule[rule].Remediation {
			t.Errorf("remediate %s: %+v, %v", rule, r, err)
		}
		if _, err := e.gov.Remediate(ctx, actor, byRule[rule].ID, governance.FindingsOptions{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("remediate %s twice: %v, want not found", rule, err)
		}
	}
	if g, _ := e.st.GetGrant(ctx, gilGrant2.ID); g.Revoked.IsZero() {
		t.Errorf("gil's chained grant is not revoked")
	}
	if g, _ := e.st.GetGrant(ctx, halGrant.ID); g.Revoked.IsZero() {
		t.Errorf("hal's grant kept across the move is not revoked")
	}
	if gs, _, _ := e.st.ListGroups(ctx, store.GroupQuery{MemberID: ida.ID}); len(gs) != 0 {
		t.Errorf("ida is still in %v", gs)
	}
	if u, _ := e.st.GetUser(ctx, jo1.ID); u.State != store.UserDisabled {
		t.Errorf("jo1 is %v, want disabled", u.State)
	}
	for _, u := range []store.User{gil, hal, ida, jo1} {
		if !slices.Contains(e.actions("user:"+u.ID), "finding.remediate") {
			t.Errorf("%s: remediation not audited: %v", u.UserName, e.actions("user:"+u.ID))
		}
	}
	fs, _ = e.gov.Findings(ctx, governance.FindingsOptions{})
	if len(fs) != 1 || fs[0].Rule != governance.RuleNoEndDate {
		t.Errorf("findings after remediation = %+v", fs)
	}
	if _, err := e.gov.Remediate(ctx, actor, "nope", governance.FindingsOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("remediate unknown: %v", err)
	}

	// Orphaned credentials and dormant badges are revoked.
	if _, err := e.st.CreateCredential(ctx, store.Credential{ID: []byte("ghost"), UserID: jo1.ID, State: store.CredentialActive, Created: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(50 * day))
	fs, _ = e.gov.Findings(ctx, governance.FindingsOptions{})
	for _, f := range fs {
		if f.Rule == governance.RuleCredentialWithoutUser || f.Rule == governance.RuleNoLogin {
			if _, err := e.gov.Remediate(ctx, actor, f.ID, governance.FindingsOptions{}); err != nil {
				t.Errorf("remediate %s: %v", f.Rule, err)
			}
		}
	}
	if cs, _ := e.st.ListActiveCredentials(ctx); len(cs) != 0 {
		t.Errorf("active credentials after remediation: %v", cs)
	}
}
