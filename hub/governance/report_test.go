package governance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

var t0 = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

func TestPercentileNearestRank(t *testing.T) {
	vals := []float64{10, 20, 30, 40}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{50, 20}, {95, 40}, {25, 10}, {26, 20}, {100, 40}, {1, 10}} {
		if got := governance.Percentile(vals, tc.p); got != tc.want {
			t.Errorf("p%v of %v = %v, want %v", tc.p, vals, got, tc.want)
		}
	}
	one := []float64{7}
	if governance.Percentile(one, 50) != 7 || governance.Percentile(one, 95) != 7 {
		t.Errorf("percentiles of one value are not that value")
	}
}

// TestNumbersFromNothing: a new hub says nothing was measured; it does
// not claim zeros.
func TestNumbersFromNothing(t *testing.T) {
	e := newEnv(t, t0)
	got := e.numbers()
	want := governance.Report{GeneratedAt: t0}
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("empty report (-want +got):\n%s", d)
	}
	var out bytes.Buffer
	if err := governance.WriteReportCSV(&out, got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "time_to_provision_seconds,p50,\n") || !strings.Contains(out.String(), "orphaned_account_rate,value,\n") {
		t.Errorf("CSV of an empty report does not leave unmeasured values empty:\n%s", out.String())
	}
	b, _ := json.Marshal(got)
	for _, k := range []string{`"p50":null`, `"orphaned_account_rate":null`, `"access_review_completion_rate":null`, `"count":0`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("JSON of an empty report lacks %s: %s", k, b)
		}
	}
}

