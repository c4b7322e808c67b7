package hub_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

var t0 = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)

func createUser(t *testing.T, h *hubtest.Hub, userName string, ext string) string {
	t.Helper()
	body := fmt.Sprintf(`{"schemas":["%s","%s"],"userName":%q,"active":true`, coreUser, frontline, userName)
	if ext != "" {
		body += fmt.Sprintf(`,"%s":%s`, frontline, ext)
	}
	m := want(t, h.Do(t, "POST", "/scim/v2/Users", body+"}"), 201)
	return m["id"].(string)
}

func createGroup(t *testing.T, h *hubtest.Hub, name string, members ...string) string {
	t.Helper()
	ms := ""
	for i, m := range members {
		if i > 0 {
			ms += ","
		}
		ms += `{"value":"` + m + `"}`
	}
	m := want(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"`+name+`","members":[`+ms+`]}`), 201)
	return m["id"].(string)
}

func user(t *testing.T, h *hubtest.Hub, id string) store.User {
	t.Helper()
	u, err := h.Store().GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// liveSession puts a live kiosk session in the store, as a kiosk login does.
func liveSession(t *testing.T, h *hubtest.Hub, userID, site, role string) store.Session {
	t.Helper()
	ctx := t.Context()
	now := h.Clock.Now()
	d, err := h.Store().CreateDevice(ctx, store.Device{ID: "dev-" + site + "-" + userID + "-" + role, Name: "kiosk-" + site + "-" + userID + "-" + role, Site: site, Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now})
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.Store().CreateSession(ctx, store.Session{ID: "sess-" + d.ID, UserID: userID, DeviceID: d.ID, Role: role, Started: now, Expires: now.Add(8 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func actions(t *testing.T, h *hubtest.Hub, subject string) []string {
	t.Helper()
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Action)
	}
	return out
}

func TestJoinerWithFutureStartDate(t *testing.T) {
	clock := hubtest.NewClock(t0)
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	start := t0.Add(72 * time.Hour)
	id := createUser(t, h, "new.starter", `{"sites":["north"],"startDate":"`+start.Format(time.RFC3339)+`"}`)
	if u := user(t, h, id); u.State != store.UserPending || !u.Active {
		t.Fatalf("before start date: state %v active %v, want pending and active", u.State, u.Active)
	}
	clock.Advance(72*time.Hour - time.Second)
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Activated != 0 {
		t.Fatalf("a second early: %+v, %v", d, err)
	}
	clock.Advance(time.Second)
	d, err := h.Engine().RunDue(t.Context())
	if err != nil || d.Activated != 1 {
		t.Fatalf("on the start date: %+v, %v", d, err)
	}
	if u := user(t, h, id); u.State != store.UserActive {
		t.Fatalf("after start date: state %v", u.State)
	}
	if d, _ := h.Engine().RunDue(t.Context()); d.Activated != 0 {
		t.Errorf("second pass activated again: %+v", d)
	}
	if got := actions(t, h, "user:"+id); !slices.Equal(got, []string{"user.create", "user.activate"}) {
		t.Errorf("audit = %v", got)
	}
}

func TestLeaverAtEndDate(t *testing.T) {
	clock := hubtest.NewClock(t0)
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	end := t0.Add(10 * 24 * time.Hour)
	id := createUser(t, h, "temp.worker", `{"sites":["north"],"employmentType":"temp","endDate":"`+end.Format(time.RFC3339)+`"}`)
	createGroup(t, h, "Picker", id)
	s := liveSession(t, h, id, "north", "Picker")
	clock.Advance(10 * 24 * time.Hour)
	d, err := h.Engine().RunDue(t.Context())
	if err != nil || d.Deprovisioned != 1 {
		t.Fatalf("RunDue at end date: %+v, %v", d, err)
	}
	u := user(t, h, id)
	if u.State != store.UserDisabled || u.Active {
		t.Fatalf("after end date: state %v active %v", u.State, u.Active)
	}
	got, _ := h.Store().GetSession(t.Context(), s.ID)
	if got.Ended.IsZero() || got.EndReason != "deprovisioned" {
		t.Errorf("session not ended: %+v", got)
	}
	revs, _ := h.Store().ListRevocations(t.Context(), store.RevocationQuery{UserID: id, PendingOnly: true})
	if len(revs) != 1 || revs[0].SessionID != s.ID || revs[0].Reason != "deprovisioned" {
		t.Errorf("pending revocations = %+v", revs)
	}
	m := want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
	if groups, _ := m["groups"].([]any); m["active"] != false || len(groups) != 1 {
		t.Errorf("SCIM view after end date: active %v groups %v, want inactive, its role kept", m["active"], m["groups"])
	}
	if d, _ := h.Engine().RunDue(t.Context()); d.Deprovisioned != 0 {
		t.Errorf("second pass deprovisioned again: %+v", d)
	}
}

// TestLeaverStripsEverything: active=false disables and strips
// credentials, grants and live sessions in one step, recorded in the
// audit; the group memberships, which give a disabled user nothing, stay
// for a re-hire (TestRehireGetsRolesBack).
func TestLeaverStripsEverything(t *testing.T) {
	clock := hubtest.NewClock(t0)
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	ctx := t.Context()
	id := createUser(t, h, "leaver", `{"sites":["north","south"]}`)
	other := createUser(t, h, "stayer", `{"sites":["north"]}`)
	nurse := createGroup(t, h, "Nurse", id, other)
	createGroup(t, h, "Supervisor", id)
	for _, cid := range []string{"cred-a", "cred-b"} {
		if _, err := h.Store().CreateCredential(ctx, store.Credential{ID: []byte(cid), UserID: id, PublicKey: []byte{1}, State: store.CredentialActive, Created: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Store().CreateGrant(ctx, store.Grant{ID: "g1", UserID: id, Role: "Supervisor", Site: "south", Reason: "cover", Approver: "chen", Start: t0, End: t0.Add(48 * time.Hour), Created: t0}); err != nil {
		t.Fatal(err)
	}
	s1 := liveSession(t, h, id, "north", "Nurse")
	s2 := liveSession(t, h, id, "south", "Supervisor")
	sOther := liveSession(t, h, other, "north", "Nurse")

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"active","value":false}]}`), 200)

	if gs, _, _ := h.Store().ListGroups(ctx, store.GroupQuery{MemberID: id}); len(gs) != 2 {
		t.Errorf("leaver's groups %v, want both kept", gs)
	}
	if g, _ := h.Store().GetGroup(ctx, nurse); !slices.Equal(g.Members, []string{id, other}) {
		t.Errorf("Nurse members = %v, want both", g.Members)
	}
	creds, _ := h.Store().ListCredentials(ctx, id)
	for _, c := range creds {
		if c.State != store.CredentialRevoked {
			t.Errorf("credential %s state %v", c.ID, c.State)
		}
	}
	grants, _ := h.Store().ListGrants(ctx, id)
	if len(grants) != 1 || grants[0].Revoked.IsZero() {
		t.Errorf("grants = %+v", grants)
	}
	for _, s := range []store.Session{s1, s2} {
		if got, _ := h.Store().GetSession(ctx, s.ID); got.Ended.IsZero() || got.EndReason != "deprovisioned" {
			t.Errorf("session %s = %+v", s.ID, got)
		}
	}
	if got, _ := h.Store().GetSession(ctx, sOther.ID); !got.Ended.IsZero() {
		t.Errorf("another user's session was ended")
	}
	revs, _ := h.Store().ListRevocations(ctx, store.RevocationQuery{UserID: id, PendingOnly: true})
	if len(revs) != 2 {
		t.Errorf("pending revocations %+v, want one per session", revs)
	}
	if got := actions(t, h, "user:"+id); !slices.Contains(got, "user.deprovision") {
		t.Errorf("audit has no user.deprovision: %v", got)
	}
	recs, _ := h.Store().ListAudit(ctx, store.AuditQuery{Subject: "user:" + id, Action: "user.deprovision"})
	if len(recs) != 1 || recs[0].System != "scim" || recs[0].Actor == "" {
		t.Errorf("deprovision record = %+v", recs)
	}
	var detail struct {
		RolesKept    []string `json:"rolesKept"`
		RolesRemoved []string `json:"rolesRemoved"`
	}
	if err := json.Unmarshal(recs[0].Detail, &detail); err != nil || len(detail.RolesKept) != 2 || detail.RolesRemoved != nil {
		t.Errorf("deprovision detail %s: want both roles kept, none removed", recs[0].Detail)
	}
}

