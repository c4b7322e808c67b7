package lifecycle_test

import (
	"context"
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
