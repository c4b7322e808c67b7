package policy

import (
	"math/rand"
	"testing"
	"time"
	_ "time/tzdata" // the zones load on hosts without a zoneinfo database

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReview3ZonesAndEdges tries to break a login decision at its
// edges: night shifts over New York's daylight saving changes, a last
// day and a certification's last day read at sites far apart in time
// (Honolulu, UTC-10, and Kiritimati, UTC+14, share a date for only four
// hours), the first and last instant of a shift, a grant and a
// certification, and roles held through groups and grants at two sites.
// Each case is what a night-shift nurse or an attacker at the kiosk would
// meet; all of them hold today, and stay here so that they keep holding.
func TestReview3ZonesAndEdges(t *testing.T) {
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ny, hnl, kir, ber, scl := zone("America/New_York"), zone("Pacific/Honolulu"), zone("Pacific/Kiritimati"), zone("Europe/Berlin"), zone("America/Santiago")
	user := func(sites ...string) store.User {
		return store.User{ID: "u-ana", UserName: "ana", State: store.UserActive, Sites: sites}
	}
	kiosk := func(site string) store.Device {
		return store.Device{ID: "d-" + site, Name: site + "-1", Site: site, State: store.DeviceActive}
	}
	nightShift := func(start, end time.Time) store.User {
		u := user("NY")
		u.Shifts = []store.Shift{{Start: start.UTC(), End: end.UTC()}}
		return u
	}
	// 22:00 EST to 07:00 EDT: eight hours. 22:00 EDT to 06:00 EST: nine.
	springStart, springEnd := time.Date(2026, 3, 7, 22, 0, 0, 0, ny), time.Date(2026, 3, 8, 7, 0, 0, 0, ny)
	fallStart, fallEnd := time.Date(2026, 10, 31, 22, 0, 0, 0, ny), time.Date(2026, 11, 1, 6, 0, 0, 0, ny)
	lastDay := func(loc *time.Location) store.User {
		u := user("HNL", "KIR")
		u.EndDay = "2026-11-30"
		u.EndDate = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // as stored before a site's zone reads it
		return u.InZone(loc)
	}
	certified := func(loc *time.Location, certs ...store.Certification) store.User {
		u := user("BER")
		u.Certifications = certs
		return u.InZone(loc)
	}
	licenceDay := store.Certification{Name: "pharmacy-license", Expires: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), ExpiresDay: "2026-11-28"}
	noon := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	jit := func(role, site string, start, end time.Time) store.Grant {
		return store.Grant{ID: "g-" + role + "-" + site, UserID: "u-ana", Role: role, Site: site, Start: start, End: end}
	}
	tests := []struct {
		name  string
		in    Input
		code  string // refused with it; "" for allowed
		role  string
		until time.Time
		by    string
	}{
		{name: "spring forward: at 01:59 EST the night shift runs to 07:00 EDT",
			in:   Input{User: nightShift(springStart, springEnd), Roles: []string{"Nurse"}, Device: kiosk("NY"), Now: time.Date(2026, 3, 8, 1, 59, 0, 0, ny)},
			role: "Nurse", until: springEnd, by: EndsByShift},
		{name: "fall back: at the second 01:30 the night shift runs to 06:00 EST",
			in:   Input{User: nightShift(fallStart, fallEnd), Roles: []string{"Nurse"}, Device: kiosk("NY"), Now: time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)},
			role: "Nurse", until: fallEnd, by: EndsByShift},
		{name: "at the shift's last instant's end",
			in:   Input{User: nightShift(fallStart, fallEnd), Roles: []string{"Nurse"}, Device: kiosk("NY"), Now: fallEnd},
			code: wire.RefusedOutsideShift},
		{name: "at the start of the grace",
			in:   Input{User: nightShift(fallStart, fallEnd), Roles: []string{"Nurse"}, Device: kiosk("NY"), Now: fallStart.Add(-DefaultShiftGrace)},
			role: "Nurse", until: fallEnd, by: EndsByShift},
		{name: "a nanosecond before the grace",
			in:   Input{User: nightShift(fallStart, fallEnd), Roles: []string{"Nurse"}, Device: kiosk("NY"), Now: fallStart.Add(-DefaultShiftGrace - 1)},
			code: wire.RefusedOutsideShift},
		{name: "Honolulu: the last day's evening, capped at 24:00 there",
			in:   Input{User: lastDay(hnl), Roles: []string{"Nurse"}, Device: kiosk("HNL"), Now: time.Date(2026, 11, 30, 20, 0, 0, 0, hnl)},
			role: "Nurse", until: time.Date(2026, 12, 1, 0, 0, 0, 0, hnl), by: EndsByEndDate},
		{name: "Kiritimati at the same instant: the last day is over there",
			in:   Input{User: lastDay(kir), Roles: []string{"Nurse"}, Device: kiosk("KIR"), Now: time.Date(2026, 11, 30, 20, 0, 0, 0, hnl)},
			code: wire.RefusedNotRecognised},
		{name: "Kiritimati, a second before 24:00 of the last day there",
			in:   Input{User: lastDay(kir), Roles: []string{"Nurse"}, Device: kiosk("KIR"), Now: time.Date(2026, 11, 30, 23, 59, 59, 0, kir)},
			role: "Nurse", until: time.Date(2026, 12, 1, 0, 0, 0, 0, kir), by: EndsByEndDate},
		{name: "a certification's last day, 23:59 in Berlin: valid to 24:00 there",
			in:   Input{User: certified(ber, licenceDay), Roles: []string{"Pharmacist"}, Device: kiosk("BER"), Now: time.Date(2026, 11, 28, 23, 59, 0, 0, ber)},
			role: "Pharmacist", until: time.Date(2026, 11, 29, 0, 0, 0, 0, ber), by: EndsByCertification},
		{name: "the day after a certification's last day, 00:00 in Berlin",
			in:   Input{User: certified(ber, licenceDay), Roles: []string{"Pharmacist"}, Device: kiosk("BER"), Now: time.Date(2026, 11, 29, 0, 0, 0, 0, ber)},
			code: wire.RefusedNotAllowedHere},
		{name: "a certification expiring at the instant of the login",
			in:   Input{User: certified(nil, store.Certification{Name: "pharmacy-license", Expires: noon}), Roles: []string{"Pharmacist"}, Device: kiosk("BER"), Now: noon},
			code: wire.RefusedNotAllowedHere},
		{name: "of two entries of one certification, the unexpired one counts",
			in: Input{User: certified(nil, store.Certification{Name: "pharmacy-license", Expires: noon.Add(-time.Hour)}, store.Certification{Name: "PHARMACY-LICENSE", Expires: noon.Add(time.Hour)}),
				Roles: []string{"Pharmacist"}, Device: kiosk("BER"), Now: noon},
			role: "Pharmacist", until: noon.Add(time.Hour), by: EndsByCertification},
		{name: "the end day where the clocks skip midnight (Santiago): ends as they change",
			in: func() Input {
				u := user("SCL")
				u.EndDay = "2026-09-05"
				return Input{User: u.InZone(scl), Roles: []string{"Nurse"}, Device: kiosk("SCL"), Now: time.Date(2026, 9, 5, 22, 0, 0, 0, scl)}
			}(),
			role: "Nurse", until: time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC), by: EndsByEndDate},
		{name: "a grant that has not started",
			in:   Input{User: user("North"), Grants: []store.Grant{jit("Nurse", "South", noon.Add(time.Nanosecond), noon.Add(time.Hour))}, Device: kiosk("South"), Now: noon},
			code: wire.RefusedNotAllowedHere},
		{name: "a grant from its first instant",
			in:   Input{User: user("North"), Grants: []store.Grant{jit("Nurse", "South", noon, noon.Add(time.Hour))}, Device: kiosk("South"), Now: noon},
			role: "Nurse", until: noon.Add(time.Hour), by: EndsByGrant},
		{name: "a grant at its end",
			in:   Input{User: user("North"), Grants: []store.Grant{jit("Nurse", "South", noon.Add(-time.Hour), noon)}, Device: kiosk("South"), Now: noon},
			code: wire.RefusedNotAllowedHere},
		{name: "a revoked grant",
			in: func() Input {
				g := jit("Nurse", "South", noon.Add(-time.Hour), noon.Add(time.Hour))
				g.Revoked = noon.Add(time.Minute) // even one recorded on a clock ahead
				return Input{User: user("North"), Grants: []store.Grant{g}, Device: kiosk("South"), Now: noon}
			}(),
			code: wire.RefusedNotAllowedHere},
		{name: "a grant at another site gives nothing here",
			in:   Input{User: user("North"), Grants: []store.Grant{jit("Nurse", "East", noon.Add(-time.Hour), noon.Add(time.Hour))}, Device: kiosk("South"), Now: noon},
			code: wire.RefusedNotAllowedHere},
		{name: "group role at North, grant at South: at South only the grant's role, to its end",
			in: Input{User: user("North"), Roles: []string{"Nurse"}, Grants: []store.Grant{jit("picker", "south", noon.Add(-time.Hour), noon.Add(time.Hour))},
				Device: kiosk("South"), Now: noon},
			role: "picker", until: noon.Add(time.Hour), by: EndsByGrant},
		{name: "group role at North, grant at South: at North only the group's role",
			in: Input{User: user("North"), Roles: []string{"Nurse"}, Grants: []store.Grant{jit("Picker", "South", noon.Add(-time.Hour), noon.Add(time.Hour))},
				Device: kiosk("North"), Now: noon},
			role: "Nurse", until: noon.Add(DefaultMaxSession), by: EndsByMaxSession},
		{name: "a group spelt in another case is the policy's role, with its demands",
			in:   Input{User: user("North"), Roles: []string{"SUPERVISOR"}, Device: kiosk("North"), Now: noon},
			code: wire.RefusedVerifyRequired},
		{name: "a privileged role by grant without verification: the group's role only",
			in: Input{User: user("North"), Roles: []string{"Nurse"}, Grants: []store.Grant{jit("Supervisor", "North", noon.Add(-time.Hour), noon.Add(time.Hour))},
				Device: kiosk("North"), Now: noon},
			role: "Nurse", until: noon.Add(DefaultMaxSession), by: EndsByMaxSession},
		{name: "a user with no role",
			in:   Input{User: user("North"), Device: kiosk("North"), Now: noon},
			code: wire.RefusedNotAllowedHere},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rules := range []Rules{testRules(), testRules().Indexed()} {
				in := tc.in
				in.Rules = rules
				d := Decide(in)
				if tc.code != "" {
					if d.Allow || d.Code != tc.code {
						t.Errorf("got %+v, want refused %s", d, tc.code)
					}
					continue
				}
				if !d.Allow || d.Role != tc.role || !d.ExpiresAt.Equal(tc.until) || d.EndsBy != tc.by {
					t.Errorf("got %+v, want %s until %s (%s)", d, tc.role, tc.until.UTC(), tc.by)
				}
			}
		})
	}
}

