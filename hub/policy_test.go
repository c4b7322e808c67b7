package hub_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// putPolicy sends PUT /api/v1/policy with the admin token; headers come in
// pairs.
func putPolicy(t *testing.T, h *hubtest.Hub, body any, headers ...string) hubtest.Response {
	t.Helper()
	return h.DoToken(t, h.AdminToken(t), "PUT", "/api/v1/policy", body, headers...)
}

// policyBody is the default policy as a PUT body based on version, with
// change applied to its document.
func policyBody(t *testing.T, version int64, change func(d *policy.Document)) map[string]any {
	t.Helper()
	d := policy.DefaultRules().Document()
	if change != nil {
		change(&d)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if version != 0 {
		m["version"] = version
	}
	return m
}

func roleDoc(d *policy.Document, name string) *policy.RoleDocument {
	for i := range d.Roles {
		if d.Roles[i].Name == name {
			return &d.Roles[i]
		}
	}
	d.Roles = append(d.Roles, policy.RoleDocument{Name: name})
	return &d.Roles[len(d.Roles)-1]
}

func storedVersion(t *testing.T, h *hubtest.Hub) int64 {
	t.Helper()
	p, err := h.Store().GetPolicy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return p.Version
}

// TestPolicyAPI: GET shows the seeded defaults as version 1; PUT validates
// (400 with every problem), needs the version (428), refuses a stale one
// (409), and audits each change with before and after.
func TestPolicyAPI(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r := h.API(t, "GET", "/api/v1/policy", nil)
	m := wantAPI(t, r, http.StatusOK)
	if m["version"] != 1.0 || m["changed_by"] != "hub" || m["max_session"] != "12h" || m["shift_grace"] != "15m" || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("GET policy: %s (ETag %s)", r.Body, r.Header.Get("ETag"))
	}
	if roles, _ := m["roles"].([]any); len(roles) != 3 {
		t.Fatalf("default roles: %v", m["roles"])
	}

	// Invalid: every problem named, nothing stored.
	bad := policyBody(t, 1, func(d *policy.Document) {
		roleDoc(d, "Nurse").EmploymentTypes = []string{"intern"}
		roleDoc(d, "Porter").Apps = nil
		roleDoc(d, "nurse ").Apps = []string{"x"}
	})
	m = wantAPI(t, putPolicy(t, h, bad), http.StatusBadRequest)
	for _, want := range []string{`unknown employment type "intern"`, `role "Porter" has no apps`, `role "nurse" is a duplicate of role "Nurse"`} {
		if !strings.Contains(m["error"].(string), want) {
			t.Errorf("error %q does not say %q", m["error"], want)
		}
	}
	for name, body := range map[string]any{
		"unknown field":  `{"version":1,"max_session":"12h","shift_grace":"15m","roles":[],"other":{},"colour":"red"}`,
		"not an object":  `[1]`,
		"trailing data":  `{"version":1,"max_session":"12h","shift_grace":"15m","roles":[],"other":{}} {}`,
		"bad If-Match":   policyBody(t, 0, nil),
		"If-Match clash": policyBody(t, 1, nil),
	} {
		var hdr []string
		switch name {
		case "bad If-Match":
			hdr = []string{"If-Match", "*"}
		case "If-Match clash":
			hdr = []string{"If-Match", `"2"`}
		}
		if r := putPolicy(t, h, body, hdr...); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, r.Status, r.Body)
		}
	}
	if r := putPolicy(t, h, policyBody(t, 0, nil)); r.Status != http.StatusPreconditionRequired {
		t.Errorf("no version: %d %s, want 428", r.Status, r.Body)
	}
	if r := putPolicy(t, h, `{"version":1,"other":{"certification":"`+strings.Repeat("x", policy.MaxDocumentBytes+4096)+`"}}`); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d, want 413", r.Status)
	}
	if v := storedVersion(t, h); v != 1 {
		t.Fatalf("refused PUTs stored version %d", v)
	}

	// A valid change: version 2.
	good := policyBody(t, 1, func(d *policy.Document) {
		p := roleDoc(d, "Porter")
		p.Apps, p.Sites = []string{"porter-app"}, []string{"north"}
	})
	r = putPolicy(t, h, good)
	m = wantAPI(t, r, http.StatusOK)
	if m["version"] != 2.0 || r.Header.Get("ETag") != `"2"` || !strings.HasPrefix(m["changed_by"].(string), "token:") {
		t.Fatalf("PUT: %s", r.Body)
	}
	if got := h.Engine().Rules().Rule("porter"); !slices.Equal(got.Apps, []string{"porter-app"}) || !slices.Equal(got.Sites, []string{"north"}) {
		t.Errorf("rules in force after the PUT: %+v", got)
	}

	// The same edit again, made to version 1: stale, by body (409) and by
	// If-Match (412, a failed precondition: RFC 9110 §13.1.1).
	for _, hdr := range [][]string{nil, {"If-Match", `W/"1"`}, {"If-Match", `"1"`}} {
		body, status := good, http.StatusConflict
		if hdr != nil {
			body, status = policyBody(t, 0, nil), http.StatusPreconditionFailed
		}
		r := putPolicy(t, h, body, hdr...)
		if m := wantAPI(t, r, status); m["version"] != 2.0 || !strings.Contains(m["error"].(string), "now version 2") {
			t.Errorf("stale PUT (%v): %s", hdr, r.Body)
		}
	}
	if got := h.Engine().Rules().Rule("Porter"); !slices.Equal(got.Apps, []string{"porter-app"}) {
		t.Errorf("a stale PUT changed the rules in force: %+v", got)
	}
	// The GET body sent back unchanged changes nothing and stays version 2.
	cur := wantAPI(t, h.API(t, "GET", "/api/v1/policy", nil), http.StatusOK)
	if m := wantAPI(t, putPolicy(t, h, cur), http.StatusOK); m["version"] != 2.0 {
		t.Errorf("unchanged PUT: %v", m)
	}
	if v := storedVersion(t, h); v != 2 {
		t.Errorf("stored version %d, want 2", v)
	}

	// Audited: the seed and the one change, with before and after.
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "policy.update", Subject: "policy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d policy.update records, want 2", len(recs))
	}
	var detail struct {
		Version   int64           `json:"version"`
		RawBefore json.RawMessage `json:"before"`
		RawAfter  json.RawMessage `json:"after"`
	}
	if err := json.Unmarshal(recs[1].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if detail.Version != 2 || strings.Contains(string(detail.RawBefore), "porter-app") || !strings.Contains(string(detail.RawAfter), "porter-app") {
		t.Errorf("audit detail: %s", recs[1].Detail)
	}
	if recs[1].Actor == "" || recs[1].System != "api" {
		t.Errorf("audit actor %q system %q", recs[1].Actor, recs[1].System)
	}
}

