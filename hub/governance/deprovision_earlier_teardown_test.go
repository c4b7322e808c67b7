package governance_test

import (
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDeprovisionWaitsForTeardownStillOpen: identity providers often take
// a leaver's groups away a moment before they deactivate it (Okta's and
// Entra's group push run first). The group removal revokes the leaver's
// session under that role, and the deactivation then finds no live
// session to end; but the kiosk has not torn the session down yet. The
// leaver is deprovisioned only once that kiosk acknowledges: until then
// it is pending, and its time runs from the leaver event to that
// acknowledgement, not 0.
func TestDeprovisionWaitsForTeardownStillOpen(t *testing.T) {
	second, hour := time.Second, time.Hour
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, nil)
	gid := e.group("Nurse", ann.ID)
	e.badge(ann.ID)
	sess := e.session(ann.ID, "north", "Nurse")

	// The identity provider's group push: ann leaves the Nurse role.
	e.at(t0.Add(hour))
	if _, err := e.engine.UpdateGroup(t.Context(), actor, gid, func(g store.Group) (store.Group, error) {
		g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == ann.ID })
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	if s, err := e.st.GetSession(t.Context(), sess); err != nil || s.Ended.IsZero() {
		t.Fatalf("ann's session after her role was removed: %+v, %v; want ended", s, err)
	}
	// A second later, the deactivation: the leaver event.
	e.at(t0.Add(hour+second)).update(ann.ID, func(u *store.User) { u.Active = false })
	wantTTD(t, e, "kiosk has not acknowledged", governance.Durations{Pending: 1})

	// The kiosk comes back three hours later and tears the session down.
	e.at(t0.Add(4 * hour)).ack(sess)
	wantTTD(t, e, "kiosk acknowledged", one((3*hour - second).Seconds()))
}

// TestDeprovisionIgnoresExpiredTeardowns: a revocation a kiosk never
// acknowledged (it was offline when the session was revoked, and the
// session expired there meanwhile) holds nothing open at a later
// deprovisioning: the leaver is not pending for it.
func TestDeprovisionIgnoresExpiredTeardowns(t *testing.T) {
	hour, day := time.Hour, 24*time.Hour
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, nil)
	gid := e.group("Nurse", ann.ID)
	e.badge(ann.ID)
	e.session(ann.ID, "north", "Nurse") // expires after 8 hours
	e.at(t0.Add(hour))
	if _, err := e.engine.UpdateGroup(t.Context(), actor, gid, func(g store.Group) (store.Group, error) {
		g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == ann.ID })
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(day)).update(ann.ID, func(u *store.User) { u.Active = false })
	wantTTD(t, e, "a day after the unacknowledged revocation", one(0))
}

// wantTTD checks the time to deprovision now, on e's service and on a
// fresh one that reads the whole trail.
func wantTTD(t *testing.T, e *env, when string, want governance.Durations) {
	t.Helper()
	if d := gocmp.Diff(want, e.numbers().TimeToDeprovision); d != "" {
		t.Errorf("%s: time to deprovision (-want +got):\n%s", when, d)
	}
	fresh, err := governance.New(governance.Config{Store: e.st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := fresh.Numbers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(want, rep.TimeToDeprovision); d != "" {
		t.Errorf("%s, read afresh: time to deprovision (-want +got):\n%s", when, d)
	}
}
