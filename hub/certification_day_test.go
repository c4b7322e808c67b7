package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
)

// A certification expiry sent as a bare date ("expires": "2026-12-31")
// means the certification is valid through that day where the worker
// works, as a bare endDate does: at a kiosk, up to 24:00 of the day in
// the time zone of its site.

// requireForklift makes the Forklift role (app wms-forklift) need the
// forklift-license certification.
func requireForklift(t *testing.T, h *hubtest.Hub) {
	t.Helper()
	wantAPI(t, putPolicy(t, h, policyBody(t, 1, func(d *policy.Document) {
		roleDoc(d, "Forklift").Apps = []string{"wms-forklift"}
		roleDoc(d, "Forklift").Certification = "forklift-license"
	})), http.StatusOK)
}

// TestSCIMCertificationExpiryDay: a bare-date expiry is taken (it was
// refused, invalidValue, with the whole create), returned as sent, and
// kept as the day; a date-time replaces it with an instant, even one that
// is the same instant as the day's end in UTC.
func TestSCIMCertificationExpiryDay(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	created := want(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+frontline+`"],"userName":"bo","`+frontline+
		`":{"certifications":[{"name":"bls","expires":"2031-12-31"},{"name":"acls","expires":"2031-12-31T18:00:00Z"}]}}`), 201)
	id := created["id"].(string)
	expires := func(m map[string]any) []any {
		var out []any
		ext, _ := m[frontline].(map[string]any)
		certs, _ := ext["certifications"].([]any)
		for _, c := range certs {
			out = append(out, c.(map[string]any)["expires"])
		}
		return out
	}
	for what, m := range map[string]map[string]any{"POST": created, "GET": want(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)} {
		if got := expires(m); len(got) != 2 || got[0] != "2031-12-31" || got[1] != "2031-12-31T18:00:00Z" {
			t.Errorf("%s returned expiries %v; want 2031-12-31 as sent and the instant", what, got)
		}
	}
	u := user(t, h, id)
	if len(u.Certifications) != 2 {
		t.Fatalf("stored certifications %+v, want 2", u.Certifications)
	}
	if c := u.Certifications[0]; c.ExpiresDay != "2031-12-31" || !c.Expires.Equal(time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("bls stored as day %q, expires %s; want the day, and 24:00 of it in UTC", c.ExpiresDay, c.Expires)
	}
	if c := u.Certifications[1]; c.ExpiresDay != "" || !c.Expires.Equal(time.Date(2031, 12, 31, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("acls stored as day %q, expires %s; want the instant, no day", c.ExpiresDay, c.Expires)
	}

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+
		frontline+`:certifications[name eq \"bls\"].expires","value":"2032-01-01T00:00:00Z"}]}`), 200)
	if c := user(t, h, id).Certifications[0]; c.ExpiresDay != "" || !c.Expires.Equal(time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("bls after a PATCH with a date-time: day %q, expires %s; want the instant, no day", c.ExpiresDay, c.Expires)
	}
}

// TestKioskCertificationDayAtEachSite: a forklift driver of a Los Angeles
// and a Tokyo site whose license "expires 2026-12-31" drives at each
// kiosk until 24:00 of that day there, the session capped at it
// (certification_end); at 24:00 there the role is withheld. Read as
// 00:00 UTC, Los Angeles lost it at 16:00 the day before.
func TestKioskCertificationDayAtEachSite(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	requireForklift(t, h)
	la := registerSite(t, h, "la", "America/Los_Angeles")
	tokyo := registerSite(t, h, "tokyo", "Asia/Tokyo")
	day, endIn := dayAfter(now, 1)
	tokyoEnd, laEnd := endIn(tokyo), endIn(la)
	uid := createUser(t, h, "kim", `{"sites":["la","tokyo"],"certifications":[{"name":"forklift-license","expires":"`+day+`"}]}`)
	createGroup(t, h, "Forklift", uid)
	kLA, kTokyo := h.EnrollKiosk(t, "la-1", "la"), h.EnrollKiosk(t, "tokyo-1", "tokyo")
	kLA.Dial("")
	kTokyo.Dial("")
	badge := registerBadge(t, h, kLA, "kim")

	moveTo(clock, tokyoEnd.Add(-time.Hour))
	g := grant(t, first(tap(t, kTokyo, badge)))
	if !g.ExpiresAt.Equal(tokyoEnd) {
		t.Errorf("Tokyo, an hour before the license's last day ends: expires %s, want %s: 24:00 in Tokyo", g.ExpiresAt, tokyoEnd)
	}
	signOut(t, kTokyo, g)

	moveTo(clock, tokyoEnd)
	if got := refusal(t, first(tap(t, kTokyo, badge))); got != wire.RefusedNotAllowedHere {
		t.Errorf("Tokyo, at 24:00 of the license's last day there: refused %q, want %q", got, wire.RefusedNotAllowedHere)
	}
	signOut(t, kLA, grant(t, first(tap(t, kLA, badge)))) // Los Angeles: the same instant is the morning of the last day

	moveTo(clock, laEnd.Add(-time.Hour))
	g = grant(t, first(tap(t, kLA, badge)))
	if !g.ExpiresAt.Equal(laEnd) {
		t.Errorf("Los Angeles, an hour before the license's last day ends: expires %s, want %s: 24:00 in Los Angeles", g.ExpiresAt, laEnd)
	}
	signOut(t, kLA, g)

	moveTo(clock, laEnd)
	if got := refusal(t, first(tap(t, kLA, badge))); got != wire.RefusedNotAllowedHere {
		t.Errorf("Los Angeles, at 24:00 of the license's last day there: refused %q, want %q", got, wire.RefusedNotAllowedHere)
	}
}

