package store

import (
	"testing"
	"time"
)

// dayZones are zones whose days are not plain: clocks that skip or
// repeat midnight (Santiago, Havana, Asuncion), a day skipped whole
// (Apia, 2011-12-30), half-hour DST (Lord Howe), UTC+14 (Kiritimati),
// and the zones of the tests. nil is UTC.
var dayZones = []string{"", "UTC", "America/Los_Angeles", "Asia/Tokyo", "America/Santiago", "America/Havana",
	"America/Asuncion", "Pacific/Apia", "Australia/Lord_Howe", "Pacific/Kiritimati", "America/St_Johns", "Asia/Kathmandu"}

// FuzzDayBounds: dayStartIn and dayEndIn, which turn the endDate,
// startDate and certification expiry days an identity provider sends into
// instants at a site, read exactly the DayLayout dates (ValidDay), and
// what they return bounds the day in the zone: the instant before the
// start is on an earlier day and the start is on the day or later; the
// instant before the end is on the day or earlier and the end is later.
func FuzzDayBounds(f *testing.F) {
	for i, d := range []string{"2026-12-01", "2026-12-31", "2026-03-08", "2026-11-01", "2011-12-30", "2011-12-29",
		"2026-09-06", "2026-04-05", "0000-01-01", "9999-12-31", "2026-02-30", "2026-12-1", "2026-12-01T00:00:00Z", ""} {
		f.Add(d, uint8(i))
	}
	locs := make([]*time.Location, len(dayZones))
	for i, name := range dayZones {
		if name == "" {
			continue
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			f.Fatal(err)
		}
		locs[i] = loc
	}
	f.Fuzz(func(t *testing.T, day string, zone uint8) {
		loc := locs[int(zone)%len(locs)]
		start, okStart := dayStartIn(day, loc)
		end, okEnd := dayEndIn(day, loc)
		if okStart != ValidDay(day) || okEnd != ValidDay(day) {
			t.Fatalf("dayStartIn, dayEndIn(%q) ok = %v, %v; ValidDay = %v", day, okStart, okEnd, ValidDay(day))
		}
		if !okStart {
			return
		}
		if start.Location() != time.UTC || end.Location() != time.UTC {
			t.Fatalf("bounds of %q in %v, %v; want UTC", day, start.Location(), end.Location())
		}
		in := loc
		if in == nil {
			in = time.UTC
		}
		want, _ := time.Parse(DayLayout, day)
		cmpDay := func(at time.Time) int { // the date of at in loc against day
			y, m, d := at.In(in).Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Compare(want)
		}
		if cmpDay(start.Add(-time.Nanosecond)) >= 0 || cmpDay(start) < 0 {
			t.Fatalf("dayStartIn(%q, %v) = %v: not the day's first instant", day, in, start)
		}
		if cmpDay(end.Add(-time.Nanosecond)) > 0 || cmpDay(end) <= 0 {
			t.Fatalf("dayEndIn(%q, %v) = %v: not right after the day's last instant", day, in, end)
		}
		// A day skipped whole has no instants: it starts and ends at once.
		if end.Before(start) || end.Sub(start) > 26*time.Hour {
			t.Fatalf("day %q in %v runs from %v to %v", day, in, start, end)
		}
		if loc == nil && (!start.Equal(want) || !end.Equal(want.AddDate(0, 0, 1))) {
			t.Fatalf("day %q in UTC runs from %v to %v; want 00:00 to 24:00", day, start, end)
		}
	})
}

// TestDayEndInLeapYearAfterTransitions: in a leap year past a zone's last
// listed transition (tzdata lists them to 2037, a rule covers the years
// after), time.ZoneBounds reports the period around New Year's Eve as
// ending at 00:00 UTC of 31 December, before the instant asked about
// (golang/go#81583). FuzzDayBounds found that dayEndIn stopped there: an
// endDate or certification expiry of 30 or 31 December 2040 in Los
// Angeles ended hours or a day early.
func TestDayEndInLeapYearAfterTransitions(t *testing.T) {
	la, santiago := mustZone(t, "America/Los_Angeles"), mustZone(t, "America/Santiago")
	for _, tc := range []struct {
		day  string
		loc  *time.Location
		want time.Time
	}{
		{"2040-12-30", la, time.Date(2040, 12, 31, 8, 0, 0, 0, time.UTC)},
		{"2040-12-31", la, time.Date(2041, 1, 1, 8, 0, 0, 0, time.UTC)},
		{"2080-12-30", santiago, time.Date(2080, 12, 31, 3, 0, 0, 0, time.UTC)},
		{"2039-12-31", la, time.Date(2040, 1, 1, 8, 0, 0, 0, time.UTC)}, // not a leap year: was right
	} {
		if got := (User{EndDay: tc.day}).EndIn(tc.loc); !got.Equal(tc.want) {
			t.Errorf("EndIn(%s) of %s = %v; want %v", tc.loc, tc.day, got, tc.want)
		}
		if got := (Certification{ExpiresDay: tc.day}).ExpiresIn(tc.loc); !got.Equal(tc.want) {
			t.Errorf("ExpiresIn(%s) of %s = %v; want %v", tc.loc, tc.day, got, tc.want)
		}
	}
}