// TestRehireGetsRolesBack: a leaver the identity provider activates
// again, with nothing else (Entra ID and Okta send group changes only, and
// the leaver never left the group in the IdP), signs in with its roles as
// soon as it has a new badge. While disabled it kept the memberships but
// they opened nothing; DELETE removes them with the user.
func TestRehireGetsRolesBack(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	id := createUser(t, h, "rae", `{"sites":["north"]}`)
	nurse := createGroup(t, h, "Nurse", id)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "rae")
	if g := grant(t, first(tap(t, k, badge))); g.Role != "Nurse" {
		t.Fatalf("first login as %q, want Nurse", g.Role)
	}

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`), 200)
	k.Ack(k.Recv(5 * time.Second)) // the session's revocation
	m := want(t, h.Do(t, "GET", "/scim/v2/Groups/"+nurse, nil), 200)
	if members, _ := m["members"].([]any); len(members) != 1 {
		t.Errorf("Nurse members while rae is disabled: %v, want rae kept", m["members"])
	}
	// The kept role opens nothing: the badge was revoked, and no new one
	// can be enrolled for a disabled user.
	if got := refusal(t, first(tap(t, k, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("disabled user's badge refused with %q", got)
	}
	if r := h.API(t, "POST", "/api/v1/enrollments", map[string]string{"user": "rae", "device": k.Name}); r.Status < 400 || r.Status >= 500 {
		t.Errorf("enrollment for a disabled user: %d %s", r.Status, r.Body)
	}

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`), 200)
	again := registerBadge(t, h, k, "rae")
	if g := grant(t, first(tap(t, k, again))); g.Role != "Nurse" || g.User != "rae" {
		t.Errorf("re-hire signed in as %+v, want rae as Nurse", g)
	}

	want(t, h.Do(t, "DELETE", "/scim/v2/Users/"+id, nil), 204)
	m = want(t, h.Do(t, "GET", "/scim/v2/Groups/"+nurse, nil), 200)
	if m["members"] != nil {
		t.Errorf("Nurse members after DELETE: %v, want none", m["members"])
	}
	recs, _ := h.Store().ListAudit(ctx, store.AuditQuery{Subject: "user:" + id, Action: "user.delete"})
	if len(recs) != 1 || !strings.Contains(string(recs[0].Detail), `"rolesRemoved":["Nurse"]`) {
		t.Errorf("user.delete records %+v, want rolesRemoved Nurse", recs)
	}
}

