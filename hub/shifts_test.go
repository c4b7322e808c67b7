package hub_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// shiftsExt is the frontline extension with sites north and the shifts.
func shiftsExt(shifts ...time.Time) string {
	var parts []string
	for i := 0; i+1 < len(shifts); i += 2 {
		parts = append(parts, fmt.Sprintf(`{"start":%q,"end":%q}`, shifts[i].Format(time.RFC3339), shifts[i+1].Format(time.RFC3339)))
	}
	return `{"sites":["north"],"shifts":[` + strings.Join(parts, ",") + `]}`
}

func shiftBody(shifts ...time.Time) []map[string]time.Time {
	out := []map[string]time.Time{}
	for i := 0; i+1 < len(shifts); i += 2 {
		out = append(out, map[string]time.Time{"start": shifts[i], "end": shifts[i+1]})
	}
	return out
}

// expectExtend reads the next message, which must be session.extend for
// session to at, and acknowledges it.
func expectExtend(t *testing.T, k *hubtest.Kiosk, session string, at time.Time, reason string) {
	t.Helper()
	push := k.Recv(5 * time.Second)
	var x wire.SessionExtend
	if push.Type != wire.TypeSessionExtend || push.Unmarshal(&x) != nil || x.SessionID != session || !x.ExpiresAt.Equal(at) || x.ExpiryReason != reason {
		t.Fatalf("got %s %s, want session.extend of %s to %s (%s)", push.Type, push.Data, session, at, reason)
	}
	k.Ack(push)
}

