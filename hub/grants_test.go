package hub_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestJITGrant: a worker of another site gets a time-bound role at north,
// signs in there with it, and loses the session the moment the grant is
// revoked; a session that does not depend on a grant survives its
// revocation.
func TestJITGrant(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "jo", `{"sites":["south"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "jo")

	if got := refusal(t, first(tap(t, k, badge))); got != "not_allowed_here" {
		t.Fatalf("before the grant: refused %q, want not_allowed_here", got)
	}
	end := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": "Nurse", "site": "North", "end": end, "reason": "cover night shift"})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	gr := r.JSON()
	if gr["site"] != "north" || gr["role"] != "Nurse" || gr["approver"] == "" || gr["reason"] != "cover night shift" {
		t.Errorf("grant = %v", gr)
	}
	g := grant(t, first(tap(t, k, badge)))
	if g.Role != "Nurse" || !g.ExpiresAt.Equal(end) {
		t.Errorf("session role %q until %s, want Nurse until the grant's end %s", g.Role, g.ExpiresAt, end)
	}

	if r := h.API(t, "GET", "/api/v1/users/jo/grants", nil); r.Status != 200 || len(r.JSON()["grants"].([]any)) != 1 {
		t.Fatalf("list grants: %d %s", r.Status, r.Body)
	}
	if r := h.API(t, "POST", "/api/v1/grants/"+gr["id"].(string)+"/revoke", nil); r.Status != 200 || r.JSON()["revoked"] == nil {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	expectRevoke(t, k, g.SessionID, "entitlement_removed")
	h.WaitAcked(t, g.SessionID)
	if r := h.API(t, "POST", "/api/v1/grants/"+gr["id"].(string)+"/revoke", nil); r.Status != http.StatusNotFound {
		t.Errorf("second revoke: %d %s, want 404", r.Status, r.Body)
	}
	if got := refusal(t, first(tap(t, k, badge))); got != "not_allowed_here" {
		t.Errorf("after the revoke: refused %q, want not_allowed_here", got)
	}
	acts := actions(t, h, "user:"+uid)
	for _, want := range []string{"grant.create", "grant.revoke"} {
		if !slices.Contains(acts, want) {
			t.Errorf("audit of jo lacks %s: %v", want, acts)
		}
	}

	// A nurse of north with a grant on top keeps her session when the
	// grant goes: she holds the role through her group.
	kim := createUser(t, h, "kim", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", kim)
	kb := registerBadge(t, h, k, "kim")
	r = h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "kim", "role": "Nurse", "site": "north", "end": end, "reason": "overlap"})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant kim: %d %s", r.Status, r.Body)
	}
	ks := grant(t, first(tap(t, k, kb)))
	if r := h.API(t, "POST", "/api/v1/grants/"+r.JSON()["id"].(string)+"/revoke", nil); r.Status != 200 {
		t.Fatalf("revoke kim's grant: %d %s", r.Status, r.Body)
	}
	live, err := h.Store().ListSessions(t.Context(), store.SessionQuery{UserID: kim, LiveOnly: true})
	if err != nil || len(live) != 1 || live[0].ID != ks.SessionID {
		t.Errorf("kim's live sessions = %v (%v), want %s kept", live, err, ks.SessionID)
	}
}

// TestJITGrantErrors: requests that can never succeed get a 4xx that says
// what to change, and store nothing.
func TestJITGrantErrors(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	soon := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"no reason", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": soon}, 400},
		{"no end", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "reason": "x"}, 400},
		{"end passed", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(-time.Minute), "reason": "x"}, 400},
		{"too long", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(60 * 24 * time.Hour), "reason": "x"}, 400},
		{"misspelt field", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "starts": time.Now().Add(5 * 24 * time.Hour), "end": time.Now().Add(5*24*time.Hour + 8*time.Hour), "reason": "x"}, 400},
		{"role named with a comma", map[string]any{"user": "jo", "role": "On call, ICU", "site": "north", "end": soon, "reason": "x"}, 400},
		{"starts years ahead", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "start": "3000-01-01T00:00:00Z", "end": "3000-01-02T00:00:00Z", "reason": "x"}, 400},
		{"unknown site", map[string]any{"user": "jo", "role": "Nurse", "site": "atlantis", "end": soon, "reason": "x"}, 400},
		{"no role", map[string]any{"user": "jo", "site": "north", "end": soon, "reason": "x"}, 400},
		{"unknown user", map[string]any{"user": "nobody", "role": "Nurse", "site": "north", "end": soon, "reason": "x"}, 404},
		{"no user", map[string]any{"role": "Nurse"}, 400},
		{"bad time", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": "tomorrow", "reason": "x"}, 400},
	} {
		r := h.API(t, "POST", "/api/v1/grants", tc.body)
		if r.Status != tc.want || r.JSON()["error"] == "" {
			t.Errorf("%s: %d %s, want %d with an error message", tc.name, r.Status, r.Body, tc.want)
		}
	}
	if r := h.API(t, "GET", "/api/v1/users/jo/grants", nil); r.Status != 200 || len(r.JSON()["grants"].([]any)) != 0 {
		t.Errorf("grants after refused requests: %d %s", r.Status, r.Body)
	}
	if r := h.API(t, "POST", "/api/v1/grants/nope/revoke", nil); r.Status != http.StatusNotFound {
		t.Errorf("revoke unknown: %d %s", r.Status, r.Body)
	}
}

// postGrant creates a grant through the API and returns its id.
func postGrant(t *testing.T, h *hubtest.Hub, body map[string]any) string {
	t.Helper()
	r := h.API(t, "POST", "/api/v1/grants", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("grant %v: %d %s", body, r.Status, r.Body)
	}
	return r.JSON()["id"].(string)
}

// TestJITGrantRevokeShortens: of two overlapping grants of one role at one
// site, a session runs to the later end. Revoking that grant leaves the
// role held through the other, so the session goes on, but only to the
// other grant's end: its kiosk is told at once (session.extend), and
// nothing decided later (a change of shifts) gives the revoked grant's
// time back. The session ends at the remaining grant's end.
func TestJITGrantRevokeShortens(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "jo", `{"sites":["south"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "jo")
	short, long := now.Add(2*time.Hour), now.Add(6*time.Hour)
	postGrant(t, h, map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": short, "reason": "cover"})
	longID := postGrant(t, h, map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": long, "reason": "cover the night too"})
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(long) {
		t.Fatalf("session until %s, want the later grant's end %s", g.ExpiresAt, long)
	}

	clock.Advance(10 * time.Minute)
	if r := h.API(t, "POST", "/api/v1/grants/"+longID+"/revoke", nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	expectExtend(t, k, g.SessionID, short, wire.ReasonExpired)
	if s, err := h.Store().GetSession(t.Context(), g.SessionID); err != nil || !s.Ended.IsZero() || !s.Expires.Equal(short) {
		t.Fatalf("session after the revoke = %+v (%v), want live until %s", s, err, short)
	}
	if n := count(t, h, "session.expiry_change", "user:"+uid); n != 1 {
		t.Errorf("%d session.expiry_change records, want 1", n)
	}

	// A change of shifts decides the session again: the revoked grant
	// gives nothing, whenever the session started.
	if r := h.API(t, "PUT", "/api/v1/users/jo/shifts", shiftBody(now.Add(-time.Hour), now.Add(7*time.Hour))); r.Status != http.StatusOK {
		t.Fatalf("shifts: %d %s", r.Status, r.Body)
	}
	if s, _ := h.Store().GetSession(t.Context(), g.SessionID); !s.Expires.Equal(short) {
		t.Errorf("after a change of shifts the session runs until %s, want %s (the revoked grant's time came back)", s.Expires, short)
	}

	clock.Advance(2*time.Hour - 10*time.Minute)
	if _, err := h.Engine().RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectRevoke(t, k, g.SessionID, "expired")
}

// TestJITGrantRevokedNeverCounts: a login decided after a grant's
// revocation committed never uses the grant, even when the clock it reads
// is behind the one that recorded the revocation (a wall clock stepped
// back, or another hub replica's): revoked is revoked.
func TestJITGrantRevokedNeverCounts(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "jo")
	id := postGrant(t, h, map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": now.Add(2 * time.Hour), "reason": "cover"})
	clock.Advance(10 * time.Minute)
	if r := h.API(t, "POST", "/api/v1/grants/"+id+"/revoke", nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	clock.Advance(-time.Second)
	if env := first(tap(t, k, badge)); env.Type != wire.TypeLoginRefused || refusal(t, env) != wire.RefusedNotAllowedHere {
		t.Errorf("login after the revoke: %s %s, want refused not_allowed_here", env.Type, env.Data)
	}
}

// TestJITGrantStartInPast: a start in the past is no way to backdate a
// grant: the grant starts when it is created, which is what it returns,
// stores and audits.
func TestJITGrantStartInPast(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": "jo", "role": "Nurse", "site": "north",
		"start": now.Add(-20 * 24 * time.Hour), "end": now.Add(time.Hour), "reason": "cover"})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	if got := r.JSON()["start"]; got != now.Format(time.RFC3339) {
		t.Errorf("answered start %v, want now (%s)", got, now.Format(time.RFC3339))
	}
	gs, err := h.Store().ListGrants(t.Context(), uid)
	if err != nil || len(gs) != 1 || !gs[0].Start.Equal(now) {
		t.Fatalf("stored grants = %+v (%v), want one starting now", gs, err)
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "grant.create", Subject: "user:" + uid})
	if err != nil || len(recs) != 1 || !strings.Contains(string(recs[0].Detail), `"start":"`+now.Format(time.RFC3339)+`"`) {
		t.Errorf("grant.create records = %+v (%v), want one with the start now", recs, err)
	}
}

// TestJITGrantEndsWithUser: a grant that runs past the user's end date
// gives nothing past it: the session under it ends at the end date, the
// deprovisioning then revokes the grant, and re-enabling the user (a
// re-hire) does not bring it back.
func TestJITGrantEndsWithUser(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	leave := now.Add(time.Hour)
	uid := createUser(t, h, "cy", `{"sites":["south"],"employmentType":"contractor","endDate":"`+leave.Format(time.RFC3339)+`"}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "cy")
	id := postGrant(t, h, map[string]any{"user": "cy", "role": "Nurse", "site": "north", "end": now.Add(4 * time.Hour), "reason": "cover"})
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(leave) {
		t.Fatalf("session until %s, want the end date %s", g.ExpiresAt, leave)
	}

	clock.Advance(time.Hour)
	if _, err := h.Engine().RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	push := k.Recv(5 * time.Second)
	if push.Type != wire.TypeSessionRevoke {
		t.Fatalf("at the end date: %s %s, want session.revoke", push.Type, push.Data)
	}
	k.Ack(push)
	gs, err := h.Store().ListGrants(t.Context(), uid)
	if err != nil || len(gs) != 1 || gs[0].ID != id || gs[0].Revoked.IsZero() {
		t.Fatalf("grants after the end date = %+v (%v), want %s revoked", gs, err, id)
	}

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"active","value":true},`+
		`{"op":"Replace","path":"`+frontline+`:endDate","value":"`+now.Add(30*24*time.Hour).Format(time.RFC3339)+`"}]}`), 200)
	if u := user(t, h, uid); u.State != store.UserActive {
		t.Fatalf("re-hired user is %v", u.State)
	}
	// The deprovisioning revoked the badge too: a new one.
	badge = registerBadge(t, h, k, "cy")
	if got := refusal(t, first(tap(t, k, badge))); got != wire.RefusedNotAllowedHere {
		t.Errorf("re-hired user at the grant's site: refused %q, want not_allowed_here", got)
	}
}

// TestJITGrantEndLeavesOtherRoles: the end of a grant touches only the
// sessions that hold its role. A picker signed in through their group at
// their own site keeps the session when a nurse grant at that site, which
// the session never used, is revoked.
func TestJITGrantEndLeavesOtherRoles(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "pat", `{"sites":["north"]}`)
	createGroup(t, h, "Picker", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "pat")
	g := grant(t, first(tap(t, k, badge)))
	if g.Role != "Picker" {
		t.Fatalf("session role %q, want Picker", g.Role)
	}
	id := postGrant(t, h, map[string]any{"user": "pat", "role": "Nurse", "site": "north", "end": now.Add(2 * time.Hour), "reason": "cover"})
	clock.Advance(10 * time.Minute)
	if r := h.API(t, "POST", "/api/v1/grants/"+id+"/revoke", nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if s, err := h.Store().GetSession(t.Context(), g.SessionID); err != nil || !s.Ended.IsZero() || !s.Expires.Equal(g.ExpiresAt) {
		t.Fatalf("the picker's session after the nurse grant's revoke = %+v (%v), want live until %s", s, err, g.ExpiresAt)
	}
}

// TestMoverLosesGrantsAtRemovedSite: a grant gives its site by itself, so
// a mover whose site is removed lost the sessions there but could sign in
// again at once through a grant at that site. The move revokes the
// grants at the sites it removes (audited as grant.revoke), and leaves
// grants at other sites alone.
func TestMoverLosesGrantsAtRemovedSite(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "mo", `{"sites":["north","south"]}`)
	createGroup(t, h, "Picker", uid)
	north := h.EnrollKiosk(t, "north-1", "north")
	north.Dial("")
	h.EnrollKiosk(t, "east-1", "east")
	badge := registerBadge(t, h, north, "mo")
	atNorth := postGrant(t, h, map[string]any{"user": "mo", "role": "Nurse", "site": "north", "end": now.Add(4 * time.Hour), "reason": "cover"})
	atEast := postGrant(t, h, map[string]any{"user": "mo", "role": "Nurse", "site": "east", "end": now.Add(4 * time.Hour), "reason": "cover"})
	grant(t, first(tap(t, north, badge)))

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"`+frontline+`:sites","value":["south"]}]}`), 200)
	north.Ack(north.Recv(5 * time.Second)) // the north session's revocation
	if got := refusal(t, first(tap(t, north, badge))); got != wire.RefusedNotAllowedHere {
		t.Errorf("mover at the site it lost: refused %q, want not_allowed_here", got)
	}
	gs, err := h.Store().ListGrants(t.Context(), uid)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if revoked := !g.Revoked.IsZero(); revoked != (g.ID == atNorth) {
			t.Errorf("grant %s at %s revoked %v, want only the grant at north (%s) revoked", g.ID, g.Site, revoked, atNorth)
		}
	}
	recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{Subject: "user:" + uid, Action: "grant.revoke"})
	if len(recs) != 1 || !strings.Contains(string(recs[0].Detail), atNorth) || strings.Contains(string(recs[0].Detail), atEast) {
		t.Errorf("grant.revoke records %+v, want one for %s", recs, atNorth)
	}
}