// TestPolicyChangeEndsLiveSessions: a condition that excludes contractors
// ends the contractor's live session at once (session.revoke,
// entitlement_removed) and refuses their next login (not_allowed_here);
// an employee's session goes on. A shorter maximum moves a live session's
// expiry (session.extend).
func TestPolicyChangeEndsLiveSessions(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	cory := createUser(t, h, "cory", `{"sites":["north"],"employmentType":"contractor"}`)
	emma := createUser(t, h, "emma", `{"sites":["north"],"employmentType":"employee"}`)
	createGroup(t, h, "Nurse", cory, emma)
	k1 := h.EnrollKiosk(t, "north-1", "north")
	k2 := h.EnrollKiosk(t, "north-2", "north")
	k1.Dial("")
	k2.Dial("")
	coryBadge := registerBadge(t, h, k1, "cory")
	emmaBadge := registerBadge(t, h, k2, "emma")
	gc := grant(t, first(tap(t, k1, coryBadge)))
	ge := grant(t, first(tap(t, k2, emmaBadge)))

	r := putPolicy(t, h, policyBody(t, 1, func(d *policy.Document) {
		roleDoc(d, "Nurse").EmploymentTypes = []string{"employee"}
		roleDoc(d, "Nurse").MaxSession = policy.Duration(time.Hour)
	}))
	m := wantAPI(t, r, http.StatusOK)
	if ended, _ := m["sessions_ended"].([]any); len(ended) != 1 || ended[0] != gc.SessionID {
		t.Errorf("sessions_ended = %v, want [%s]", m["sessions_ended"], gc.SessionID)
	}
	expectRevoke(t, k1, gc.SessionID, "entitlement_removed")
	h.WaitAcked(t, gc.SessionID)

	// Emma keeps her session, now ending an hour after it started.
	s, err := h.Store().GetSession(t.Context(), ge.SessionID)
	if err != nil || !s.Ended.IsZero() {
		t.Fatalf("employee's session: %+v, %v", s, err)
	}
	if want := s.Started.Add(time.Hour); !s.Expires.Equal(want) {
		t.Errorf("employee's session expires %s, want %s", s.Expires, want)
	}
	expectExtend(t, k2, ge.SessionID, s.Started.Add(time.Hour), "expired")

	// The revocation names the policy version; the contractor's next tap is refused.
	rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: gc.SessionID})
	if err != nil || len(rs) != 1 || rs[0].Detail != "policy:v2" {
		t.Errorf("revocations: %+v, %v", rs, err)
	}
	if got := refusal(t, first(tap(t, k1, coryBadge))); got != wire.RefusedNotAllowedHere {
		t.Errorf("contractor's login after the change: %q, want not_allowed_here", got)
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "login.refused", Subject: "user:" + cory})
	if err != nil || len(recs) != 1 || !strings.Contains(string(recs[0].Detail), "counts only for employment types [employee], not for user cory (contractor)") {
		t.Errorf("refusal audit: %v %v", recs, err)
	}
	if n := count(t, h, "user.entitlements_removed", "user:"+cory); n != 1 {
		t.Errorf("%d user.entitlements_removed records for the contractor, want 1", n)
	}
	// Emma signs in again with the new maximum.
	k2.Send(wire.TypeSessionEnd, wire.SessionEnd{SessionID: ge.SessionID, Reason: "signout"})
	k2.Recv(5 * time.Second)
	if g := grant(t, first(tap(t, k2, emmaBadge))); g.ExpiresAt.Sub(time.Now()) > time.Hour {
		t.Errorf("new session expires %s, more than an hour ahead", g.ExpiresAt)
	}
}