// TestNumbers builds a known history — joiners (one before day one, one
// through a grant), movers, leavers (one at an end date, one whose kiosk
// never answers), orphans and two review campaigns, one reviewed late —
// on the injected clock, and checks every number exactly.
func TestNumbers(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	min, hour, day := time.Minute, time.Hour, 24*time.Hour

	// Day 0. Joiners.
	sam := e.user("sam", []string{"north"}, nil) // a supervisor, never enrolls: pending
	e.group("Supervisor", sam.ID)
	ann := e.user("ann", []string{"north"}, nil)
	cy := e.user("cy", []string{"south"}, func(u *store.User) { u.StartDate = t0.Add(48 * hour) }) // before day one
	e.user("eve", []string{"north"}, func(u *store.User) { u.EmploymentType = "contractor" })      // never enrolls
	e.at(t0.Add(10*min)).group("Nurse", ann.ID)
	e.at(t0.Add(30 * min)).badge(ann.ID) // ann ready: 30 min
	bob := e.at(t0.Add(hour)).user("bob", []string{"north"}, func(u *store.User) { u.Document = enterprise(sam.ID, "Ward 3") })
	e.group("Picker", cy.ID)
	e.at(t0.Add(hour + 5*min)).badge(bob.ID)
	e.at(t0.Add(2 * hour)).badge(cy.ID)
	dee := e.user("dee", nil, nil)
	e.at(t0.Add(3*hour)).group("Nurse", bob.ID) // bob ready: 2 h
	e.badge(dee.ID)
	if _, err := e.at(t0.Add(5*hour)).engine.GrantAccess(ctx, actor, store.Grant{UserID: dee.ID, Role: "Nurse", Site: "north", End: t0.Add(17 * hour), Reason: "cover"}); err != nil {
		t.Fatal(err) // dee ready through the grant: 3 h
	}
	k := make([]store.User, 21)
	e.at(t0.Add(6 * hour))
	for i := 1; i <= 20; i++ {
		k[i] = e.user(fmt.Sprintf("k%02d", i), []string{"north"}, nil)
	}
	for i := 1; i <= 20; i++ { // k_i ready after i minutes
		e.at(t0.Add(6*hour+time.Duration(i)*min)).group("Picker", k[i].ID)
		e.badge(k[i].ID)
	}
	e.at(t0.Add(20*hour)).update(dee.ID, func(u *store.User) { u.Sites = []string{"south"} }) // a site added is no move
	if d, err := e.at(t0.Add(48*hour + min)).engine.RunDue(ctx); err != nil || d.Activated != 1 {
		t.Fatalf("activate cy: %+v, %v", d, err) // cy ready a minute after its start date
	}

	// Day 3: two campaigns; the movers.
	e.at(t0.Add(3 * day))
	nurses, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "nurses", Due: t0.Add(8 * day), Scope: store.ReviewScope{Roles: []string{"nurse"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "privileged", Due: t0.Add(40 * day), Scope: store.ReviewScope{Privileged: true}}); err != nil {
		t.Fatal(err)
	}
	item := map[string]governance.ItemView{}
	for _, it := range nurses.Items {
		item[it.User] = it
	}
	if len(nurses.Items) != 2 || item["ann"].Reviewer != "sam" || item["ann"].ReviewerKind != governance.ReviewerSupervisor ||
		item["bob"].Reviewer != "sam" || item["bob"].ReviewerKind != governance.ReviewerManager {
		t.Fatalf("nurse review items = %+v, want ann's (supervisor sam) and bob's (manager sam)", nurses.Items)
	}
	e.at(t0.Add(4*day)).update(ann.ID, func(u *store.User) { u.Sites = []string{"south"} }) // ann moves
	e.update(bob.ID, func(u *store.User) { u.Document = enterprise(sam.ID, "Pharmacy") })   // bob moves
	if _, err := e.at(t0.Add(5*day)).gov.Decide(ctx, decider, item["ann"].ID, "keep", "still covers south"); err != nil {
		t.Fatal(err)
	}

	// Day 8, an hour after the due date: bob's item is escalated from
	// sam (who has no manager) to the hub admins; bob kept Nurse across
	// his move and nobody confirmed it.
	e.at(t0.Add(8*day + hour))
	if got, err := e.gov.RunDue(ctx); err != nil || got.Escalated != 1 || len(got.Campaigns) != 3 {
		t.Fatalf("RunDue = %+v, %v; want 3 default campaigns and 1 escalation", got, err)
	}
	if got, err := e.gov.RunDue(ctx); err != nil || got.Escalated != 0 || len(got.Campaigns) != 0 {
		t.Fatalf("second RunDue = %+v, %v; want nothing", got, err)
	}
	c, err := e.gov.Campaign(ctx, nurses.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range c.Items {
		if it.User == "bob" && (it.Reviewer != "admins" || it.ReviewerKind != governance.ReviewerAdmins || it.EscalatedFrom != "sam" || it.Escalated == nil || !it.Escalated.Equal(t0.Add(8*day+hour))) {
			t.Errorf("bob's item after escalation = %+v", it)
		}
	}
	if !c.Overdue || c.Progress.Escalated != 1 || *c.Progress.CompletionRate != 0.5 {
		t.Errorf("nurse campaign at day 8 = %+v", c.Progress)
	}
	// sam let bob's item go overdue: it counts against sam (escalated
	// away, undecided) as well as for the admins it went to.
	byReviewer := map[string]governance.ReviewerProgress{}
	for _, r := range c.Reviewers {
		byReviewer[r.Reviewer] = r
	}
	if r := byReviewer["sam"]; r.Total != 2 || r.Decided != 1 || r.EscalatedAway != 1 || r.Escalated != 0 || r.CompletionRate == nil || *r.CompletionRate != 0.5 {
		t.Errorf("sam's progress at day 8 = %+v (rate %v), want 2 items, 1 decided, 1 escalated away, 50%%", r, r.CompletionRate)
	}
	if r := byReviewer["admins"]; r.Total != 1 || r.Escalated != 1 || r.EscalatedAway != 0 || r.Pending != 1 {
		t.Errorf("the admins' progress at day 8 = %+v, want the escalated item, pending", r)
	}
	if !slices.Contains(e.actions("user:"+bob.ID), "review.escalate") {
		t.Errorf("the escalation is not audited: %v", e.actions("user:"+bob.ID))
	}
	if got := rules(t, e, governance.FindingsOptions{}, governance.KindPrivilegeCreep); !slices.Equal(got, []string{"role_kept_after_move bob role:Nurse"}) {
		t.Errorf("privilege creep at day 8 = %v", got)
	}
	if _, err := e.at(t0.Add(9*day)).gov.Decide(ctx, decider, item["bob"].ID, "keep", "late, but still needed"); err != nil {
		t.Fatal(err)
	}

	// Day 10: leavers.
	t10 := t0.Add(10 * day)
	s1 := e.at(t10).session(k[1].ID, "north", "Picker")
	s2a, s2b := e.session(k[2].ID, "north", "Picker"), e.session(k[2].ID, "north", "Picker")
	s4 := e.session(k[4].ID, "north", "Picker")
	e.update(k[4].ID, func(u *store.User) { u.EndDate = t10.Add(10 * min) })
	e.at(t10.Add(min)).update(k[1].ID, func(u *store.User) { u.Active = false })
	e.at(t10.Add(min + 2*time.Second)).ack(s1) // 2 s
	if err := e.at(t10.Add(2*min)).engine.DeleteUser(ctx, actor, k[2].ID); err != nil {
		t.Fatal(err)
	}
	e.at(t10.Add(2*min + time.Second)).ack(s2a)
	e.at(t10.Add(2*min + 5*time.Second)).ack(s2b)                                  // 5 s
	e.at(t10.Add(3*min)).update(k[3].ID, func(u *store.User) { u.Active = false }) // no session: 0 s
	if d, err := e.at(t10.Add(10*min + 30*time.Second)).engine.RunDue(ctx); err != nil || d.Deprovisioned != 1 {
		t.Fatalf("end date of k04: %+v, %v", d, err)
	}
	e.at(t10.Add(10*min + 33*time.Second)).ack(s4) // 33 s after the end date
	e.at(t10.Add(11*min)).session(k[5].ID, "north", "Picker")
	e.at(t10.Add(12*min)).update(k[5].ID, func(u *store.User) { u.Active = false }) // its kiosk never answers

	// Orphans: a credential of nobody, a user past its end date that the
	// scheduler has not seen yet, a badge holder with nothing to use it for.
	e.at(t10.Add(hour))
	if _, err := e.st.CreateCredential(ctx, store.Credential{ID: []byte("ghost-cred"), UserID: "ghost", State: store.CredentialActive, Created: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e.user("fay", []string{"north"}, func(u *store.User) { u.EndDate = t10.Add(2 * hour) })
	gus := e.user("gus", nil, nil)
	e.badge(gus.ID)
	e.at(t10.Add(3 * hour))

	got := e.numbers()
	want := governance.Report{
		GeneratedAt: t10.Add(3 * hour),
		// 24 joiners ready: cy 60 s (from its start date), k01..k20
		// 60..1200 s, ann 1800, bob 7200, dee 10800. Nearest rank: p50
		// is the 12th value (k11, 660 s), p95 the 23rd (bob). sam, eve,
		// fay and gus cannot sign in yet.
		TimeToProvision: governance.Durations{P50: f(660), P95: f(7200), Max: f(10800), Count: 24, Sum: 60 + 12600 + 1800 + 7200 + 10800, Pending: 4},
		// 4 leavers done: k03 0 s, k01 2 s, k02 5 s, k04 33 s (from its
		// end date, the scheduler's 30 s included); k05 awaits its kiosk.
		TimeToDeprovision: governance.Durations{P50: f(2), P95: f(33), Max: f(33), Count: 4, Sum: 40, Pending: 1},
		// ghost, fay and gus of 23 live users and ghost.
		OrphanedAccountRate: f(3.0 / 24),
		// The nurse campaign is due: ann on time, bob late; the
		// privileged one and the defaults are not due yet.
		AccessReviewCompletionRate: f(0.5),
		Counts:                     governance.Counts{OrphanedAccounts: 3, Accounts: 24, ReviewItemsDue: 2, ReviewItemsOnTime: 1},
	}
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	// The same numbers from a service that reads the whole log afresh
	// (the CLI's report), and again from the first one (incremental).
	fresh, err := governance.New(governance.Config{Store: e.st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	got2, err := fresh.Numbers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(want, got2); d != "" {
		t.Errorf("report of a fresh service (-want +got):\n%s", d)
	}
	if d := gocmp.Diff(want, e.numbers()); d != "" {
		t.Errorf("second report (-want +got):\n%s", d)
	}

	// The findings at the end: the three orphans and eve, a contractor
	// without an end date. With a week as the dormant limit, every
	// active badge holder not enrolled in the last week is dormant.
	if got := rules(t, e, governance.FindingsOptions{}, ""); !slices.Equal(got, []string{
		"no_end_date eve ", "credential_without_active_user  credential:67686f73742d63726564",
		"credentials_without_entitlements gus ", "end_date_passed fay ",
	}) {
		t.Errorf("findings = %q", got)
	}
	dormant := rules(t, e, governance.FindingsOptions{DormantAfter: 7 * day}, governance.KindDormant)
	if len(dormant) != 19 || dormant[0] != "no_login ann " || !slices.Contains(dormant, "no_login cy ") || slices.Contains(dormant, "no_login gus ") {
		t.Errorf("dormant after a week = %q, want ann, bob, cy, dee and k06..k20", dormant)
	}
}

// TestDeprovisionClock: the time to deprovision counts the hub's delay,
// not HR's. An end date the identity provider sends when it has already
// passed is acted on at that request (0 s, not the month HR took); a
// kiosk offline at the leaver's deprovisioning that ended the session by
// itself and reports it when back has acknowledged it, so the leaver does
// not stay pending. The CSV carries each duration's sum.
func TestDeprovisionClock(t *testing.T) {
	ctx := t.Context()
	hour, day := time.Hour, 24*time.Hour
	e := newEnv(t, t0)
	late := e.user("lee", []string{"north"}, nil)
	away := e.user("ana", []string{"north"}, nil)
	sid := e.session(away.ID, "north", "Picker")
	s, err := e.st.GetSession(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(60*day)).update(late.ID, func(u *store.User) { u.EndDate = t0.Add(30 * day) })
	e.at(t0.Add(60*day+hour)).update(away.ID, func(u *store.User) { u.Active = false }) // its kiosk is offline
	kiosk := lifecycle.Actor{Name: "device:" + s.DeviceID, System: "agent"}
	if err := e.at(t0.Add(60*day+3*hour)).engine.EndSessionOn(ctx, kiosk, s.DeviceID, sid, "expired"); err != nil {
		t.Fatal(err)
	}
	got := e.at(t0.Add(61 * day)).numbers().TimeToDeprovision
	want := governance.Durations{P50: f(0), P95: f(2 * 3600), Max: f(2 * 3600), Count: 2, Sum: 2 * 3600}
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("time to deprovision (-want +got):\n%s", d)
	}
	var out bytes.Buffer
	if err := governance.WriteReportCSV(&out, e.numbers()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "time_to_deprovision_seconds,sum,7200\n") {
		t.Errorf("CSV lacks the sum:\n%s", out.String())
	}
}

// rules lists findings as "rule user entitlement", of one kind or all.
func rules(t *testing.T, e *env, opt governance.FindingsOptions, kind string) []string {
	t.Helper()
	fs, err := e.gov.Findings(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		if kind == "" || f.Kind == kind {
			out = append(out, f.Rule+" "+f.User+" "+f.Entitlement)
		}
	}
	return out
}
