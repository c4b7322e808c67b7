package lifecycle_test

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// siteWorld is a fixture of users with calendar days at a kiosk of site
// north, all members of Nurse, with a live session each.
type siteWorld struct {
	*dateFixture
	a lifecycle.Actor
}

func newSiteWorld(t *testing.T, now time.Time, sites map[string]string, users []store.User) siteWorld {
	t.Helper()
	ctx := t.Context()
	w := siteWorld{dateFixture: newDateFixture(t, now), a: lifecycle.Actor{Name: "t", System: "api"}}
	for _, name := range slices.Sorted(maps.Keys(sites)) {
		w.site(t, name, sites[name])
	}
	var ids []string
	for _, u := range users {
		u.Active = true
		if _, err := w.eng.CreateUser(ctx, w.a, u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if _, err := w.eng.CreateGroup(ctx, w.a, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: ids}); err != nil {
		t.Fatal(err)
	}
	return w
}

// session starts a live Nurse session of user on a kiosk of site (the
// kiosk is made on first use), expiring at expires.
func (w siteWorld) session(t *testing.T, id, userID, site string, expires time.Time) {
	t.Helper()
	ctx := t.Context()
	now := w.clock()
	dev := "k-" + site
	if _, err := w.st.GetDevice(ctx, dev); errors.Is(err, store.ErrNotFound) {
		if _, err := w.st.CreateDevice(ctx, store.Device{ID: dev, Name: site + "-1", Site: site, Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.st.CreateSession(ctx, store.Session{ID: id, UserID: userID, DeviceID: dev, Role: "Nurse", Started: now, Expires: expires}); err != nil {
		t.Fatal(err)
	}
}

func (w siteWorld) sess(t *testing.T, id string) store.Session {
	t.Helper()
	s, err := w.st.GetSession(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w siteWorld) audits(t *testing.T, action string) []store.AuditRecord {
	t.Helper()
	recs, err := w.st.ListAudit(t.Context(), store.AuditQuery{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestSetSiteTimeZoneMovesDatesAndSessions: changing a site's time zone
// moves the end of a user of that site sent as a calendar day to 24:00 of
// the day in the new zone, audited with the zone before and after, and in
// the same step shortens the live sessions at the site's kiosks that now
// outlast the day there: of the user whose end moved, and of a user of
// several sites whose end (the latest, at another site) did not. Users of
// other sites and dates sent as instants are left alone; a zone the site
// has already changes nothing; a bad zone and an unknown site are
// refused; PutSite registers a site it does not find.
func TestSetSiteTimeZoneMovesDatesAndSessions(t *testing.T) {
	ctx := t.Context()
	la, tokyo := zone(t, "America/Los_Angeles"), zone(t, "Asia/Tokyo")
	now := midnight(20, time.UTC).Add(10 * time.Hour)
	instant := midnight(20, time.UTC).Add(20 * time.Hour)
	w := newSiteWorld(t, now, map[string]string{"north": "UTC", "la": "America/Los_Angeles", "south": "UTC"}, []store.User{
		{ID: "u-days", UserName: "days", Sites: []string{"north"}, EndDay: "2026-12-20"},
		{ID: "u-multi", UserName: "multi", Sites: []string{"north", "la"}, EndDay: "2026-12-20"},
		{ID: "u-instant", UserName: "instant", Sites: []string{"north"}, EndDate: instant},
		{ID: "u-other", UserName: "other", Sites: []string{"south"}, EndDay: "2026-12-20"},
	})
	expires := now.Add(8 * time.Hour)
	for _, id := range []string{"days", "multi", "instant"} {
		w.session(t, "s-"+id, "u-"+id, "North", expires) // the kiosk's site in another case
	}
	if got := w.user(t, "u-days"); !got.EndDate.Equal(midnight(21, time.UTC)) {
		t.Fatalf("before: u-days ends %s, want %s", got.EndDate, midnight(21, time.UTC))
	}
	version := map[string]int64{}
	for _, id := range []string{"u-days", "u-multi", "u-instant", "u-other"} {
		version[id] = w.user(t, id).Version
	}

	// UTC to Los Angeles: the day ends later; no session is lengthened.
	ch, err := w.eng.SetSiteTimeZone(ctx, w.a, "NORTH", " America/Los_Angeles ")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Site.Name != "north" || ch.Site.TimeZone != "America/Los_Angeles" || ch.Before != "UTC" || ch.Created ||
		!slices.Equal(ch.UsersRedated, []string{"u-days"}) || len(ch.SessionsEnded) != 0 {
		t.Errorf("change = %+v; want north from UTC to America/Los_Angeles, u-days redated, nothing ended", ch)
	}
	if got := w.user(t, "u-days"); !got.EndDate.Equal(midnight(21, la)) || got.Version != version["u-days"]+1 || got.State != store.UserActive {
		t.Errorf("u-days after LA: end %s v%d %s; want %s, one version more, active", got.EndDate, got.Version, got.State, midnight(21, la))
	}
	for _, id := range []string{"u-multi", "u-instant", "u-other"} {
		if got := w.user(t, id); got.Version != version[id] {
			t.Errorf("user %s changed (v%d, was v%d): its dates do not move", id, got.Version, version[id])
		}
	}
	for _, id := range []string{"s-days", "s-multi", "s-instant"} {
		if got := w.sess(t, id).Expires; !got.Equal(expires) {
			t.Errorf("session %s expires %s after a later end, want %s as it was", id, got, expires)
		}
	}
	recs := w.audits(t, "site.update")
	if len(recs) != 1 || recs[0].Subject != "site:north" || recs[0].Actor != "t" {
		t.Fatalf("site.update records: %+v, want one for site:north", recs)
	}
	var detail struct {
		Before, After struct{ TimeZone string }
		UsersRedated  []string
		SessionsEnded []string
	}
	if err := json.Unmarshal(recs[0].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if detail.Before.TimeZone != "UTC" || detail.After.TimeZone != "America/Los_Angeles" || !slices.Equal(detail.UsersRedated, []string{"u-days"}) || detail.SessionsEnded == nil {
		t.Errorf("site.update detail %s; want before UTC, after America/Los_Angeles, usersRedated [u-days], sessionsEnded []", recs[0].Detail)
	}

	// Los Angeles to Tokyo, offline: the day now ends at 15:00 UTC, which
	// shortens sessions and ends none, so the CLI may make the change.
	ch, err = w.eng.PutSite(ctx, w.a, lifecycle.SiteZone{Name: "north", TimeZone: "Asia/Tokyo", Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Before != "America/Los_Angeles" || ch.Created || !slices.Equal(ch.UsersRedated, []string{"u-days"}) || len(ch.SessionsEnded) != 0 {
		t.Errorf("change = %+v; want from America/Los_Angeles, u-days redated, nothing ended", ch)
	}
	if got := w.user(t, "u-days"); !got.EndDate.Equal(midnight(21, tokyo)) || got.State != store.UserActive {
		t.Errorf("u-days after Tokyo: end %s %s, want %s, active", got.EndDate, got.State, midnight(21, tokyo))
	}
	if got := w.user(t, "u-multi"); !got.EndDate.Equal(midnight(21, la)) {
		t.Errorf("u-multi after Tokyo: end %s, want %s: its last day ends last at la", got.EndDate, midnight(21, la))
	}
	for id, want := range map[string]time.Time{"s-days": midnight(21, tokyo), "s-multi": midnight(21, tokyo), "s-instant": expires} {
		if got := w.sess(t, id); !got.Expires.Equal(want) || !got.Ended.IsZero() {
			t.Errorf("session %s after Tokyo: expires %s, ended %s; want live until %s", id, got.Expires, got.Ended, want)
		}
	}

	// The zone the site has: nothing is written.
	ch, err = w.eng.SetSiteTimeZone(ctx, w.a, "north", "Asia/Tokyo")
	if err != nil || !ch.Unchanged() || len(ch.UsersRedated) != 0 {
		t.Errorf("the same zone again: %+v, %v; want unchanged", ch, err)
	}
	if n := len(w.audits(t, "site.update")); n != 2 {
		t.Errorf("%d site.update records, want 2: the same zone again is no change", n)
	}

	for _, tc := range []struct{ name, site, zone string }{
		{"a misspelt zone", "north", "Asia/Tokio"},
		{"the host's zone", "north", "Local"},
		{"an offset", "north", "+09:00"},
		{"a blank name", " ", "UTC"},
	} {
		if _, err := w.eng.SetSiteTimeZone(ctx, w.a, tc.site, tc.zone); !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
	if _, err := w.eng.SetSiteTimeZone(ctx, w.a, "west", "UTC"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown site: %v, want ErrNotFound", err)
	}
	if _, err := w.st.GetSiteByName(ctx, "west"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetSiteTimeZone registered an unknown site: %v", err)
	}
	if s, err := w.st.GetSiteByName(ctx, "north"); err != nil || s.TimeZone != "Asia/Tokyo" {
		t.Errorf("north after refused changes: %+v, %v; want Asia/Tokyo", s, err)
	}

	ch, err = w.eng.PutSite(ctx, w.a, lifecycle.SiteZone{Name: "east", TimeZone: "Europe/Berlin"})
	if err != nil || !ch.Created || ch.Site.TimeZone != "Europe/Berlin" || ch.Site.ID == "" {
		t.Errorf("PutSite of a new site: %+v, %v; want it created", ch, err)
	}
	if recs := w.audits(t, "site.create"); len(recs) != 4 || recs[3].Subject != "site:east" {
		t.Errorf("site.create records: %+v; want the fixture's three and east", recs)
	}
	if _, err := w.eng.CreateSite(ctx, w.a, store.Site{Name: "EAST", TimeZone: "UTC"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSite of a registered site: %v, want ErrConflict", err)
	}
}

// TestSiteTimeZoneDeprovisionsWhenTheLastDayIsOver: at 16:00 UTC on a
// leaver's last day, moving the leaver's only site from UTC to Tokyo puts
// the end (15:00 UTC) in the past: the user is deprovisioned in the same
// step and the session ends and is revoked. A user of that site and Los
// Angeles stays active, but the session at the Tokyo kiosk ends: the day
// is over there. Offline (the CLI cannot tell kiosks) the same change is
// refused and changes nothing.
func TestSiteTimeZoneDeprovisionsWhenTheLastDayIsOver(t *testing.T) {
	ctx := t.Context()
	la, tokyo := zone(t, "America/Los_Angeles"), zone(t, "Asia/Tokyo")
	now := midnight(20, time.UTC).Add(16 * time.Hour)
	w := newSiteWorld(t, now, map[string]string{"north": "UTC", "la": "America/Los_Angeles"}, []store.User{
		{ID: "u-days", UserName: "days", Sites: []string{"north"}, EndDay: "2026-12-20"},
		{ID: "u-multi", UserName: "multi", Sites: []string{"north", "la"}, EndDay: "2026-12-20"},
	})
	if !midnight(21, tokyo).Before(now) {
		t.Fatal("the fixture's now must be after the day is over in Tokyo")
	}
	expires := now.Add(4 * time.Hour)
	w.session(t, "s-days", "u-days", "north", expires)
	w.session(t, "s-multi", "u-multi", "north", expires)
	w.session(t, "s-multi-la", "u-multi", "la", expires)
	before := w.user(t, "u-days")
	if before.State != store.UserActive {
		t.Fatalf("u-days is %s before the change, want active", before.State)
	}

	_, err := w.eng.PutSite(ctx, w.a, lifecycle.SiteZone{Name: "north", TimeZone: "Asia/Tokyo", Offline: true})
	if !errors.Is(err, lifecycle.ErrEndsSessions) {
		t.Fatalf("offline change that ends sessions: %v, want ErrEndsSessions", err)
	}
	if s, _ := w.st.GetSiteByName(ctx, "north"); s.TimeZone != "UTC" {
		t.Errorf("the refused change stored zone %q", s.TimeZone)
	}
	if got := w.user(t, "u-days"); got.State != store.UserActive || got.Version != before.Version {
		t.Errorf("the refused change left u-days %s v%d, want active v%d", got.State, got.Version, before.Version)
	}
	for _, id := range []string{"s-days", "s-multi"} {
		if !w.sess(t, id).Ended.IsZero() {
			t.Errorf("the refused change ended session %s", id)
		}
	}
	if n := len(w.audits(t, "site.update")); n != 0 {
		t.Errorf("the refused change wrote %d site.update records", n)
	}

	ch, err := w.eng.SetSiteTimeZone(ctx, w.a, "north", "Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(ch.SessionsEnded)); !slices.Equal(ch.UsersRedated, []string{"u-days"}) || !slices.Equal(got, []string{"s-days", "s-multi"}) {
		t.Errorf("change = %+v; want u-days redated, s-days and s-multi ended", ch)
	}
	got := w.user(t, "u-days")
	if got.State != store.UserDisabled || got.Active || !got.EndDate.Equal(midnight(21, tokyo)) {
		t.Errorf("u-days: %s active=%v end %s; want deprovisioned at its end in Tokyo, %s", got.State, got.Active, got.EndDate, midnight(21, tokyo))
	}
	if s := w.sess(t, "s-days"); s.Ended.IsZero() || s.EndReason != lifecycle.ReasonDeprovisioned {
		t.Errorf("s-days: ended %s (%s), want ended, deprovisioned", s.Ended, s.EndReason)
	}
	if s := w.sess(t, "s-multi"); s.Ended.IsZero() {
		t.Errorf("s-multi at the Tokyo kiosk is live after its day there is over")
	}
	if s := w.sess(t, "s-multi-la"); !s.Ended.IsZero() || !s.Expires.Equal(expires) {
		t.Errorf("s-multi-la: ended %s, expires %s; want live as it was: the day is not over in Los Angeles", s.Ended, s.Expires)
	}
	if u := w.user(t, "u-multi"); u.State != store.UserActive || !u.EndDate.Equal(midnight(21, la)) {
		t.Errorf("u-multi: %s, end %s; want active until %s", u.State, u.EndDate, midnight(21, la))
	}
	for _, id := range []string{"s-days", "s-multi"} {
		revs, err := w.st.ListRevocations(ctx, store.RevocationQuery{SessionID: id})
		if err != nil || len(revs) != 1 {
			t.Errorf("revocations of %s: %+v, %v; want one for its kiosk", id, revs, err)
		}
	}
	if recs := w.audits(t, "user.deprovision"); len(recs) != 1 || recs[0].Subject != "user:u-days" {
		t.Errorf("user.deprovision records: %+v, want one for u-days", recs)
	}
}