// TestReview3ShiftWindowAgainstBruteForce compares ShiftWindow with a
// plain reading of its contract on random schedules: a login at now is
// inside a window when now is covered by a shift or a running extension,
// or lies in the grace before one's start; the window then ends at the
// first instant from there that nothing covers and after which nothing
// starts within grace (a break no longer than the grace joins).
func TestReview3ShiftWindowAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	slot := func(n int) time.Time { return base.Add(time.Duration(n) * 10 * time.Minute) }
	for it := range 20000 {
		var shifts []store.Shift // sorted, apart or touching, as stored
		for cur, k := r.Intn(10), r.Intn(4); k > 0; k-- {
			s := cur + r.Intn(4)
			e := s + 1 + r.Intn(6)
			shifts = append(shifts, store.Shift{Start: slot(s), End: slot(e)})
			cur = e
		}
		var exts []store.ShiftExtension
		for k := r.Intn(3); k > 0; k-- {
			s := r.Intn(30)
			exts = append(exts, store.ShiftExtension{Start: slot(s), End: slot(s + r.Intn(6))})
		}
		now := slot(r.Intn(40)).Add(time.Duration(r.Intn(3)-1) * time.Nanosecond)
		grace := time.Duration(r.Intn(3)) * 10 * time.Minute

		var spans []store.Shift
		spans = append(spans, shifts...)
		for _, x := range exts {
			if x.Start.Before(x.End) && now.Before(x.End) {
				spans = append(spans, store.Shift{Start: x.Start, End: x.End})
			}
		}
		coveredUntil := func(t time.Time) (time.Time, bool) {
			end, ok := t, false
			for _, s := range spans {
				if !t.Before(s.Start) && t.Before(s.End) && s.End.After(end) {
					end, ok = s.End, true
				}
			}
			return end, ok
		}
		from, wantOK := now, false
		if _, ok := coveredUntil(now); ok {
			wantOK = true
		} else {
			for _, s := range spans {
				if !now.Before(s.Start.Add(-grace)) && now.Before(s.Start) && (!wantOK || s.Start.Before(from)) {
					from, wantOK = s.Start, true
				}
			}
		}
		// bridged is the start of a span that opens within grace after
		// t, when nothing covers t.
		bridged := func(t time.Time) (time.Time, bool) {
			for _, s := range spans {
				if !s.Start.Before(t) && !s.Start.After(t.Add(grace)) && s.Start.Before(s.End) {
					return s.Start, true
				}
			}
			return t, false
		}
		want := from
		for {
			if next, ok := coveredUntil(want); ok {
				want = next
			} else if next, ok := bridged(want); ok {
				want = next
			} else {
				break
			}
		}
		end, ok := ShiftWindow(shifts, exts, now, grace)
		if ok != wantOK || ok && !end.Equal(want) {
			t.Fatalf("case %d: shifts %v, extensions %v, now %v, grace %v: got (%v, %v), want (%v, %v)", it, shifts, exts, now, grace, end, ok, want, wantOK)
		}
	}
}