func count(t *testing.T, h *hubtest.Hub, action, subject string) int {
	t.Helper()
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: action, Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func startClocked(t *testing.T, opts hubtest.Options) (*hubtest.Hub, *hubtest.Clock, time.Time) {
	t.Helper()
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	opts.Clock = clock
	return hubtest.Start(t, opts), clock, clock.Now()
}

// TestShiftsAPI: shifts replaced through the admin API are validated (a
// bad request changes nothing), audited, shown by SCIM, obeyed by new
// logins, and applied to the live session at once: a shorter shift moves
// its expiry (session.extend), a shift elsewhere in time ends it.
func TestShiftsAPI(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(6*time.Hour)))
	createGroup(t, h, "Nurse", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "ana")
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(now.Add(6*time.Hour)) || g.ExpiryReason != wire.ReasonShiftEnd || !slices.Equal(g.WarnSeconds, []int{600, 120}) {
		t.Fatalf("grant = %+v, want the shift end with warnings at 10 and 2 minutes", g)
	}

	big := make([]time.Time, 0, 2*501)
	for i := range 501 {
		s := now.Add(time.Duration(i) * 24 * time.Hour)
		big = append(big, s, s.Add(time.Hour))
	}
	a, b := now.Add(time.Hour), now.Add(3*time.Hour)
	for _, tc := range []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"overlap", shiftBody(a, b, a.Add(time.Hour), b.Add(time.Hour)), 400, "overlap"},
		{"end before start", shiftBody(b, a), 400, "ends before it starts"},
		{"too long", shiftBody(a, a.Add(25*time.Hour)), 400, "split it into back-to-back shifts"},
		{"too many", shiftBody(big...), 400, "at most 500 per user"},
		{"no end", `[{"start":"2026-12-01T06:00:00Z"}]`, 400, `needs "start" and "end"`},
		{"unknown field", `[{"begin":"2026-12-01T06:00:00Z","end":"2026-12-01T08:00:00Z"}]`, 400, "JSON list of shifts"},
		{"not a list", `{"start":"2026-12-01T06:00:00Z","end":"2026-12-01T08:00:00Z"}`, 400, "JSON list of shifts"},
		{"null", `null`, 400, "JSON list of shifts"},
		{"not JSON", `[{`, 400, "not the expected JSON"},
		{"bad time", `[{"start":"tomorrow","end":"2026-12-01T08:00:00Z"}]`, 400, "JSON list of shifts"},
		{"too large", `[` + strings.Repeat(" ", 70<<10) + `]`, 413, "too large"},
	} {
		r := h.API(t, "PUT", "/api/v1/users/ana/shifts", tc.body)
		if r.Status != tc.status || !strings.Contains(r.JSON()["error"].(string), tc.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, r.Status, r.Body, tc.status, tc.msg)
		}
	}
	if r := h.API(t, "PUT", "/api/v1/users/nobody/shifts", shiftBody(a, b)); r.Status != 404 {
		t.Errorf("unknown user: %d %s", r.Status, r.Body)
	}
	if n := count(t, h, "user.shifts_replace", "user:"+uid); n != 0 || len(user(t, h, uid).Shifts) != 1 {
		t.Fatalf("refused requests changed something: %d audit records, shifts %v", n, user(t, h, uid).Shifts)
	}

	// Cut the shift short: the kiosk learns the earlier end at once.
	r := h.API(t, "PUT", "/api/v1/users/ana/shifts", shiftBody(now.Add(-2*time.Hour), now.Add(time.Hour)))
	if r.Status != 200 || len(r.JSON()["shifts"].([]any)) != 1 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	expectExtend(t, k, g.SessionID, now.Add(time.Hour), wire.ReasonShiftEnd)
	if s, _ := h.Store().GetSession(t.Context(), g.SessionID); !s.Expires.Equal(now.Add(time.Hour)) || !s.Ended.IsZero() {
		t.Errorf("stored session = %+v", s)
	}
	for _, act := range []string{"user.shifts_replace", "session.expiry_change"} {
		if n := count(t, h, act, "user:"+uid); n != 1 {
			t.Errorf("%d %s records, want 1", n, act)
		}
	}
	// SCIM shows the shifts the API set; a PUT that leaves them out keeps them.
	m := want(t, h.Do(t, "GET", "/scim/v2/Users/"+uid, nil), 200)
	sh := m[frontline].(map[string]any)["shifts"].([]any)
	if len(sh) != 1 || sh[0].(map[string]any)["end"] != now.Add(time.Hour).Format(time.RFC3339) {
		t.Errorf("SCIM shifts = %v", sh)
	}
	want(t, h.Do(t, "PUT", "/scim/v2/Users/"+uid, fmt.Sprintf(`{"schemas":[%q],"userName":"ana","displayName":"Ana","active":true,%q:{"sites":["north"]}}`, coreUser, frontline)), 200)
	if u := user(t, h, uid); len(u.Shifts) != 1 || u.DisplayName != "Ana" {
		t.Errorf("after a SCIM PUT without shifts: %+v", u.Shifts)
	}

	// Move the shift to tomorrow: the session is outside every shift now.
	r = h.API(t, "PUT", "/api/v1/users/ana/shifts", shiftBody(now.Add(20*time.Hour), now.Add(28*time.Hour)))
	if r.Status != 200 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	expectRevoke(t, k, g.SessionID, wire.ReasonShiftEnd)
	h.WaitAcked(t, g.SessionID)
	if got := refusal(t, first(tap(t, k, badge))); got != wire.RefusedOutsideShift {
		t.Errorf("login outside the new shifts: %q", got)
	}

	// No shifts at all: no shift limits the session.
	if r := h.API(t, "PUT", "/api/v1/users/ana/shifts", []any{}); r.Status != 200 {
		t.Fatalf("clear: %d %s", r.Status, r.Body)
	}
	g = grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(now.Add(12*time.Hour)) || g.ExpiryReason != wire.ReasonExpired {
		t.Errorf("without shifts: %+v, want the 12 h maximum", g)
	}
	if r := h.API(t, "GET", "/api/v1/users/ana/shifts", nil); r.Status != 200 || len(r.JSON()["shifts"].([]any)) != 0 {
		t.Errorf("get: %d %s", r.Status, r.Body)
	}
}

// TestLongerShiftKeepsKioskBound: a shift lengthened under a live session
// moves its expiry no further than the kiosk's hardware profile allows
// (rpi5-touch: 10 hours), as at the login.
func TestLongerShiftKeepsKioskBound(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(time.Hour)))
	createGroup(t, h, "Nurse", uid)
	k := h.EnrollKioskProfile(t, "back-1", "north", "rpi5-touch")
	k.Dial("")
	badge := h.RegisterBadge(t, k, "ana", authenticator.SoftOptions{AAGUID: "ee882879-721c-4913-9775-3dfcce97072a"})
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("grant = %+v, want the shift's end", g)
	}
	if r := h.API(t, "PUT", "/api/v1/users/ana/shifts", shiftBody(now.Add(-2*time.Hour), now.Add(11*time.Hour))); r.Status != 200 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	expectExtend(t, k, g.SessionID, now.Add(10*time.Hour), wire.ReasonExpired)
}

