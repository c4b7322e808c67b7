package lifecycle_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// dateFixture is an engine on a settable clock, for calendar-day dates.
type dateFixture struct {
	st  *sqlite.DB
	log *audit.Log
	eng *lifecycle.Engine
	mu  sync.Mutex
	now time.Time
}

func newDateFixture(t *testing.T, now time.Time) *dateFixture {
	t.Helper()
	f := &dateFixture{now: now}
	f.st, f.log = openStore(t)
	var err error
	f.eng, err = lifecycle.New(lifecycle.Config{Store: f.st, Audit: f.log, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *dateFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *dateFixture) set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}

func (f *dateFixture) site(t *testing.T, name, zone string) {
	t.Helper()
	if _, err := f.eng.CreateSite(t.Context(), lifecycle.Actor{Name: "t", System: "api"}, store.Site{Name: name, TimeZone: zone}); err != nil {
		t.Fatal(err)
	}
}

func (f *dateFixture) user(t *testing.T, id string) store.User {
	t.Helper()
	u, err := f.st.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// midnight is 00:00 of 2026-12-d in loc.
func midnight(d int, loc *time.Location) time.Time {
	return time.Date(2026, 12, d, 0, 0, 0, 0, loc).UTC()
}

// TestDatesSpanTheUsersSites: a start and end sent as calendar days are
// resolved to the earliest start and the latest end over the zones of the
// user's sites, again whenever the sites change; a site the hub has no
// record of, a zone that does not load, and a user without sites read
// them in UTC; a date sent as an instant is kept.
func TestDatesSpanTheUsersSites(t *testing.T) {
	ctx := t.Context()
	f := newDateFixture(t, midnight(1, time.UTC).Add(-30*24*time.Hour))
	la, tokyo := zone(t, "America/Los_Angeles"), zone(t, "Asia/Tokyo")
	f.site(t, "la", "America/Los_Angeles")
	f.site(t, "tokyo", "Asia/Tokyo")
	if _, err := f.st.CreateSite(ctx, store.Site{ID: "s-mars", Name: "mars", TimeZone: "Mars/Olympus_Mons", Created: f.clock()}); err != nil {
		t.Fatal(err)
	}
	a := lifecycle.Actor{Name: "t", System: "scim"}
	instant := midnight(20, time.UTC).Add(17 * time.Hour)
	tests := []struct {
		name             string
		sites            []string
		endAt            time.Time
		wantStart, wantE time.Time
	}{
		{"LA and Tokyo", []string{"la", "Tokyo"}, time.Time{}, midnight(1, tokyo), midnight(21, la)},
		{"LA only", []string{"LA"}, time.Time{}, midnight(1, la), midnight(21, la)},
		{"no site", nil, time.Time{}, midnight(1, time.UTC), midnight(21, time.UTC)},
		{"a site the hub has no record of", []string{"atlantis"}, time.Time{}, midnight(1, time.UTC), midnight(21, time.UTC)},
		{"a zone that does not load", []string{"mars"}, time.Time{}, midnight(1, time.UTC), midnight(21, time.UTC)},
		{"an instant end is kept", []string{"la", "tokyo"}, instant, midnight(1, tokyo), instant},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := store.User{ID: "u" + string(rune('a'+i)), UserName: tc.name, Active: true, Sites: tc.sites, StartDay: "2026-12-01", EndDay: "2026-12-20", EndDate: tc.endAt}
			if !tc.endAt.IsZero() {
				u.EndDay = ""
			}
			got, err := f.eng.CreateUser(ctx, a, u)
			if err != nil {
				t.Fatal(err)
			}
			if !got.StartDate.Equal(tc.wantStart) || !got.EndDate.Equal(tc.wantE) || got.State != store.UserPending {
				t.Errorf("created %s: start %s, end %s; want pending, %s to %s", got.State, got.StartDate, got.EndDate, tc.wantStart, tc.wantE)
			}
		})
	}

	// A mover: the sites change, and the span with them.
	u, err := f.eng.UpdateUser(ctx, a, "ua", func(old store.User) (store.User, error) {
		old.Sites = []string{"tokyo"}
		return old, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !u.StartDate.Equal(midnight(1, tokyo)) || !u.EndDate.Equal(midnight(21, tokyo)) {
		t.Errorf("after LA was removed: %s to %s; want %s to %s", u.StartDate, u.EndDate, midnight(1, tokyo), midnight(21, tokyo))
	}
	u, err = f.eng.UpdateUser(ctx, a, "ua", func(old store.User) (store.User, error) {
		old.Sites = append(old.Sites, "la")
		return old, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !u.EndDate.Equal(midnight(21, la)) {
		t.Errorf("after LA was added back: end %s, want %s", u.EndDate, midnight(21, la))
	}
}

// TestSchedulerDeprovisionsAtTheLastSitesEnd: a user of a Tokyo and a Los
// Angeles site becomes active when the first day begins in Tokyo and is
// deprovisioned only when the last day is over in Los Angeles, not at its
// end in Tokyo (nor in UTC).
func TestSchedulerDeprovisionsAtTheLastSitesEnd(t *testing.T) {
	ctx := t.Context()
	la, tokyo := zone(t, "America/Los_Angeles"), zone(t, "Asia/Tokyo")
	f := newDateFixture(t, midnight(1, tokyo).Add(-time.Hour))
	f.site(t, "la", "America/Los_Angeles")
	f.site(t, "tokyo", "Asia/Tokyo")
	u, err := f.eng.CreateUser(ctx, lifecycle.Actor{Name: "t", System: "scim"},
		store.User{ID: "u-kai", UserName: "kai", Active: true, Sites: []string{"la", "tokyo"}, StartDay: "2026-12-01", EndDay: "2026-12-04"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at        time.Time
		want      store.UserState
		activated int
		deprov    int
	}{
		{midnight(1, tokyo).Add(-time.Second), store.UserPending, 0, 0},
		{midnight(1, tokyo), store.UserActive, 1, 0},
		{midnight(5, tokyo), store.UserActive, 0, 0},
		{midnight(5, time.UTC), store.UserActive, 0, 0},
		{midnight(5, la).Add(-time.Second), store.UserActive, 0, 0},
		{midnight(5, la), store.UserDisabled, 0, 1},
	}
	for _, s := range steps {
		f.set(s.at)
		d, err := f.eng.RunDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.user(t, u.ID); got.State != s.want || d.Activated != s.activated || d.Deprovisioned != s.deprov {
			t.Errorf("at %s: %s after a pass that did %+v; want %s, %d activated, %d deprovisioned", s.at, got.State, d, s.want, s.activated, s.deprov)
		}
	}
}

// TestCreateSiteRedatesItsUsers: a user provisioned with calendar days at
// a site the hub had no record of had them read in UTC; registering the
// site with its zone resolves them again in the same step, audited, and
// leaves alone the users of other sites and dates sent as instants. A
// zone that does not load, the host's "Local" and a taken name are
// refused, and change nothing.
func TestCreateSiteRedatesItsUsers(t *testing.T) {
	ctx := t.Context()
	f := newDateFixture(t, midnight(1, time.UTC).Add(-48*time.Hour))
	a := lifecycle.Actor{Name: "t", System: "scim"}
	instant := midnight(20, time.UTC)
	for _, u := range []store.User{
		{ID: "u-days", UserName: "days", Active: true, Sites: []string{"LA"}, EndDay: "2026-12-20"},
		{ID: "u-instant", UserName: "instant", Active: true, Sites: []string{"LA"}, EndDate: instant},
		{ID: "u-other", UserName: "other", Active: true, Sites: []string{"north"}, EndDay: "2026-12-20"},
	} {
		if _, err := f.eng.CreateUser(ctx, a, u); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.user(t, "u-days"); !got.EndDate.Equal(midnight(21, time.UTC)) {
		t.Fatalf("before the site is known: end %s, want %s (UTC)", got.EndDate, midnight(21, time.UTC))
	}
	for _, bad := range []store.Site{{Name: "la", TimeZone: "America/Los Angeles"}, {Name: "la", TimeZone: "Local"}, {Name: " ", TimeZone: "UTC"}} {
		if _, err := f.eng.CreateSite(ctx, a, bad); !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("CreateSite(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	if sites, _ := f.st.ListSites(ctx); len(sites) != 0 {
		t.Fatalf("refused sites were stored: %+v", sites)
	}

	f.site(t, "la", "America/Los_Angeles")
	la := zone(t, "America/Los_Angeles")
	if got := f.user(t, "u-days"); !got.EndDate.Equal(midnight(21, la)) || got.Version != 2 {
		t.Errorf("after the site was registered: end %s v%d, want %s v2", got.EndDate, got.Version, midnight(21, la))
	}
	for _, id := range []string{"u-instant", "u-other"} {
		if got := f.user(t, id); got.Version != 1 {
			t.Errorf("user %s changed (v%d): its dates do not depend on the site's zone", id, got.Version)
		}
	}
	recs, err := f.st.ListAudit(ctx, store.AuditQuery{Action: "site.create"})
	if err != nil || len(recs) != 1 || recs[0].Subject != "site:la" || !strings.Contains(string(recs[0].Detail), `"usersRedated":["u-days"]`) {
		t.Errorf("site.create records: %+v, %v; want one naming u-days", recs, err)
	}
	if _, err := f.eng.CreateSite(ctx, a, store.Site{Name: "LA", TimeZone: "UTC"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second site LA: %v, want ErrConflict", err)
	}
}
