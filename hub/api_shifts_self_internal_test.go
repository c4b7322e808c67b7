package hub

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPISelfSetShiftsCheckedInTransaction: a console admin whose account
// is linked to nobody calls PUT /api/v1/users/bob/shifts with its session.
// The handler's early check (Console.Decider's UserID) finds no hub user
// for the account; then, as the change's transaction begins, bob is
// renamed to the account's name, which links the account to bob
// (selfRace, as for the extension). The shifts are the caller's own by
// then, and the change is answered with the API's 403 for one: who.Self is
// read inside the change's transaction. Nothing is stored or audited.
func TestAPISelfSetShiftsCheckedInTransaction(t *testing.T) {
	var before []store.Shift
	r := newSelfRace(t, func(now time.Time) []store.Shift {
		before = []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}
		return before
	})
	// A shift running all night: the caller's own sign-in window widened.
	body := `[{"start": "` + r.now.Add(-2*time.Hour).Format(time.RFC3339) + `", "end": "` + r.now.Add(10*time.Hour).Format(time.RFC3339) + `"}]`
	w := r.call(t, r.s.apiSetShifts, http.MethodPut, "/api/v1/users/bob/shifts", body)
	wantForbidden(t, w, "you cannot change your own shifts: ask another admin")
	if u, err := r.db.GetUser(t.Context(), r.bob.ID); err != nil || !shift.Equal(u.Shifts, before) {
		t.Errorf("shifts of bob after the refused change: %v, %v; want %v", u.Shifts, err, before)
	}
	if recs, err := r.db.ListAudit(t.Context(), store.AuditQuery{Action: "user.shifts_replace"}); err != nil || len(recs) != 0 {
		t.Errorf("user.shifts_replace records after the refused change: %d, %v; want none", len(recs), err)
	}
}