// TestShiftExtension: a supervisor extends a live shift; the kiosk gets the
// later end at once, the extension is audited with reason and approver,
// the session runs past the old shift end, and the scheduler ends it and
// records the extension's end exactly once.
func TestShiftExtension(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-7*time.Hour), now.Add(30*time.Minute)))
	createGroup(t, h, "Nurse", uid)
	createUser(t, h, "bo", `{"sites":["north"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "ana")
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(now.Add(30 * time.Minute)) {
		t.Fatalf("grant = %+v", g)
	}

	until := now.Add(2 * time.Hour)
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		msg        string
	}{
		{"no reason", "ana", map[string]any{"until": until}, 400, "give a reason"},
		{"no until", "ana", map[string]any{"reason": "x"}, 400, `give "until"`},
		{"past", "ana", map[string]any{"until": now.Add(-time.Minute), "reason": "x"}, 400, "already passed"},
		{"too far", "ana", map[string]any{"until": now.Add(13 * time.Hour), "reason": "x"}, 400, "at most 12h0m0s ahead"},
		{"no shifts", "bo", map[string]any{"until": until, "reason": "x"}, 400, "has no shifts"},
		{"not her site", "ana", map[string]any{"site": "south", "until": until, "reason": "x"}, 400, `does not work at site "south"`},
		{"site with escape", "ana", map[string]any{"site": "north\x1b[2J", "until": until, "reason": "x"}, 400, "control character"},
		{"unknown user", "nobody", map[string]any{"until": until, "reason": "x"}, 404, "no user"},
		{"not JSON", "ana", "{", 400, "not the expected JSON"},
	} {
		r := h.API(t, "POST", "/api/v1/users/"+tc.path+"/extend", tc.body)
		if r.Status != tc.status || !strings.Contains(r.JSON()["error"].(string), tc.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, r.Status, r.Body, tc.status, tc.msg)
		}
	}

	// Ana works at north only: the site may be left out.
	r := h.API(t, "POST", "/api/v1/users/ana/extend", map[string]any{"until": until, "reason": "handover delayed by incident"})
	if r.Status != http.StatusCreated || len(r.JSON()["sessions"].([]any)) != 1 || r.JSON()["extension"].(map[string]any)["site"] != "north" {
		t.Fatalf("extend: %d %s", r.Status, r.Body)
	}
	expectExtend(t, k, g.SessionID, until, wire.ReasonShiftEnd)
	recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "shift.extend", Subject: "user:" + uid})
	if len(recs) != 1 || !strings.Contains(string(recs[0].Detail), "handover delayed by incident") || !strings.Contains(string(recs[0].Detail), "test-admin") {
		t.Fatalf("shift.extend audit = %+v", recs)
	}
	if r := h.API(t, "GET", "/api/v1/users/ana/shifts", nil); r.Status != 200 || len(r.JSON()["extensions"].([]any)) != 1 {
		t.Errorf("get: %d %s", r.Status, r.Body)
	}

	// Past the old shift end the session goes on.
	clock.Advance(31 * time.Minute)
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Expired != 0 {
		t.Fatalf("after the old shift end: %+v, %v", d, err)
	}
	// At the extension's end it ends, once.
	clock.Advance(89 * time.Minute)
	d, err := h.Engine().RunDue(t.Context())
	if err != nil || d.Expired != 1 || d.ExtensionsExpired != 1 {
		t.Fatalf("at the extension's end: %+v, %v", d, err)
	}
	// Ended by the scheduler as the kiosk would have ended it: at its
	// shift's (the extension's) end.
	expectRevoke(t, k, g.SessionID, wire.ReasonShiftEnd)
	if d, _ := h.Engine().RunDue(t.Context()); d.Expired+d.ExtensionsExpired != 0 {
		t.Errorf("second pass: %+v", d)
	}
	if n := count(t, h, "shift.extension_expire", "user:"+uid); n != 1 {
		t.Errorf("%d shift.extension_expire records, want 1", n)
	}
	if got := refusal(t, first(tap(t, k, badge))); got != wire.RefusedOutsideShift {
		t.Errorf("after the extension: %q", got)
	}
}

// TestShiftExtensionAtOneSite: an extension counts only at the site it
// was approved for. A worker of north and south signed in at both, whose
// shift is ending, is extended at north: the north session gets the later
// end, the south one is not touched and ends with the shift, and past the
// shift the worker may sign in at north but not at south. The API wants
// the site for a worker of several sites, refuses one that is not the
// worker's, and the audit record names the site.
func TestShiftExtensionAtOneSite(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "ana", `{"sites":["north","South"],"shifts":[{"start":"`+now.Add(-7*time.Hour).Format(time.RFC3339)+`","end":"`+now.Add(30*time.Minute).Format(time.RFC3339)+`"}]}`)
	createGroup(t, h, "Nurse", uid)
	kn := h.EnrollKiosk(t, "north-1", "north")
	ks := h.EnrollKiosk(t, "south-1", "south")
	kn.Dial("")
	ks.Dial("")
	badge := registerBadge(t, h, kn, "ana")
	gn := grant(t, first(tap(t, kn, badge)))
	gs := grant(t, first(tap(t, ks, badge)))
	if !gn.ExpiresAt.Equal(now.Add(30*time.Minute)) || !gs.ExpiresAt.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("grants = %+v, %+v; want the shift's end", gn, gs)
	}

	until := now.Add(2 * time.Hour)
	for _, tc := range []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"no site", map[string]any{"until": until, "reason": "x"}, `works at several sites (north, South): give "site"`},
		{"another site", map[string]any{"site": "east", "until": until, "reason": "x"}, `does not work at site "east"`},
	} {
		r := h.API(t, "POST", "/api/v1/users/ana/extend", tc.body)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.JSON()["error"].(string), tc.msg) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.name, r.Status, r.Body, tc.msg)
		}
	}
	if n := count(t, h, "shift.extend", "user:"+uid); n != 0 {
		t.Fatalf("refused requests made %d extensions", n)
	}

	r := h.API(t, "POST", "/api/v1/users/ana/extend", map[string]any{"site": "NORTH", "until": until, "reason": "night cover"})
	if r.Status != http.StatusCreated {
		t.Fatalf("extend at north: %d %s", r.Status, r.Body)
	}
	m := r.JSON()
	if site := m["extension"].(map[string]any)["site"]; site != "north" {
		t.Errorf("extension site = %v, want the user's spelling north", site)
	}
	if ss := m["sessions"].([]any); len(ss) != 1 || ss[0].(map[string]any)["session_id"] != gn.SessionID {
		t.Errorf("sessions moved = %v, want only the north session %s", ss, gn.SessionID)
	}
	expectExtend(t, kn, gn.SessionID, until, wire.ReasonShiftEnd)
	if s, _ := h.Store().GetSession(t.Context(), gs.SessionID); !s.Expires.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("south session expires %s, want the shift's end %s", s.Expires, now.Add(30*time.Minute))
	}
	recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "shift.extend", Subject: "user:" + uid})
	if len(recs) != 1 || !strings.Contains(string(recs[0].Detail), `"site":"north"`) {
		t.Fatalf("shift.extend audit = %+v, want one naming site north", recs)
	}
	if r := h.API(t, "GET", "/api/v1/users/ana/shifts", nil); r.Status != 200 || r.JSON()["extensions"].([]any)[0].(map[string]any)["site"] != "north" {
		t.Errorf("get: %d %s", r.Status, r.Body)
	}

	// Past the shift: the south session ends with it (its kiosk's next
	// message is that revoke, no session.extend before it); north goes on.
	clock.Advance(31 * time.Minute)
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Expired != 1 {
		t.Fatalf("after the shift end: %+v, %v; want the south session ended", d, err)
	}
	expectRevoke(t, ks, gs.SessionID, wire.ReasonShiftEnd)
	if s, _ := h.Store().GetSession(t.Context(), gn.SessionID); !s.Ended.IsZero() {
		t.Errorf("north session ended %s (%s)", s.Ended, s.EndReason)
	}
	if got := refusal(t, first(tap(t, ks, badge))); got != wire.RefusedOutsideShift {
		t.Errorf("login at south past the shift: %q, want %q", got, wire.RefusedOutsideShift)
	}
	kn.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: gn.SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)
	if g := grant(t, first(tap(t, kn, badge))); !g.ExpiresAt.Equal(until) || g.ExpiryReason != wire.ReasonShiftEnd {
		t.Errorf("login at north past the shift: %+v, want until the extension's end", g)
	}
}

// TestShiftGraceAndWarningsConfigured: the hub's shift grace and warning
// schedule come from its configuration.
func TestShiftGraceAndWarningsConfigured(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{ShiftGrace: 5 * time.Minute, SessionWarnings: []time.Duration{15 * time.Minute}})
	uid := createUser(t, h, "ana", shiftsExt(now.Add(6*time.Minute), now.Add(8*time.Hour)))
	createGroup(t, h, "Nurse", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "ana")
	if got := refusal(t, first(tap(t, k, badge))); got != wire.RefusedOutsideShift {
		t.Fatalf("6 minutes early with 5 minutes' grace: %q", got)
	}
	clock.Advance(time.Minute)
	g := grant(t, first(tap(t, k, badge)))
	if !slices.Equal(g.WarnSeconds, []int{900}) {
		t.Errorf("warn_seconds = %v, want [900]", g.WarnSeconds)
	}
}

// TestPreDayOne: a joiner with a future start date can have a badge
// enrolled before day one, cannot sign in before it, and can at the
// instant it starts, before the scheduler has recorded the activation.
func TestPreDayOne(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	start := now.Add(24 * time.Hour)
	uid := createUser(t, h, "newbie", `{"sites":["north"],"startDate":"`+start.Format(time.RFC3339)+`"}`)
	createGroup(t, h, "Picker", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "newbie") // before day one
	if u := user(t, h, uid); u.State != store.UserPending {
		t.Fatalf("state %v, want pending", u.State)
	}
	if got := refusal(t, first(tap(t, k, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("before the start date: %q", got)
	}
	clock.Advance(24*time.Hour - time.Second)
	if got := refusal(t, first(tap(t, k, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("a second before the start date: %q", got)
	}
	clock.Advance(time.Second)
	if g := grant(t, first(tap(t, k, badge))); g.Role != "Picker" {
		t.Errorf("at the start date: %+v", g)
	}
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Activated != 1 {
		t.Fatalf("RunDue: %+v, %v", d, err)
	}
	h.Engine().RunDue(t.Context())
	if n := count(t, h, "user.activate", "user:"+uid); n != 1 {
		t.Errorf("%d user.activate records, want 1", n)
	}
}

// TestSCIMShifts: shifts sent over SCIM follow the same rules (a bad list
// is invalidValue and changes nothing), a change applies to the live
// session at once, and "shifts": [] clears them.
func TestSCIMShifts(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(6*time.Hour)))
	createGroup(t, h, "Nurse", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "ana")
	g := grant(t, first(tap(t, k, badge)))

	patch := func(value string) hubtest.Response {
		return h.Do(t, "PATCH", "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+frontline+`:shifts","value":`+value+`}]}`)
	}
	overlap := fmt.Sprintf(`[{"start":%q,"end":%q},{"start":%q,"end":%q}]`, now.Format(time.RFC3339), now.Add(8*time.Hour).Format(time.RFC3339),
		now.Add(7*time.Hour).Format(time.RFC3339), now.Add(9*time.Hour).Format(time.RFC3339))
	wantError(t, patch(overlap), 400, "invalidValue")
	if u := user(t, h, uid); len(u.Shifts) != 1 || !u.Shifts[0].End.Equal(now.Add(6*time.Hour)) {
		t.Fatalf("a refused PATCH changed the shifts: %v", u.Shifts)
	}
	want(t, patch(fmt.Sprintf(`[{"start":%q,"end":%q}]`, now.Add(-2*time.Hour).Format(time.RFC3339), now.Add(2*time.Hour).Format(time.RFC3339))), 200)
	expectExtend(t, k, g.SessionID, now.Add(2*time.Hour), wire.ReasonShiftEnd)

	want(t, h.Do(t, "PUT", "/scim/v2/Users/"+uid, fmt.Sprintf(`{"schemas":[%q],"userName":"ana","active":true,%q:{"sites":["north"],"shifts":[]}}`, coreUser, frontline)), 200)
	if u := user(t, h, uid); len(u.Shifts) != 0 {
		t.Errorf("shifts after PUT with an empty list: %v", u.Shifts)
	}
	// No shift limits the session now: it gets the role's maximum from its start.
	expectExtend(t, k, g.SessionID, now.Add(12*time.Hour), wire.ReasonExpired)
}