// TestMover: a site change and a group change each revoke exactly what
// was removed, ending only the sessions that depended on it.
func TestMover(t *testing.T) {
	clock := hubtest.NewClock(t0)
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	ctx := t.Context()
	id := createUser(t, h, "mover", `{"sites":["north","south"]}`)
	nurse := createGroup(t, h, "Nurse", id)
	createGroup(t, h, "Picker", id)
	north := liveSession(t, h, id, "north", "Nurse")
	south := liveSession(t, h, id, "south", "Picker")

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+frontline+`:sites","value":["south","east"]}]}`), 200)
	if got, _ := h.Store().GetSession(ctx, north.ID); got.EndReason != "entitlement_removed" {
		t.Errorf("north session after leaving north: %+v", got)
	}
	if got, _ := h.Store().GetSession(ctx, south.ID); !got.Ended.IsZero() {
		t.Errorf("south session ended by a north move: %+v", got)
	}
	revs, _ := h.Store().ListRevocations(ctx, store.RevocationQuery{UserID: id})
	if len(revs) != 1 || revs[0].Detail != "site:north" || revs[0].SessionID != north.ID {
		t.Fatalf("revocations after site move = %+v", revs)
	}
	if u := user(t, h, id); !slices.Equal(u.Sites, []string{"south", "east"}) || u.State != store.UserActive {
		t.Errorf("user after move: sites %v state %v", u.Sites, u.State)
	}

	// Removing the Picker role ends the Picker session; the Nurse role stays.
	pickers, _, _ := h.Store().ListGroups(ctx, store.GroupQuery{DisplayName: "Picker"})
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+pickers[0].ID, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`), 204)
	if got, _ := h.Store().GetSession(ctx, south.ID); got.EndReason != "entitlement_removed" {
		t.Errorf("Picker session after losing Picker: %+v", got)
	}
	revs, _ = h.Store().ListRevocations(ctx, store.RevocationQuery{UserID: id})
	if len(revs) != 2 || revs[1].Detail != "role:Picker" {
		t.Errorf("revocations = %+v", revs)
	}
	if g, _ := h.Store().GetGroup(ctx, nurse); !slices.Equal(g.Members, []string{id}) {
		t.Errorf("Nurse members = %v", g.Members)
	}
	if got := actions(t, h, "user:"+id); !slices.Contains(got, "user.entitlements_removed") {
		t.Errorf("audit = %v", got)
	}
}

// TestGroupRename: renaming a group is removing one role and granting
// another, so its members' sessions under the old name end; a change of
// case only renames nothing (role names are compared without case) and
// signs nobody out.
func TestGroupRename(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "pia", "Picker")
	pickers, _, err := h.Store().ListGroups(t.Context(), store.GroupQuery{DisplayName: "Picker"})
	if err != nil || len(pickers) != 1 {
		t.Fatalf("groups: %v, %v", pickers, err)
	}
	rename := func(name string) {
		t.Helper()
		want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+pickers[0].ID, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"displayName","value":"`+name+`"}]}`), 204)
	}
	rename("PICKER")
	if s, err := h.Store().GetSession(t.Context(), g.SessionID); err != nil || !s.Ended.IsZero() {
		t.Fatalf("session after a change of case: %+v, %v; want it live", s, err)
	}
	rename("Order picker")
	expectRevoke(t, k, g.SessionID, wire.ReasonEntitlementRemoved)
}

