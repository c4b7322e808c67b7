package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// rpi5AAGUID is a model on the rpi5-touch profile's allow-list: a soft
// badge claiming it may register there.
const rpi5AAGUID = "cb69481e-8ff7-4039-93ec-0a2729a154a8"

// kioskBadge arms an enrollment of userName at kiosk k and registers a
// soft badge of the model aaguid ("" for the default) there.
func kioskBadge(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk, userName, aaguid string) authenticator.Authenticator {
	t.Helper()
	return h.RegisterBadge(t, k, userName, authenticator.SoftOptions{AAGUID: aaguid})
}

// kioskTap runs one login at k and returns the reply.
func kioskTap(t *testing.T, k *hubtest.Kiosk, badge authenticator.Authenticator) wire.Envelope {
	t.Helper()
	env, _ := k.Tap(t, badge)
	return env
}

func sessionGrant(t *testing.T, env wire.Envelope) wire.SessionGrant {
	t.Helper()
	var g wire.SessionGrant
	if env.Type != wire.TypeSessionGrant || env.Unmarshal(&g) != nil {
		t.Fatalf("got %s %s, want session.grant", env.Type, env.Data)
	}
	return g
}

// worker provisions userName at site with employment type et in group
// role (created if needed).
func worker(t *testing.T, h *hubtest.Hub, userName, site, et, role string) store.User {
	t.Helper()
	ctx := t.Context()
	u, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "u-" + userName, UserName: userName, Active: true, Sites: []string{site}, EmploymentType: et})
	if err != nil {
		t.Fatal(err)
	}
	gs, _, err := h.Store().ListGroups(ctx, store.GroupQuery{DisplayName: role})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) == 0 {
		_, err = h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-" + role, DisplayName: role, Members: []string{u.ID}})
	} else {
		_, err = h.Engine().UpdateGroup(ctx, lifecycleActor, gs[0].ID, func(g store.Group) (store.Group, error) {
			g.Members = append(g.Members, u.ID)
			return g, nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func policyVersion(t *testing.T, h *hubtest.Hub) int64 {
	t.Helper()
	p, err := h.Store().GetPolicy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return p.Version
}

// TestPolicyEditRole: an admin adds a role and then edits it on the
// policy page; kiosk logins get the role's apps as the policy says from
// then on. Adding apps leaves the live session alone.
func TestPolicyEditRole(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	worker(t, h, "pat", "north", "employee", "Porter")
	// The rpi5-touch profile lists no apps for Porter (and none for every
	// role): the session gets the policy's apps.
	k := h.EnrollKioskProfile(t, "lobby-1", "north", "rpi5-touch")
	k.Dial("")
	badge := kioskBadge(t, h, k, "pat", rpi5AAGUID)
	g := sessionGrant(t, kioskTap(t, k, badge))
	if !slices.Equal(g.Apps, []string{"browser"}) {
		t.Fatalf("before the role has a rule: apps %v, want the rule for other roles'", g.Apps)
	}
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: "signout"}, wire.TypeAck, nil)

	page := admin.get("/console/policy")
	if page.Status != 200 || !strings.Contains(page.Body, `<input type="hidden" name="version" value="1">`) || !strings.Contains(page.Body, `<label for="new-name">`) {
		t.Fatalf("policy page: %d\n%s", page.Status, page.Body)
	}
	if strings.Contains(page.Body, "<script>") || strings.Contains(page.Body, " style=") {
		t.Error("inline script or style on the policy page")
	}
	r := admin.post("/console/policy/roles", url.Values{"version": {"1"}, "name": {"Porter"}, "apps": {"porter-app"}, "sites": {"north"}})
	if r.Status != http.StatusSeeOther || r.location() != "/console/policy?ok=policy-saved" {
		t.Fatalf("add role: %d %s %s", r.Status, r.location(), r.Body)
	}
	if page := admin.get(r.location()); !strings.Contains(page.Body, "The policy was saved") || !strings.Contains(page.Body, "Edit Porter") || !strings.Contains(page.Body, `only at <span class="names" role="list"><span role="listitem">north</span></span>`) {
		t.Errorf("page after adding a role:\n%s", page.Body)
	}
	g = sessionGrant(t, kioskTap(t, k, badge))
	if !slices.Equal(g.Apps, []string{"porter-app"}) || g.Role != "Porter" {
		t.Fatalf("after adding the role: %+v", g)
	}

	// Edit: one more app, a shorter session, only for employees. The live
	// session loses nothing and goes on.
	r = admin.post("/console/policy/roles", url.Values{"version": {"2"}, "original": {"Porter"}, "name": {"Porter"}, "apps": {"porter-app lifts"},
		"employment_types": {"employee"}, "max_session": {"2h"}})
	if r.Status != http.StatusSeeOther || r.location() != "/console/policy?ok=policy-saved" {
		t.Fatalf("edit role: %d %s %s", r.Status, r.location(), r.Body)
	}
	rule := h.Engine().Rules().Rule("porter")
	if !slices.Equal(rule.Apps, []string{"porter-app", "lifts"}) || !slices.Equal(rule.EmploymentTypes, []string{"employee"}) || rule.MaxSession != 2*time.Hour || len(rule.Sites) != 0 {
		t.Errorf("rule after the edit: %+v", rule)
	}
	if s, err := h.Store().GetSession(t.Context(), g.SessionID); err != nil || !s.Ended.IsZero() {
		t.Fatalf("the live session ended on an edit that only added: %+v %v", s, err)
	}
	x := k.Recv(5 * time.Second) // the shorter maximum is pushed
	if x.Type != wire.TypeSessionExtend {
		t.Fatalf("got %s, want session.extend", x.Type)
	}
	k.Ack(x)
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: "signout"}, wire.TypeAck, nil)
	g = sessionGrant(t, kioskTap(t, k, badge))
	if !slices.Equal(g.Apps, []string{"lifts", "porter-app"}) || g.ExpiresAt.After(time.Now().Add(2*time.Hour)) {
		t.Errorf("after the edit: %+v", g)
	}

	// The edits are audited as the console admin.
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "policy.update"})
	if err != nil || len(recs) != 3 || recs[2].Actor != "console:ada@example.org" || recs[2].System != "console" {
		t.Fatalf("audit: %+v %v", recs, err)
	}
}

