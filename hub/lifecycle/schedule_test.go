package lifecycle_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// extendingStore extends each session the scheduler lists as expired
// right after listing it, as a shift extension committed at that moment
// does.
type extendingStore struct {
	store.Store
	to time.Time
}

func (s *extendingStore) ListSessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	ss, err := s.Store.ListSessions(ctx, q)
	if err != nil || q.ExpiresBy.IsZero() {
		return ss, err
	}
	for _, x := range ss {
		if _, err := s.Store.SetSessionExpiry(ctx, x.ID, s.to); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

// TestSchedulerSparesExtendedSession: a session extended between the
// scheduler's list of expired sessions and its end of them runs on: the
// end is decided on the session as it is in the ending transaction, and
// only sessions actually ended are counted.
func TestSchedulerSparesExtendedSession(t *testing.T) {
	ctx := t.Context()
	now := t0.Add(8 * time.Hour)
	st, log := openStore(t)
	eng, err := lifecycle.New(lifecycle.Config{Store: &extendingStore{Store: st, to: now.Add(2 * time.Hour)}, Audit: log, Now: func() time.Time { return now }})
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
	if _, err := st.CreateDevice(ctx, store.Device{ID: "d1", Name: "k1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSession(ctx, store.Session{ID: "s1", UserID: u.ID, DeviceID: "d1", Role: "Nurse", Started: t0, Expires: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	due, err := eng.RunDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := st.GetSession(ctx, "s1"); err != nil || !s.Ended.IsZero() || due.Expired != 0 {
		t.Errorf("session extended to %s after the scheduler listed it: ended %s (%s), %d counted expired; want it live, none counted", s.Expires, s.Ended, s.EndReason, due.Expired)
	}
}

// poisonedStore fails every write transaction that updates one user: a
// record the store refuses to write back, a disk error on its page.
type poisonedStore struct {
	store.Store
	userID string
}

type poisonedOps struct {
	store.Ops
	userID string
}

var errPoisoned = errors.New("injected: the user's row cannot be written")

func (s *poisonedStore) InTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error { return fn(poisonedOps{tx, s.userID}) })
}

func (o poisonedOps) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	if id == o.userID {
		return store.User{}, errPoisoned
	}
	return o.Ops.UpdateUser(ctx, id, fn)
}

// TestSchedulerPassSurvivesOneFailure: one due event that cannot be
// applied (a starter whose row cannot be written) does not hold up the
// rest of the pass. The leaver after it is deprovisioned, the expired
// session ends and is revoked, the grant's end is recorded, and the pass
// reports the failure. Before, the pass stopped at the first failure, so
// every later pass stopped there too: no session was ended and no
// revocation issued by the scheduler until someone fixed that one user.
func TestSchedulerPassSurvivesOneFailure(t *testing.T) {
	ctx := t.Context()
	now := t0.Add(8 * time.Hour)
	st, log := openStore(t)
	var revoked []string
	eng, err := lifecycle.New(lifecycle.Config{Store: &poisonedStore{Store: st, userID: "u-bad"}, Audit: log, Now: func() time.Time { return now },
		OnRevoke: func(rs []store.Revocation) {
			for _, r := range rs {
				revoked = append(revoked, r.UserID+"/"+r.SessionID)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	a := lifecycle.Actor{Name: "t", System: "api"}
	if _, err := st.CreateSite(ctx, store.Site{ID: "north", Name: "north", TimeZone: "UTC", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateDevice(ctx, store.Device{ID: "d1", Name: "k1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	// A starter whose start date has come, but whose row cannot be written.
	if _, err := st.CreateUser(ctx, store.User{ID: "u-bad", UserName: "bad", Active: true, State: store.UserPending, StartDate: t0, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	ann, err := eng.CreateUser(ctx, a, store.User{ID: "u-ann", UserName: "ann", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	// A leaver whose end date has passed.
	if _, err := st.CreateUser(ctx, store.User{ID: "u-leo", UserName: "leo", Active: true, State: store.UserActive, Sites: []string{"north"}, EndDate: now.Add(-time.Minute), Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSession(ctx, store.Session{ID: "s-ann", UserID: ann.ID, DeviceID: "d1", Role: "Nurse", Started: t0, Expires: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateGrant(ctx, store.Grant{ID: "g1", UserID: ann.ID, Role: "Picker", Site: "north", Reason: "cover", Approver: "t", Start: t0, End: now.Add(-time.Minute), Created: t0}); err != nil {
		t.Fatal(err)
	}

	due, err := eng.RunDue(ctx)
	if !errors.Is(err, errPoisoned) {
		t.Errorf("RunDue error %v, want it to report the starter that could not be activated", err)
	}
	want := lifecycle.Due{Deprovisioned: 1, Expired: 1, GrantsExpired: 1}
	if due != want {
		t.Errorf("RunDue did %+v, want %+v: one failing starter held up the rest of the pass", due, want)
	}
	if s, err := st.GetSession(ctx, "s-ann"); err != nil || s.EndReason != lifecycle.ReasonExpired {
		t.Errorf("expired session after the pass: %+v, %v; want it ended (expired)", s, err)
	}
	if leo, err := st.GetUser(ctx, "u-leo"); err != nil || leo.State != store.UserDisabled {
		t.Errorf("leaver after the pass: %v, %v; want disabled", leo.State, err)
	}
	if !slices.Contains(revoked, ann.ID+"/s-ann") {
		t.Errorf("revocations pushed %v, want one for session s-ann", revoked)
	}
}