// TestFailedRequestLeavesNothing: a multi-row change that fails halfway
// is rolled back whole — no user, no audit record.
func TestFailedRequestLeavesNothing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	a := createUser(t, h, "member.a", "")
	seq, _, _ := h.Store().AuditHead(ctx)
	// The second member does not exist: the group must not be created.
	wantError(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Half","members":[{"value":"`+a+`"},{"value":"missing"}]}`), 400, "invalidValue")
	if gs, _, _ := h.Store().ListGroups(ctx, store.GroupQuery{DisplayName: "Half"}); len(gs) != 0 {
		t.Fatalf("group written despite failure: %+v", gs)
	}
	if after, _, _ := h.Store().AuditHead(ctx); after != seq {
		t.Errorf("audit grew from %d to %d on a failed request", seq, after)
	}
}

// HR systems send 9999-12-31 for "no end date": the user is active, with
// no end date to enforce, and the document keeps what was sent.
func TestOpenEndedContract(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := createUser(t, h, "permanent", `{"sites":["north"],"endDate":"9999-12-31T00:00:00Z"}`)
	u := user(t, h, id)
	if u.State != store.UserActive || !u.EndDate.IsZero() {
		t.Errorf("state %v endDate %v, want active with no end date", u.State, u.EndDate)
	}
	m := want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
	if ext, _ := m[frontline].(map[string]any); ext["endDate"] == nil {
		t.Errorf("endDate dropped from the resource: %v", m)
	}
}

// A session granted under several roles ("Nurse,Picker") ends when any one
// of them is removed.
func TestRoleRemovalEndsMultiRoleSession(t *testing.T) {
	clock := hubtest.NewClock(t0)
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	id := createUser(t, h, "two.roles", `{"sites":["north"]}`)
	nurse := createGroup(t, h, "Nurse", id)
	createGroup(t, h, "Picker", id)
	s := liveSession(t, h, id, "north", "Nurse,Picker")
	want(t, h.Do(t, "DELETE", "/scim/v2/Groups/"+nurse, nil), 204)
	if got, _ := h.Store().GetSession(t.Context(), s.ID); got.EndReason != "entitlement_removed" {
		t.Errorf("session under Nurse,Picker after deleting Nurse: %+v", got)
	}
}

// Removing a role from many members at once (one scan of live sessions
// instead of a query per member) ends exactly the sessions under it.
func TestMassRoleRemoval(t *testing.T) {
	clock := hubtest.NewClock(t0)
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	var ids []string
	var under, other []store.Session
	for i := range 40 {
		id := createUser(t, h, fmt.Sprintf("crew%02d", i), `{"sites":["north"]}`)
		ids = append(ids, id)
		under = append(under, liveSession(t, h, id, "north", "Picker"))
		if i%10 == 0 {
			other = append(other, liveSession(t, h, id, "north", "Loader"))
		}
	}
	gid := createGroup(t, h, "Picker", ids...)
	want(t, h.Do(t, "DELETE", "/scim/v2/Groups/"+gid, nil), 204)
	for _, s := range under {
		if got, _ := h.Store().GetSession(t.Context(), s.ID); got.EndReason != "entitlement_removed" {
			t.Fatalf("Picker session %s: %+v", s.ID, got)
		}
	}
	for _, s := range other {
		if got, _ := h.Store().GetSession(t.Context(), s.ID); !got.Ended.IsZero() {
			t.Errorf("Loader session %s ended by removing Picker", s.ID)
		}
	}
	revs, _ := h.Store().ListRevocations(t.Context(), store.RevocationQuery{PendingOnly: true})
	if len(revs) != 40 {
		t.Errorf("%d pending revocations, want 40", len(revs))
	}
	recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "user.entitlements_removed"})
	if len(recs) != 40 {
		t.Errorf("%d user.entitlements_removed records, want 40", len(recs))
	}
}
