package hub_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Start and end dates sent as calendar days ("2026-12-01") mean those days
// where the worker works: at a kiosk, in the time zone of its site.

// registerSite registers a site with its time zone and returns the zone.
func registerSite(t *testing.T, h *hubtest.Hub, name, zone string) *time.Location {
	t.Helper()
	if _, err := h.Engine().CreateSite(t.Context(), lifecycle.Actor{Name: "test", System: "api"}, store.Site{Name: name, TimeZone: zone}); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// moveTo sets the hub's clock to at.
func moveTo(clock *hubtest.Clock, at time.Time) { clock.Advance(at.Sub(clock.Now())) }

// signOut ends a granted session from its kiosk, so that nothing is
// pushed to the kiosk about it later.
func signOut(t *testing.T, k *hubtest.Kiosk, g wire.SessionGrant) {
	t.Helper()
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)
}

// dayAfter returns a calendar day (days after today in UTC, so every
// instant of it anywhere lies ahead of now) and 00:00 of the day after it
// in loc: the instant that day is over there.
func dayAfter(now time.Time, days int) (day string, endIn func(*time.Location) time.Time) {
	d := now.UTC().AddDate(0, 0, days)
	return d.Format(time.DateOnly), func(loc *time.Location) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
	}
}

// TestSCIMCalendarDatesRoundTrip: a startDate and endDate sent as bare
// dates are returned as sent (POST, GET, a filter finds them), while the
// hub resolves them in the zone of the user's site; a date-time replaces
// the day with an instant, and a PUT without dates clears both.
func TestSCIMCalendarDatesRoundTrip(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	la := registerSite(t, h, "la", "America/Los_Angeles")
	body := `{"schemas":["` + coreUser + `","` + frontline + `"],"userName":"ana","active":true,"` +
		frontline + `":{"sites":["la"],"startDate":"2031-12-01","endDate":"2031-12-31"}}`
	created := want(t, h.Do(t, "POST", "/scim/v2/Users", body), 201)
	id := created["id"].(string)
	dates := func(m map[string]any) (any, any) {
		ext, _ := m[frontline].(map[string]any)
		return ext["startDate"], ext["endDate"]
	}
	for what, m := range map[string]map[string]any{"POST": created, "GET": want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)} {
		if s, e := dates(m); s != "2031-12-01" || e != "2031-12-31" {
			t.Errorf("%s returned startDate %v, endDate %v; want 2031-12-01, 2031-12-31 as sent", what, s, e)
		}
	}
	u := user(t, h, id)
	if u.StartDay != "2031-12-01" || u.EndDay != "2031-12-31" ||
		!u.StartDate.Equal(time.Date(2031, 12, 1, 0, 0, 0, 0, la)) || !u.EndDate.Equal(time.Date(2032, 1, 1, 0, 0, 0, 0, la)) {
		t.Errorf("stored days %q, %q and instants %s, %s; want the days, 00:00 of the first and 24:00 of the last in Los Angeles",
			u.StartDay, u.EndDay, u.StartDate, u.EndDate)
	}
	filter := url.QueryEscape(frontline + `:endDate eq "2031-12-31"`)
	if m := want(t, h.Do(t, "GET", "/scim/v2/Users?filter="+filter, nil), 200); m["totalResults"] != float64(1) {
		t.Errorf("filter on the end day: %v results, want 1", m["totalResults"])
	}

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+frontline+`:endDate","value":"2032-01-31T17:00:00-08:00"}]}`), 200)
	if _, e := dates(want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)); e != "2032-02-01T01:00:00Z" {
		t.Errorf("endDate after a PATCH with a date-time: %v, want 2032-02-01T01:00:00Z", e)
	}
	if u := user(t, h, id); u.EndDay != "" || !u.EndDate.Equal(time.Date(2032, 2, 1, 1, 0, 0, 0, time.UTC)) || u.StartDay != "2031-12-01" {
		t.Errorf("after the PATCH: days %q, %q, end %s; want the start day kept and the end an instant", u.StartDay, u.EndDay, u.EndDate)
	}
	want(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, `{"schemas":["`+coreUser+`","`+frontline+`"],"userName":"ana","`+frontline+`":{"sites":["la"]}}`), 200)
	if u := user(t, h, id); u.StartDay != "" || u.EndDay != "" || !u.StartDate.IsZero() || !u.EndDate.IsZero() {
		t.Errorf("after a PUT without dates: days %q, %q, instants %s, %s; want none", u.StartDay, u.EndDay, u.StartDate, u.EndDate)
	}
}

