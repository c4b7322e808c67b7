package lifecycle_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSchedulerEndsWithExpiryReason: the scheduler ends each run-out
// session with why it runs out (store.Session.ExpiryReason), in the
// session and its revocation alike: shift_end for one its shift bounds,
// expired for one something else bounds, and expired for one stored
// before the hub kept why (no reason), as it did before.
func TestSchedulerEndsWithExpiryReason(t *testing.T) {
	ctx := t.Context()
	now := t0.Add(8 * time.Hour)
	st, log := openStore(t)
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSite(ctx, store.Site{ID: "north", Name: "north", TimeZone: "UTC", Created: t0}); err != nil {
		t.Fatal(err)
	}
	u, err := eng.CreateUser(ctx, lifecycle.Actor{Name: "t", System: "api"}, store.User{UserName: "ann", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"shift": lifecycle.ReasonShiftEnd, "other": lifecycle.ReasonExpired, "unknown": lifecycle.ReasonExpired}
	stored := map[string]string{"shift": "shift_end", "other": "expired", "unknown": ""}
	for id := range want {
		if _, err := st.CreateDevice(ctx, store.Device{ID: "d-" + id, Name: "k-" + id, Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateSession(ctx, store.Session{ID: id, UserID: u.ID, DeviceID: "d-" + id, Role: "Nurse", Started: t0, Expires: now.Add(-time.Second), ExpiryReason: stored[id]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eng.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	for id, reason := range want {
		s, err := st.GetSession(ctx, id)
		if err != nil || s.Ended.IsZero() || s.EndReason != reason {
			t.Errorf("session %s (expiry reason %q): %+v, %v; want ended (%s)", id, stored[id], s, err, reason)
		}
		revs, err := st.ListRevocations(ctx, store.RevocationQuery{SessionID: id})
		if err != nil || len(revs) != 1 || revs[0].Reason != reason {
			t.Errorf("revocations of session %s: %+v, %v; want one (%s)", id, revs, err, reason)
		}
	}
}
