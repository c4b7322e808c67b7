package store

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones load on hosts without a zoneinfo database
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestUserDaysInZone: a start or end sent as a calendar day is 00:00 of
// the first day and 24:00 of the last day in the zone asked for, the
// whole day even when a DST change makes it 23 or 25 hours long; a date
// sent as an instant is the same instant in every zone.
func TestUserDaysInZone(t *testing.T) {
	la, tokyo := mustZone(t, "America/Los_Angeles"), mustZone(t, "Asia/Tokyo")
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	instant := utc("2026-12-01T17:30:00Z")
	tests := []struct {
		name             string
		u                User
		loc              *time.Location
		wantStart, wantE time.Time
	}{
		{name: "days in Los Angeles", u: User{StartDay: "2026-12-01", EndDay: "2026-12-31"}, loc: la,
			wantStart: utc("2026-12-01T08:00:00Z"), wantE: utc("2027-01-01T08:00:00Z")},
		{name: "days in Tokyo", u: User{StartDay: "2026-12-01", EndDay: "2026-12-31"}, loc: tokyo,
			wantStart: utc("2026-11-30T15:00:00Z"), wantE: utc("2026-12-31T15:00:00Z")},
		{name: "days without a zone are UTC", u: User{StartDay: "2026-12-01", EndDay: "2026-12-31"},
			wantStart: utc("2026-12-01T00:00:00Z"), wantE: utc("2027-01-01T00:00:00Z")},
		{name: "last day 23 hours long (DST starts)", u: User{EndDay: "2026-03-08"}, loc: la,
			wantE: utc("2026-03-09T07:00:00Z")},
		{name: "last day 25 hours long (DST ends)", u: User{EndDay: "2026-11-01"}, loc: la,
			wantE: utc("2026-11-02T08:00:00Z")},
		{name: "instants are kept", u: User{StartDate: instant, EndDate: instant.Add(time.Hour)}, loc: tokyo,
			wantStart: instant, wantE: instant.Add(time.Hour)},
		{name: "no dates", u: User{}, loc: la},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start, end := tc.u.StartIn(tc.loc), tc.u.EndIn(tc.loc)
			if !start.Equal(tc.wantStart) || !end.Equal(tc.wantE) {
				t.Errorf("StartIn, EndIn = %s, %s; want %s, %s", start, end, tc.wantStart, tc.wantE)
			}
			if !start.IsZero() && start.Location() != time.UTC || !end.IsZero() && end.Location() != time.UTC {
				t.Errorf("StartIn, EndIn in %v, %v; want UTC", start.Location(), end.Location())
			}
			at := tc.u.InZone(tc.loc)
			if !at.StartDate.Equal(start) || !at.EndDate.Equal(end) || at.StartDay != tc.u.StartDay || at.EndDay != tc.u.EndDay {
				t.Errorf("InZone = %s, %s (days %q, %q); want %s, %s and the days kept", at.StartDate, at.EndDate, at.StartDay, at.EndDay, start, end)
			}
		})
	}
}

func TestValidDay(t *testing.T) {
	for s, want := range map[string]bool{
		"2026-12-01": true, "0000-01-01": true, "9999-12-31": true,
		"": false, "2026-02-30": false, "2026-12-1": false, "2026-12-01T00:00:00Z": false, "01.12.2026": false,
	} {
		if got := ValidDay(s); got != want {
			t.Errorf("ValidDay(%q) = %v, want %v", s, got, want)
		}
	}
}