// TestCertificationDayPatchShortensSessionsPerSite: a license expiry sent
// as a bare date to a driver signed in at a Tokyo and a Berlin kiosk
// shortens each session to 24:00 of that day at its own site.
func TestCertificationDayPatchShortensSessionsPerSite(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	requireForklift(t, h)
	tokyo := registerSite(t, h, "tokyo", "Asia/Tokyo")
	berlin := registerSite(t, h, "berlin", "Europe/Berlin")
	day, endIn := dayAfter(now, 1)
	uid := createUser(t, h, "ida", `{"sites":["tokyo","berlin"],"certifications":[{"name":"forklift-license"}]}`)
	createGroup(t, h, "Forklift", uid)
	kTokyo, kBerlin := h.EnrollKiosk(t, "tokyo-1", "tokyo"), h.EnrollKiosk(t, "berlin-1", "berlin")
	kTokyo.Dial("")
	kBerlin.Dial("")
	badge := registerBadge(t, h, kTokyo, "ida")
	moveTo(clock, endIn(tokyo).Add(-2*time.Hour)) // 22:00 in Tokyo, the afternoon in Berlin
	gT, gB := grant(t, first(tap(t, kTokyo, badge))), grant(t, first(tap(t, kBerlin, badge)))
	if !gT.ExpiresAt.After(endIn(berlin)) || !gB.ExpiresAt.After(endIn(berlin)) {
		t.Fatalf("sessions expire %s and %s, want both after the day is over in Berlin (%s)", gT.ExpiresAt, gB.ExpiresAt, endIn(berlin))
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+
		frontline+`:certifications[name eq \"forklift-license\"].expires","value":"`+day+`"}]}`), 200)
	expectExtend(t, kTokyo, gT.SessionID, endIn(tokyo), wire.ReasonExpired)
	expectExtend(t, kBerlin, gB.SessionID, endIn(berlin), wire.ReasonExpired)
}

// TestSiteZoneRedecidesCertificationDay: a session at a site the hub had
// no zone for (UTC) runs to the end of the license's last day in UTC;
// registering the site in Tokyo shortens it to 24:00 of that day in
// Tokyo, nine hours earlier.
func TestSiteZoneRedecidesCertificationDay(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	requireForklift(t, h)
	day, endIn := dayAfter(now, 1)
	uid := createUser(t, h, "rio", `{"sites":["osaka"],"certifications":[{"name":"forklift-license","expires":"`+day+`"}]}`)
	createGroup(t, h, "Forklift", uid)
	k := h.EnrollKiosk(t, "osaka-1", "osaka")
	k.Dial("")
	badge := registerBadge(t, h, k, "rio")
	moveTo(clock, endIn(time.UTC).Add(-12*time.Hour)) // noon UTC, 21:00 in Tokyo
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(endIn(time.UTC)) {
		t.Fatalf("session expires %s, want %s: 24:00 UTC, the site having no zone", g.ExpiresAt, endIn(time.UTC))
	}
	tokyo := registerSite(t, h, "osaka", "Asia/Tokyo")
	expectExtend(t, k, g.SessionID, endIn(tokyo), wire.ReasonExpired)
}

// TestCertificationDayToInstantRedecides: a license expiry changed from a
// bare date to the instant that is 24:00 of the day in UTC (the instant
// stored for the day) is a change: a Los Angeles session that ran to
// 24:00 there is shortened to it.
func TestCertificationDayToInstantRedecides(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	requireForklift(t, h)
	la := registerSite(t, h, "la", "America/Los_Angeles")
	day, endIn := dayAfter(now, 1)
	uid := createUser(t, h, "lou", `{"sites":["la"],"certifications":[{"name":"forklift-license","expires":"`+day+`"}]}`)
	createGroup(t, h, "Forklift", uid)
	k := h.EnrollKiosk(t, "la-1", "la")
	k.Dial("")
	badge := registerBadge(t, h, k, "lou")
	moveTo(clock, endIn(time.UTC).Add(-time.Hour)) // 23:00 UTC, the afternoon in Los Angeles
	g := grant(t, first(tap(t, k, badge)))
	if !g.ExpiresAt.Equal(endIn(la)) {
		t.Fatalf("session expires %s, want %s: 24:00 in Los Angeles", g.ExpiresAt, endIn(la))
	}
	instant := endIn(time.UTC).Format(time.RFC3339)
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"`+
		frontline+`:certifications[name eq \"forklift-license\"].expires","value":"`+instant+`"}]}`), 200)
	expectExtend(t, k, g.SessionID, endIn(time.UTC), wire.ReasonExpired)
}
