package governance_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestProvisionStartGivenWhenPassed: a start date the identity provider
// sends when it has already passed was acted on at that request, as an end
// date sent already passed is: the hub could not let the joiner in on a
// day it was not told of, and HR's lag before the request is not the
// hub's. Brought forward into the past before day one, the clock starts at
// the request; corrected to an earlier date once the clock runs, it keeps
// running from the start date the hub held then.
func TestProvisionStartGivenWhenPassed(t *testing.T) {
	minute, hour, day := time.Minute, time.Hour, 24*time.Hour

	t.Run("brought forward before day one", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("cy", []string{"north"}, func(u *store.User) { u.StartDate = t0.Add(10 * day) })
		e.group("Picker", u.ID)
		e.at(t0.Add(hour)).badge(u.ID)
		// On day 5 HR says cy started on day 3: active at once.
		if got := e.at(t0.Add(5*day)).update(u.ID, func(u *store.User) { u.StartDate = t0.Add(3 * day) }); got.State != store.UserActive {
			t.Fatalf("state after the start date was brought forward = %v, want active", got.State)
		}
		wantTTP(t, e, "start date given when passed", one(0))
	})

	t.Run("brought forward, then the badge", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("cy", []string{"north"}, func(u *store.User) { u.StartDate = t0.Add(10 * day) })
		e.group("Picker", u.ID)
		e.at(t0.Add(5*day)).update(u.ID, func(u *store.User) { u.StartDate = t0.Add(3 * day) })
		e.at(t0.Add(5*day + 30*minute)).badge(u.ID)
		wantTTP(t, e, "badge half an hour after the request", one((30 * minute).Seconds()))
	})

	t.Run("corrected while the clock runs", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("cy", []string{"north"}, func(u *store.User) { u.StartDate = t0.Add(day) })
		e.group("Picker", u.ID)
		if d, err := e.at(t0.Add(day)).engine.RunDue(t.Context()); err != nil || d.Activated != 1 {
			t.Fatalf("activate: %+v, %v", d, err)
		}
		// On day 2, still without a badge, HR corrects the start to
		// twelve hours earlier than it said.
		e.at(t0.Add(2*day)).update(u.ID, func(u *store.User) { u.StartDate = t0.Add(12 * hour) })
		wantTTP(t, e, "corrected, no badge yet", governance.Durations{Pending: 1})
		e.at(t0.Add(3 * day)).badge(u.ID)
		wantTTP(t, e, "badge on day 3", one((2 * day).Seconds()))
	})
}
