package store

import "time"

// Calendar days in a time zone. A day's first instant is not always 00:00
// of it: where the clocks skip midnight (Santiago, Havana), 00:00 does not
// exist and time.Date normalises it to 23:00 of the day before; Apia
// skipped 2011-12-30 whole. These work from the zone's offset periods
// (Time.ZoneBounds) instead.

// dayStartIn returns, in UTC, the first instant whose date in loc (nil:
// UTC) is day (a DayLayout date) or later: 00:00 of day there, or,
// where the clocks skip midnight, the instant they change (for a day that
// is skipped whole, the start of the next). Where they go back over
// midnight it is the first 00:00. ok is false when day is not a date.
func dayStartIn(day string, loc *time.Location) (time.Time, bool) {
	wall, err := time.Parse(DayLayout, day)
	if err != nil {
		return time.Time{}, false
	}
	return firstAtOrAfter(wall, loc), true
}

// dayEndIn returns, in UTC, the instant right after the last one whose
// date in loc (nil: UTC) is day or earlier: 00:00 of the next day there,
// or where the clocks skip it the instant they change; where they go
// back over midnight, the last 00:00, so that day's every instant is
// before it. ok is false when day is not a date.
func dayEndIn(day string, loc *time.Location) (time.Time, bool) {
	wall, err := time.Parse(DayLayout, day)
	if err != nil {
		return time.Time{}, false
	}
	return lastUntil(wall.AddDate(0, 0, 1), loc), true
}

// zoneSearch bounds the instants whose wall clock in a zone is near a
// given one: UTC offsets are well within a day.
const zoneSearch = 48 * time.Hour

// firstAtOrAfter returns the first instant whose wall clock in loc is at
// or after wall (a wall-clock time written as UTC), in UTC.
func firstAtOrAfter(wall time.Time, loc *time.Location) time.Time {
	var best time.Time
	found := false
	eachOffset(loc, wall.Add(-zoneSearch), wall.Add(zoneSearch), func(from, to time.Time, off time.Duration) {
		// Within the period the wall clock is the instant plus off.
		t := wall.Add(-off)
		if !from.IsZero() && t.Before(from) {
			t = from
		}
		if (to.IsZero() || t.Before(to)) && (!found || t.Before(best)) {
			best, found = t, true
		}
	})
	if !found { // not reached: the last period searched reaches past wall
		return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc).UTC()
	}
	return best.UTC()
}

// lastUntil returns the instant right after the last one whose wall clock
// in loc is before wall (a wall-clock time written as UTC), in UTC.
func lastUntil(wall time.Time, loc *time.Location) time.Time {
	var best time.Time
	found := false
	eachOffset(loc, wall.Add(-zoneSearch), wall.Add(zoneSearch), func(from, to time.Time, off time.Duration) {
		t := wall.Add(-off)
		if !to.IsZero() && t.After(to) {
			t = to
		}
		if (from.IsZero() || t.After(from)) && (!found || t.After(best)) {
			best, found = t, true
		}
	})
	if !found { // not reached: the first period searched begins before wall
		return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc).UTC()
	}
	return best.UTC()
}

// eachOffset calls fn for each period of one UTC offset of loc (nil: UTC)
// that overlaps the instants [from, to), with the period's bounds (zero:
// unbounded) and offset.
func eachOffset(loc *time.Location, from, to time.Time, fn func(start, end time.Time, off time.Duration)) {
	if loc == nil {
		loc = time.UTC
	}
	for t := from; ; {
		lt := t.In(loc)
		_, off := lt.Zone()
		start, end := lt.ZoneBounds()
		if !end.IsZero() && !end.After(t) {
			// In a leap year served by the zone's TZ rule (after its
			// last listed transition), ZoneBounds ends the period at
			// 00:00 UTC of 31 December, before t (golang/go#81583): the
			// offset holds to the end of the UTC year, where ZoneBounds
			// splits periods anyway.
			end = time.Date(t.UTC().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		fn(start, end, time.Duration(off)*time.Second)
		if end.IsZero() || !end.After(t) || !end.Before(to) {
			return
		}
		t = end
	}
}
