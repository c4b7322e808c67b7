package hub_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/shift"
)

// TestSetShiftsRefusesNamesGivenTwice: PUT /users/{userName}/shifts
// refuses, as the other admin calls do, a shift that names "start" or
// "end" twice (in any case): encoding/json would keep the last, a shift
// that a reader of the body (a log, a reviewer) does not see. Nothing
// changes.
func TestSetShiftsRefusesNamesGivenTwice(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(6*time.Hour)))
	before := user(t, h, uid).Shifts
	rfc := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for _, body := range []string{
		fmt.Sprintf(`[{"start":%q,"START":%q,"end":%q}]`, rfc(time.Hour), rfc(-20*time.Hour), rfc(3*time.Hour)),
		fmt.Sprintf(`[{"start":%q,"end":%q},{"start":%q,"end":%q,"End":%q}]`, rfc(time.Hour), rfc(2*time.Hour), rfc(3*time.Hour), rfc(4*time.Hour), rfc(20*time.Hour)),
	} {
		r := h.API(t, "PUT", "/api/v1/users/ana/shifts", body)
		if msg, _ := r.JSON()["error"].(string); r.Status != 400 || !strings.Contains(msg, "twice in one object") {
			t.Errorf("%s: %d %s, want 400 naming the field given twice", body, r.Status, r.Body)
		}
	}
	if got := user(t, h, uid).Shifts; !shift.Equal(got, before) {
		t.Errorf("shifts changed to %v", got)
	}
	if n := count(t, h, "user.shifts_replace", "user:"+uid); n != 0 {
		t.Errorf("%d user.shifts_replace records, want none", n)
	}
	// The same shifts, each name once, are taken.
	body := fmt.Sprintf(`[{"start":%q,"end":%q}]`, rfc(time.Hour), rfc(3*time.Hour))
	if r := h.API(t, "PUT", "/api/v1/users/ana/shifts", body); r.Status != 200 {
		t.Errorf("%s: %d %s", body, r.Status, r.Body)
	}
}

// TestSetShiftsErrorsSayWhatToFix: a refused PUT /users/{userName}/shifts
// names what to fix: the unknown field (as the admin API promises), a
// time given without its UTC offset (a local time the hub would have to
// guess the zone of), the shift that lacks an end.
func TestSetShiftsErrorsSayWhatToFix(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(6*time.Hour)))
	before := user(t, h, uid).Shifts
	for _, tc := range []struct{ body, msg string }{
		{`[{"begin":"2026-12-01T06:00:00Z","end":"2026-12-01T08:00:00Z"}]`, `unknown field "begin"`},
		{`[{"start":"2026-12-01T06:00:00","end":"2026-12-01T08:00:00Z"}]`, `"2026-12-01T06:00:00" is not an RFC 3339 time with its UTC offset`},
		{`[{"start":"2026-12-01T06:00:00Z","end":"2026-12-01T08:00:00Z"},{"start":"2026-12-02T06:00:00Z"}]`, `shift 2: every shift needs "start" and "end"`},
	} {
		r := h.API(t, "PUT", "/api/v1/users/ana/shifts", tc.body)
		if msg, _ := r.JSON()["error"].(string); r.Status != 400 || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.body, r.Status, r.Body, tc.msg)
		}
	}
	if got := user(t, h, uid).Shifts; !shift.Equal(got, before) {
		t.Errorf("shifts changed to %v", got)
	}
}

// TestAPIRefusesDataAfterTheBody: a body with anything after its JSON
// value, a stray closing bracket included, is 400, and nothing changes.
func TestAPIRefusesDataAfterTheBody(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	uid := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(6*time.Hour)))
	before := user(t, h, uid).Shifts
	shifts := fmt.Sprintf(`[{"start":%q,"end":%q}]`, now.Add(time.Hour).Format(time.RFC3339), now.Add(3*time.Hour).Format(time.RFC3339))
	for _, tail := range []string{"]", "}", " {}", "x"} {
		r := h.API(t, "PUT", "/api/v1/users/ana/shifts", shifts+tail)
		if msg, _ := r.JSON()["error"].(string); r.Status != 400 || !strings.Contains(msg, "data after the JSON value") {
			t.Errorf("body with %q after it: %d %s, want 400 saying so", tail, r.Status, r.Body)
		}
	}
	if got := user(t, h, uid).Shifts; !shift.Equal(got, before) {
		t.Errorf("shifts changed to %v", got)
	}
	if r := h.API(t, "PUT", "/api/v1/users/ana/shifts", shifts+" \n"); r.Status != 200 {
		t.Errorf("the same body with white space after it: %d %s, want 200", r.Status, r.Body)
	}
}