// TestMoverAttributesRedecideSessions: a user update that changes what
// the login decided on ends or shortens the live sessions it affects, as
// a policy change does: an employee who becomes a contractor loses a role
// for employees only, a lost certification ends the role that needs it,
// one that now expires sooner shortens the session, and a start date
// moved into the future (pending) ends everything.
func TestMoverAttributesRedecideSessions(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	wantAPI(t, putPolicy(t, h, policyBody(t, 1, func(d *policy.Document) {
		roleDoc(d, "Nurse").EmploymentTypes = []string{"employee"}
		roleDoc(d, "Forklift").Apps = []string{"wms-forklift"}
		roleDoc(d, "Forklift").Certification = "forklift-license"
	})), http.StatusOK)
	certified := func(expires time.Time) string {
		return `{"sites":["north"],"certifications":[{"name":"forklift-license","expires":"` + expires.Format(time.RFC3339) + `"}]}`
	}
	emma := createUser(t, h, "emma", `{"sites":["north"],"employmentType":"employee"}`)
	fred := createUser(t, h, "fred", certified(now.AddDate(0, 1, 0)))
	pat := createUser(t, h, "pat", `{"sites":["north"],"employmentType":"employee"}`)
	createGroup(t, h, "Nurse", emma, pat)
	createGroup(t, h, "Forklift", fred)
	signIn := func(kiosk, userName string) (*hubtest.Kiosk, wire.SessionGrant) {
		k := h.EnrollKiosk(t, kiosk, "north")
		k.Dial("")
		return k, grant(t, first(tap(t, k, registerBadge(t, h, k, userName))))
	}
	patch := func(id, path string, value any) {
		t.Helper()
		op := map[string]any{"op": "replace", "path": frontline + ":" + path, "value": value}
		if value == nil {
			op = map[string]any{"op": "remove", "path": frontline + ":" + path}
		}
		body, _ := json.Marshal(map[string]any{"schemas": []string{patchOp}, "Operations": []any{op}})
		want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, string(body)), 200)
	}

	k1, ge := signIn("north-1", "emma")
	patch(emma, "employmentType", "contractor")
	expectRevoke(t, k1, ge.SessionID, wire.ReasonEntitlementRemoved)
	if n := count(t, h, "user.entitlements_removed", "user:"+emma); n != 1 {
		t.Errorf("%d user.entitlements_removed records for emma, want 1", n)
	}
	if rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: ge.SessionID}); err != nil || len(rs) != 1 || rs[0].Detail != "user" {
		t.Errorf("emma's revocations: %+v, %v", rs, err)
	}

	k2, gf := signIn("north-2", "fred")
	if !gf.ExpiresAt.Equal(now.Add(12 * time.Hour)) {
		t.Fatalf("fred's grant expires %s, want the 12 h maximum", gf.ExpiresAt)
	}
	sooner := now.Add(time.Hour)
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+fred, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+frontline+`:certifications","value":[{"name":"forklift-license","expires":"`+sooner.Format(time.RFC3339)+`"}]}]}`), 200)
	expectExtend(t, k2, gf.SessionID, sooner, wire.ReasonExpired)
	patch(fred, "certifications", nil)
	expectRevoke(t, k2, gf.SessionID, wire.ReasonEntitlementRemoved)

	k3, gp := signIn("north-3", "pat")
	patch(pat, "startDate", now.AddDate(0, 0, 7).Format(time.RFC3339))
	expectRevoke(t, k3, gp.SessionID, wire.ReasonEntitlementRemoved)
	if u := user(t, h, pat); u.State != store.UserPending {
		t.Errorf("pat is %s, want pending", u.State)
	}
}

