package hub_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestExtendAPIRefusesTimeOutsideShifts: POST /users/{userName}/extend
// lengthens a shift; time that touches none of the worker's shifts at the
// site is a shift for the schedule, refused with 400 naming the shift an
// extension needs and the worker's last and next shifts, storing and
// auditing nothing. A shift that ended within the hour may still be
// extended (the worker signed out at its end, asked to stay).
func TestExtendAPIRefusesTimeOutsideShifts(t *testing.T) {
	h, _, now := startClocked(t, hubtest.Options{})
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	// ana's shift ended three hours ago; her next is tomorrow.
	ana := createUser(t, h, "ana", shiftsExt(now.Add(-11*time.Hour), now.Add(-3*time.Hour), now.Add(21*time.Hour), now.Add(29*time.Hour)))
	// bo's ended twenty minutes ago.
	bo := createUser(t, h, "bo", shiftsExt(now.Add(-8*time.Hour), now.Add(-20*time.Minute)))
	// cy's runs for another hour.
	createUser(t, h, "cy", shiftsExt(now.Add(-7*time.Hour), now.Add(time.Hour)))

	until := now.Add(2 * time.Hour)
	for _, tc := range []struct {
		name, user string
		until      time.Time
		msg        []string
	}{
		{"a shift ended hours ago", "ana", until, []string{
			"ana has no shift at site north to extend: an extension lengthens a shift running now or one that ended at most 1h ago (after " + stamp(now.Add(-time.Hour)) + ")",
			"ana's last shift there ended at " + stamp(now.Add(-3*time.Hour)),
			"the next starts at " + stamp(now.Add(21*time.Hour)),
			"add a shift to their schedule"}},
		{"an extension that ends before the shift", "cy", now.Add(30 * time.Minute), []string{"cy's shift at site north already runs until " + stamp(now.Add(time.Hour))}},
	} {
		r := h.API(t, "POST", "/api/v1/users/"+tc.user+"/extend", map[string]any{"until": tc.until, "reason": "late handover"})
		m := wantAPI(t, r, http.StatusBadRequest)
		for _, want := range tc.msg {
			if !strings.Contains(m["error"].(string), want) {
				t.Errorf("%s: error %q does not say %q", tc.name, m["error"], want)
			}
		}
	}
	if n := count(t, h, "shift.extend", "user:"+ana); n != 0 {
		t.Errorf("refused extensions made %d shift.extend records", n)
	}
	if xs, err := h.Store().ListShiftExtensions(t.Context(), ana); err != nil || len(xs) != 0 {
		t.Errorf("refused extensions stored %+v (%v)", xs, err)
	}

	r := h.API(t, "POST", "/api/v1/users/bo/extend", map[string]any{"until": until, "reason": "stay for the delivery"})
	if m := wantAPI(t, r, http.StatusCreated); m["extension"].(map[string]any)["site"] != "north" {
		t.Errorf("extend a shift ended 20 minutes ago: %s", r.Body)
	}
	if n := count(t, h, "shift.extend", "user:"+bo); n != 1 {
		t.Errorf("%d shift.extend records for bo, want 1", n)
	}
}
