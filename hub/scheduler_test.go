package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSchedulerAcrossRestart: every kind of timed event comes due while
// the hub is down (same data directory, the clock moved past the
// deadlines); the restarted hub carries each out exactly once — its own
// start-up pass and an explicit pass race, and a third start changes
// nothing — and the audit chain stays intact.
func TestSchedulerAcrossRestart(t *testing.T) {
	h1, clock, now := startClocked(t, hubtest.Options{})
	ctx := t.Context()
	admin := lifecycle.Actor{Name: "test", System: "api"}

	// A joiner starting in 30 minutes.
	joiner := createUser(t, h1, "joiner", `{"sites":["north"],"startDate":"`+now.Add(30*time.Minute).Format(time.RFC3339)+`"}`)
	// A contractor leaving in an hour, signed in.
	contractor := createUser(t, h1, "contractor", `{"sites":["north"],"employmentType":"contractor","endDate":"`+now.Add(time.Hour).Format(time.RFC3339)+`"}`)
	createGroup(t, h1, "Picker", contractor)
	contractorSess := liveSession(t, h1, contractor, "north", "Picker")
	// A worker of another site with a one-hour grant at north and a
	// session there that (unusually) outlives the grant.
	cover := createUser(t, h1, "cover", `{"sites":["south"]}`)
	coverSess := liveSession(t, h1, cover, "north", "Nurse")
	g, err := h1.Engine().GrantAccess(ctx, admin, store.Grant{UserID: cover, Role: "Nurse", Site: "north", End: now.Add(time.Hour), Reason: "cover"})
	if err != nil {
		t.Fatal(err)
	}
	// A nurse whose shift ends in 20 minutes, signed in, extended for 40.
	nurse := createUser(t, h1, "nurse", shiftsExt(now.Add(-7*time.Hour), now.Add(20*time.Minute)))
	createGroup(t, h1, "Nurse", nurse)
	nurseSess := liveSession(t, h1, nurse, "north", "Nurse")
	if _, err := h1.Store().SetSessionExpiry(ctx, nurseSess.ID, now.Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h1.Engine().ExtendShift(ctx, admin, nurse, "north", now.Add(time.Hour), "short-staffed"); err != nil {
		t.Fatal(err)
	}
	if s, _ := h1.Store().GetSession(ctx, nurseSess.ID); !s.Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("extended session expires %s", s.Expires)
	}

	h1.Stop()
	clock.Advance(2 * time.Hour)
	h2 := hubtest.Start(t, hubtest.Options{Clock: clock, DataDir: h1.DataDir})
	if _, err := h2.Engine().RunDue(ctx); err != nil {
		t.Fatal(err)
	}

	type want struct {
		action, subject string
	}
	once := []want{
		{"user.activate", "user:" + joiner},
		{"user.deprovision", "user:" + contractor},
		{"grant.expire", "user:" + cover},
		{"shift.extension_expire", "user:" + nurse},
	}
	check := func(h *hubtest.Hub, when string) {
		t.Helper()
		for _, w := range once {
			if n := count(t, h, w.action, w.subject); n != 1 {
				t.Errorf("%s: %d %s records for %s, want 1", when, n, w.action, w.subject)
			}
		}
		// Each session ended once, for the right reason: the nurse's
		// ran to the end of her extended shift.
		for id, reason := range map[string]string{contractorSess.ID: "deprovisioned", coverSess.ID: "entitlement_removed", nurseSess.ID: "shift_end"} {
			s, err := h.Store().GetSession(ctx, id)
			if err != nil || s.Ended.IsZero() || s.EndReason != reason {
				t.Errorf("%s: session %s = %+v (%v), want ended (%s)", when, id, s, err, reason)
			}
			revs, _ := h.Store().ListRevocations(ctx, store.RevocationQuery{SessionID: id})
			if len(revs) != 1 {
				t.Errorf("%s: %d revocations of %s, want 1", when, len(revs), id)
			}
		}
		if n := count(t, h, "session.end", "user:"+nurse); n != 1 {
			t.Errorf("%s: %d session.end records for the nurse, want 1", when, n)
		}
		gs, _ := h.Store().ListGrants(ctx, cover)
		if len(gs) != 1 || gs[0].ID != g.ID || !gs[0].Revoked.IsZero() {
			t.Errorf("%s: grants = %+v, want the one grant, over but not revoked", when, gs)
		}
		if u := user(t, h, joiner); u.State != store.UserActive {
			t.Errorf("%s: joiner is %v", when, u.State)
		}
	}
	check(h2, "after the restart")
	if d, err := h2.Engine().RunDue(ctx); err != nil || d != (lifecycle.Due{}) {
		t.Errorf("a second pass did something: %+v, %v", d, err)
	}
	h2.Stop()

	h3 := hubtest.Start(t, hubtest.Options{Clock: clock, DataDir: h1.DataDir})
	if _, err := h3.Engine().RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	check(h3, "after a second restart")
	key, err := audit.LoadKey(h3.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(context.Background(), key, h3.Store()); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}