// TestPolicyConditionRevokesContractor: excluding contractors from a role
// ends a contractor's live session at once (the kiosk gets
// session.revoke, entitlement_removed) and refuses their next login.
func TestPolicyConditionRevokesContractor(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	worker(t, h, "cleo", "north", "contractor", "Nurse")
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := kioskBadge(t, h, k, "cleo", "")
	g := sessionGrant(t, kioskTap(t, k, badge))

	r := admin.post("/console/policy/roles", url.Values{"version": {"1"}, "original": {"Nurse"}, "name": {"Nurse"}, "apps": {"ehr, med-cart"},
		"employment_types": {"employee", "temp"}})
	if r.Status != http.StatusSeeOther || r.location() != "/console/policy?ok=policy-saved-ended" {
		t.Fatalf("edit: %d %s %s", r.Status, r.location(), r.Body)
	}
	push := k.Recv(5 * time.Second)
	var rv wire.SessionRevoke
	if push.Type != wire.TypeSessionRevoke || push.Unmarshal(&rv) != nil || rv.SessionID != g.SessionID || rv.Reason != "entitlement_removed" {
		t.Fatalf("got %s %s, want session.revoke (entitlement_removed)", push.Type, push.Data)
	}
	k.Ack(push)
	env := kioskTap(t, k, badge)
	var lr wire.LoginRefused
	if env.Type != wire.TypeLoginRefused || env.Unmarshal(&lr) != nil || lr.Reason != wire.RefusedNotAllowedHere {
		t.Fatalf("next login: %s %s, want not_allowed_here", env.Type, env.Data)
	}
}

