package policy

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones load on hosts without a zoneinfo database

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDecideStartAndEndAtTheKiosksSite: a user of a Los Angeles and a
// Tokyo site whose first and last day came as calendar days, seen at each
// kiosk's site (store.User.InZone, as the hub passes it): a login is
// refused before 00:00 of the first day and from 24:00 of the last day
// there, and a session is capped at that site's 24:00. Dates sent as
// instants are the same at both.
func TestDecideStartAndEndAtTheKiosksSite(t *testing.T) {
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
	tests := []struct {
		name       string
		start, end string    // StartDay, EndDay
		endAt      time.Time // EndDate, an instant
		site       string
		now        time.Time
		wantCode   string // "" for allowed
		wantExp    time.Time
		wantBy     string
		detail     string
	}{
		{name: "Tokyo kiosk, an hour before the last day ends there", end: "2031-03-04", site: "Tokyo", now: day(5, tokyo).Add(-time.Hour),
			wantExp: day(5, tokyo), wantBy: EndsByEndDate},
		{name: "Tokyo kiosk, at 24:00 of the last day there", end: "2031-03-04", site: "Tokyo", now: day(5, tokyo),
			wantCode: wire.RefusedNotRecognised, detail: "end date 2031-03-04T15:00:00Z has passed (the day 2031-03-04 at site Tokyo)"},
		{name: "LA kiosk at the same instant: mid-afternoon of the last day", end: "2031-03-04", site: "LA", now: day(5, tokyo),
			wantExp: day(5, tokyo).Add(12 * time.Hour), wantBy: EndsByMaxSession},
		{name: "LA kiosk, the evening of the last day: capped at 24:00 there", end: "2031-03-04", site: "LA", now: day(5, la).Add(-4 * time.Hour),
			wantExp: day(5, la), wantBy: EndsByEndDate},
		{name: "LA kiosk, at 24:00 of the last day there", end: "2031-03-04", site: "LA", now: day(5, la),
			wantCode: wire.RefusedNotRecognised, detail: "(the day 2031-03-04 at site LA)"},
		{name: "Tokyo kiosk, 00:00 of the first day there", start: "2031-03-04", site: "Tokyo", now: day(4, tokyo),
			wantExp: day(4, tokyo).Add(12 * time.Hour), wantBy: EndsByMaxSession},
		{name: "LA kiosk at the same instant: the day before the first", start: "2031-03-04", site: "LA", now: day(4, tokyo),
			wantCode: wire.RefusedNotRecognised, detail: "start date 2031-03-04T08:00:00Z has not come (the day 2031-03-04 at site LA)"},
		{name: "LA kiosk, a second before the first day there", start: "2031-03-04", site: "LA", now: day(4, la).Add(-time.Second),
			wantCode: wire.RefusedNotRecognised, detail: "has not come"},
		{name: "LA kiosk, 00:00 of the first day there", start: "2031-03-04", site: "LA", now: day(4, la),
			wantExp: day(4, la).Add(12 * time.Hour), wantBy: EndsByMaxSession},
		{name: "an instant ends access at the same moment at every site", endAt: day(5, tokyo), site: "LA", now: day(5, tokyo),
			wantCode: wire.RefusedNotRecognised, detail: "end date 2031-03-04T15:00:00Z has passed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := store.User{ID: "u-kai", UserName: "kai", State: store.UserActive, Sites: []string{"LA", "Tokyo"},
				StartDay: tc.start, EndDay: tc.end, EndDate: tc.endAt}
			dec := Decide(Input{
				User:   u.InZone(zones[tc.site]),
				Roles:  []string{"Nurse"},
				Device: store.Device{ID: "d-" + tc.site, Name: tc.site + "-1", Site: tc.site, State: store.DeviceActive},
				Now:    tc.now,
				Rules:  DefaultRules(),
			})
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
