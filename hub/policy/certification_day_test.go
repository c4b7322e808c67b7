package policy

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones load on hosts without a zoneinfo database

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDecideCertificationDayAtTheKiosksSite: a pharmacist of a Los
// Angeles and a Tokyo site whose license expiry came as a calendar day,
// seen at each kiosk's site (store.User.InZone, as the hub passes it),
// holds the license until 24:00 of that day there: the session is capped
// then (certification_end), and from then the role is withheld, the
// detail naming the day and the site. An expiry sent as an instant is
// the same at both.
func TestDecideCertificationDayAtTheKiosksSite(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]*time.Location{"LA": la, "Tokyo": tokyo}
	day := func(d int, loc *time.Location) time.Time { return time.Date(2031, 3, d, 0, 0, 0, 0, loc) }
	// As hub/scim stores "2031-03-04": the day, and 24:00 of it in UTC.
	sent := store.Certification{Name: "pharmacy-license", Expires: day(5, time.UTC), ExpiresDay: "2031-03-04"}
	instant := store.Certification{Name: "pharmacy-license", Expires: day(5, time.UTC)}
	tests := []struct {
		name     string
		cert     store.Certification
		site     string
		now      time.Time
		wantCode string // "" for allowed
		wantExp  time.Time
		wantBy   string
		detail   string
	}{
		{name: "LA kiosk, the evening of the last day: capped at 24:00 there", cert: sent, site: "LA", now: day(5, la).Add(-4 * time.Hour),
			wantExp: day(5, la), wantBy: EndsByCertification},
		{name: "LA kiosk, after 24:00 UTC: the last day is not over there", cert: sent, site: "LA", now: day(5, time.UTC).Add(time.Hour),
			wantExp: day(5, la), wantBy: EndsByCertification},
		{name: "LA kiosk, at 24:00 of the last day there", cert: sent, site: "LA", now: day(5, la),
			wantCode: wire.RefusedNotAllowedHere, detail: "expired at 2031-03-05T08:00:00Z (the day 2031-03-04 at site LA)"},
		{name: "Tokyo kiosk, an hour before the last day ends there", cert: sent, site: "Tokyo", now: day(5, tokyo).Add(-time.Hour),
			wantExp: day(5, tokyo), wantBy: EndsByCertification},
		{name: "Tokyo kiosk, at 24:00 of the last day there", cert: sent, site: "Tokyo", now: day(5, tokyo),
			wantCode: wire.RefusedNotAllowedHere, detail: "(the day 2031-03-04 at site Tokyo)"},
		{name: "an instant is the same at every site", cert: instant, site: "LA", now: day(5, time.UTC),
			wantCode: wire.RefusedNotAllowedHere, detail: "which expired at 2031-03-05T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := store.User{ID: "u-kai", UserName: "kai", State: store.UserActive, Sites: []string{"LA", "Tokyo"},
				Certifications: []store.Certification{tc.cert}}
			dec := Decide(Input{
				User:   u.InZone(zones[tc.site]),
				Roles:  []string{"Pharmacist"},
				Device: store.Device{ID: "d-" + tc.site, Name: tc.site + "-1", Site: tc.site, State: store.DeviceActive},
				Now:    tc.now,
				Rules:  testRules(),
			})
			if u.Certifications[0] != tc.cert {
				t.Errorf("InZone changed the stored user's certification: %+v", u.Certifications[0])
			}
			if tc.wantCode != "" {
				if dec.Allow || dec.Code != tc.wantCode || !strings.Contains(dec.Detail, tc.detail) {
					t.Errorf("decision %+v; want refused %s, the detail naming %q", dec, tc.wantCode, tc.detail)
				}
				return
			}
			if !dec.Allow || !dec.ExpiresAt.Equal(tc.wantExp) || dec.EndsBy != tc.wantBy {
				t.Errorf("decision %+v; want allowed until %s (%s)", dec, tc.wantExp.UTC(), tc.wantBy)
			}
		})
	}
}