// TestPolicyEditRefusals: supervisors get 403; a POST without the CSRF
// token 403; invalid input 400 with what to fix on the page; an edit of
// an old version 409. None of them stores or audits anything.
func TestPolicyEditRefusals(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	posts := []route{
		{"POST", "/console/policy/globals", url.Values{"version": {"1"}, "max_session": {"8h"}, "shift_grace": {"10m"}}},
		{"POST", "/console/policy/roles", url.Values{"version": {"1"}, "name": {"Porter"}, "apps": {"x"}}},
		{"POST", "/console/policy/roles/delete", url.Values{"version": {"1"}, "name": {"Nurse"}}},
		{"POST", "/console/policy/other", url.Values{"version": {"1"}, "apps": {""}}},
	}
	before := auditCount(t, h)
	if r := sup.get("/console/policy"); r.Status != http.StatusForbidden {
		t.Errorf("supervisor GET /console/policy: %d, want 403", r.Status)
	}
	for _, p := range posts {
		if r := sup.post(p.path, p.form); r.Status != http.StatusForbidden {
			t.Errorf("supervisor POST %s: %d, want 403", p.path, r.Status)
		}
		if r := admin.do("POST", p.path, p.form); r.Status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token: %d, want 403", p.path, r.Status)
		}
		form := url.Values{"csrf": {"wrong"}}
		for k, v := range p.form {
			form[k] = v
		}
		if r := admin.do("POST", p.path, form); r.Status != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token: %d, want 403", p.path, r.Status)
		}
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("refused requests wrote %d audit records", n-before)
	}

	invalid := []struct {
		path string
		form url.Values
		want string
	}{
		{"/console/policy/roles", url.Values{"version": {"1"}, "name": {"Porter"}, "apps": {""}}, `role &#34;Porter&#34; has no apps`},
		{"/console/policy/roles", url.Values{"version": {"1"}, "name": {"Porter"}, "apps": {"x"}, "employment_types": {"intern"}}, `unknown employment type &#34;intern&#34;`},
		{"/console/policy/roles", url.Values{"version": {"1"}, "name": {"NURSE"}, "apps": {"x"}}, "there is a role Nurse already"},
		{"/console/policy/roles", url.Values{"version": {"1"}, "name": {"A,B"}, "apps": {"x"}}, "the name has a comma"},
		{"/console/policy/roles", url.Values{"version": {"1"}, "name": {"Porter"}, "apps": {"x"}, "max_session": {"-2h"}}, "max_session -2h is negative"},
		{"/console/policy/roles", url.Values{"version": {"1"}, "name": {"Porter"}, "apps": {"x"}, "max_session": {"soon"}}, "is not a duration"},
		{"/console/policy/roles", url.Values{"version": {"1"}, "name": {""}, "apps": {"x"}}, "give the role&#39;s name"},
		{"/console/policy/globals", url.Values{"version": {"1"}, "max_session": {"48h"}, "shift_grace": {"15m"}}, "max_session 48h is longer than 24h"},
		{"/console/policy/globals", url.Values{"version": {"1"}, "max_session": {"12h"}, "shift_grace": {"-1m"}}, "is negative"},
	}
	for _, tc := range invalid {
		r := admin.post(tc.path, tc.form)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, tc.want) || !strings.Contains(r.Body, `role="alert"`) {
			t.Errorf("POST %s %v: %d, want 400 saying %q on the page:\n%s", tc.path, tc.form, r.Status, tc.want, r.Body)
		}
	}
	if v := policyVersion(t, h); v != 1 || auditCount(t, h) != before {
		t.Fatalf("invalid input changed the store: version %d", v)
	}

	// A form from an older version is stale.
	if r := admin.post("/console/policy/globals", url.Values{"version": {"1"}, "max_session": {"8h"}, "shift_grace": {"0s"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("globals: %d %s", r.Status, r.Body)
	}
	if rules := h.Engine().Rules(); rules.MaxSession != 8*time.Hour || rules.ShiftGrace >= 0 {
		t.Errorf("globals not applied: %v %v", rules.MaxSession, rules.ShiftGrace)
	}
	r := admin.post("/console/policy/roles/delete", url.Values{"version": {"1"}, "name": {"Picker"}})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "now version 2") {
		t.Errorf("stale delete: %d %s", r.Status, r.Body)
	}
	if r := admin.post("/console/policy/roles/delete", url.Values{"version": {"2"}, "name": {"Nobody"}}); r.Status != http.StatusConflict {
		t.Errorf("delete of a role that is not there: %d", r.Status)
	}
	if r := admin.post("/console/policy/roles/delete", url.Values{"version": {"2"}, "name": {"picker"}}); r.Status != http.StatusSeeOther {
		t.Errorf("delete: %d %s", r.Status, r.Body)
	}
	if _, ok := h.Engine().Rules().Roles["Picker"]; ok || policyVersion(t, h) != 3 {
		t.Errorf("Picker still has a rule, or version %d", policyVersion(t, h))
	}
}