// TestKioskEndDayAtEachSite: a leaver of a Los Angeles and a Tokyo site
// whose last day came as a bare date signs in at each kiosk until 24:00 of
// that day there, the session capped at it; the scheduler deprovisions
// the user only once the day is over in Los Angeles. Read in UTC, Tokyo
// kept access nine hours into the next day and Los Angeles lost it at
// 16:00 on the last day.
func TestKioskEndDayAtEachSite(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	la := registerSite(t, h, "la", "America/Los_Angeles")
	tokyo := registerSite(t, h, "tokyo", "Asia/Tokyo")
	day, endIn := dayAfter(now, 1)
	tokyoEnd, laEnd := endIn(tokyo), endIn(la)
	uid := createUser(t, h, "kai", `{"sites":["la","tokyo"],"endDate":"`+day+`"}`)
	createGroup(t, h, "Nurse", uid)
	kLA, kTokyo := h.EnrollKiosk(t, "la-1", "la"), h.EnrollKiosk(t, "tokyo-1", "tokyo")
	kLA.Dial("")
	kTokyo.Dial("")
	badge := registerBadge(t, h, kLA, "kai")

	moveTo(clock, tokyoEnd.Add(-time.Hour))
	g := grant(t, first(tap(t, kTokyo, badge)))
	if !g.ExpiresAt.Equal(tokyoEnd) || g.ExpiryReason != wire.ReasonExpired {
		t.Errorf("Tokyo, an hour before its last day ends: expires %s (%s), want %s: 24:00 in Tokyo", g.ExpiresAt, g.ExpiryReason, tokyoEnd)
	}
	signOut(t, kTokyo, g)

	moveTo(clock, tokyoEnd)
	if got := refusal(t, first(tap(t, kTokyo, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("Tokyo, at 24:00 of the last day there: refused %q, want %q", got, wire.RefusedNotRecognised)
	}
	signOut(t, kLA, grant(t, first(tap(t, kLA, badge)))) // Los Angeles: the same instant is the morning of the last day

	moveTo(clock, laEnd.Add(-time.Hour))
	g = grant(t, first(tap(t, kLA, badge)))
	if !g.ExpiresAt.Equal(laEnd) {
		t.Errorf("Los Angeles, an hour before its last day ends: expires %s, want %s: 24:00 in Los Angeles", g.ExpiresAt, laEnd)
	}
	signOut(t, kLA, g)
	moveTo(clock, laEnd.Add(-time.Second))
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Deprovisioned != 0 {
		t.Fatalf("scheduler a second before the day is over in Los Angeles: %+v, %v; want nothing deprovisioned", d, err)
	}
	if u := user(t, h, uid); u.State != store.UserActive {
		t.Fatalf("kai is %s before the last site's day is over, want active", u.State)
	}

	moveTo(clock, laEnd)
	if got := refusal(t, first(tap(t, kLA, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("Los Angeles, at 24:00 of the last day there: refused %q, want %q", got, wire.RefusedNotRecognised)
	}
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Deprovisioned != 1 {
		t.Fatalf("scheduler when the day is over in Los Angeles: %+v, %v; want kai deprovisioned", d, err)
	}
	if u := user(t, h, uid); u.State != store.UserDisabled || u.Active {
		t.Errorf("kai after the last day: %s, active %v; want disabled", u.State, u.Active)
	}
}

// TestKioskStartDayAtEachSite: a joiner of a Los Angeles and a Tokyo site
// whose first day came as a bare date signs in at each kiosk from 00:00
// of that day there, whether or not the scheduler has activated the user
// (it does at the first site's midnight). Read in UTC, Tokyo had to wait
// until 09:00 and Los Angeles could sign in from 16:00 the day before.
func TestKioskStartDayAtEachSite(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	la := registerSite(t, h, "la", "America/Los_Angeles")
	tokyo := registerSite(t, h, "tokyo", "Asia/Tokyo")
	day, endIn := dayAfter(now, 2)
	tokyoStart, laStart := endIn(tokyo).AddDate(0, 0, -1), endIn(la).AddDate(0, 0, -1)
	uid := createUser(t, h, "mia", `{"sites":["la","tokyo"],"startDate":"`+day+`"}`)
	createGroup(t, h, "Nurse", uid)
	kLA, kTokyo := h.EnrollKiosk(t, "la-1", "la"), h.EnrollKiosk(t, "tokyo-1", "tokyo")
	kLA.Dial("")
	kTokyo.Dial("")
	badge := registerBadge(t, h, kTokyo, "mia") // before day one

	moveTo(clock, tokyoStart.Add(-time.Second))
	if got := refusal(t, first(tap(t, kTokyo, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("Tokyo, a second before the first day there: refused %q", got)
	}
	moveTo(clock, tokyoStart)
	signOut(t, kTokyo, grant(t, first(tap(t, kTokyo, badge)))) // before the scheduler's pass
	if got := refusal(t, first(tap(t, kLA, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("Los Angeles, the day before the first day there: refused %q, want %q", got, wire.RefusedNotRecognised)
	}
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Activated != 1 {
		t.Fatalf("scheduler at the first site's midnight: %+v, %v; want mia activated", d, err)
	}
	moveTo(clock, laStart.Add(-time.Second))
	if got := refusal(t, first(tap(t, kLA, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("Los Angeles, active but a second before the first day there: refused %q, want %q", got, wire.RefusedNotRecognised)
	}
	moveTo(clock, laStart)
	signOut(t, kLA, grant(t, first(tap(t, kLA, badge))))
}

// TestEndDayPatchShortensSessionsPerSite: an endDate sent as a bare date to
// a user signed in at a Tokyo and a Berlin kiosk shortens each session to
// 24:00 of that day at its own site, both kiosks told at once.
func TestEndDayPatchShortensSessionsPerSite(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	tokyo := registerSite(t, h, "tokyo", "Asia/Tokyo")
	berlin := registerSite(t, h, "berlin", "Europe/Berlin")
	day, endIn := dayAfter(now, 1)
	uid := createUser(t, h, "ida", `{"sites":["tokyo","berlin"]}`)
	createGroup(t, h, "Nurse", uid)
	kTokyo, kBerlin := h.EnrollKiosk(t, "tokyo-1", "tokyo"), h.EnrollKiosk(t, "berlin-1", "berlin")
	kTokyo.Dial("")
	kBerlin.Dial("")
	badge := registerBadge(t, h, kTokyo, "ida")
	moveTo(clock, endIn(tokyo).Add(-2*time.Hour)) // 22:00 in Tokyo, the afternoon in Berlin
	gT, gB := grant(t, first(tap(t, kTokyo, badge))), grant(t, first(tap(t, kBerlin, badge)))
	if !gT.ExpiresAt.After(endIn(berlin)) || !gB.ExpiresAt.After(endIn(berlin)) {
		t.Fatalf("sessions expire %s and %s, want both after the day is over in Berlin (%s)", gT.ExpiresAt, gB.ExpiresAt, endIn(berlin))
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"add","path":"`+frontline+`:endDate","value":"`+day+`"}]}`), 200)
	expectExtend(t, kTokyo, gT.SessionID, endIn(tokyo), wire.ReasonExpired)
	expectExtend(t, kBerlin, gB.SessionID, endIn(berlin), wire.ReasonExpired)
}

// TestSitesPatchRedatesUser: the instant a user with a bare endDate is
// deprovisioned at follows its sites: adding a site further west moves
// it to the end of the day there; removing that site once the day is over
// at the sites that remain deprovisions the user at once.
func TestSitesPatchRedatesUser(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	tokyo := registerSite(t, h, "tokyo", "Asia/Tokyo")
	la := registerSite(t, h, "la", "America/Los_Angeles")
	day, endIn := dayAfter(now, 1)
	uid := createUser(t, h, "ren", `{"sites":["tokyo"],"endDate":"`+day+`"}`)
	sites := func(list string) {
		t.Helper()
		want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+frontline+`:sites","value":`+list+`}]}`), 200)
	}
	if u := user(t, h, uid); !u.EndDate.Equal(endIn(tokyo)) {
		t.Fatalf("end %s, want %s: 24:00 in Tokyo", u.EndDate, endIn(tokyo))
	}
	sites(`["tokyo","la"]`)
	if u := user(t, h, uid); !u.EndDate.Equal(endIn(la)) {
		t.Errorf("after Los Angeles was added: end %s, want %s", u.EndDate, endIn(la))
	}
	moveTo(clock, endIn(tokyo))
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Deprovisioned != 0 {
		t.Errorf("scheduler when the day is over in Tokyo only: %+v, %v; want nothing deprovisioned", d, err)
	}
	sites(`["tokyo"]`)
	if u := user(t, h, uid); u.State != store.UserDisabled || !u.EndDate.Equal(endIn(tokyo)) {
		t.Errorf("after Los Angeles was removed: %s, end %s; want disabled, end %s", u.State, u.EndDate, endIn(tokyo))
	}
}