// TestPolicyRemovedAppEndsSessions: removing an app a live session's role
// gave ends the session; adding one does not.
func TestPolicyRemovedAppEndsSessions(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "pia", "Picker")
	m := wantAPI(t, putPolicy(t, h, policyBody(t, 1, func(d *policy.Document) {
		roleDoc(d, "Picker").Apps = []string{"wms-picking", "scanner"}
	})), http.StatusOK)
	if m["sessions_ended"] != nil {
		t.Fatalf("adding an app ended sessions: %v", m["sessions_ended"])
	}
	m = wantAPI(t, putPolicy(t, h, policyBody(t, 2, func(d *policy.Document) {
		roleDoc(d, "Picker").Apps = []string{"scanner"}
	})), http.StatusOK)
	if ended, _ := m["sessions_ended"].([]any); len(ended) != 1 {
		t.Fatalf("removing an app: sessions_ended = %v", m["sessions_ended"])
	}
	expectRevoke(t, k, g.SessionID, "entitlement_removed")
}

// TestShiftGraceFlag: --shift-grace seeds the stored policy, a restart
// without it keeps the stored value, and a restart with another value
// changes it as an audited policy update.
func TestShiftGraceFlag(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{ShiftGrace: 20 * time.Minute})
	dir := h.DataDir
	if g := h.Engine().Rules().ShiftGrace; g != 20*time.Minute || storedVersion(t, h) != 1 {
		t.Fatalf("first start: grace %v, version %d", g, storedVersion(t, h))
	}
	h.Stop()
	h = hubtest.Start(t, hubtest.Options{DataDir: dir})
	if g := h.Engine().Rules().ShiftGrace; g != 20*time.Minute || storedVersion(t, h) != 1 {
		t.Fatalf("restart without the flag: grace %v, version %d", g, storedVersion(t, h))
	}
	h.Stop()
	h = hubtest.Start(t, hubtest.Options{DataDir: dir, ShiftGrace: -1})
	if g := h.Engine().Rules().ShiftGrace; g >= 0 || storedVersion(t, h) != 2 {
		t.Fatalf("restart with --shift-grace 0: grace %v, version %d", g, storedVersion(t, h))
	}
	if p := h.Engine().Policy(); p.ChangedBy != "hub --shift-grace" {
		t.Errorf("changed by %q", p.ChangedBy)
	}
	if n := count(t, h, "policy.update", "policy"); n != 2 {
		t.Errorf("%d policy.update records, want 2", n)
	}
}
