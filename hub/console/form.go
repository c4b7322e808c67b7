package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// maxField caps every form field: names, reasons and times are short.
const maxField = 500

// form parses a POST form (the body is already capped by guard) and
// returns a reader of trimmed fields.
func form(r *http.Request) (func(string) (string, error), error) {
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errTooLarge
		}
		return nil, badRequest("the form could not be read")
	}
	return func(key string) (string, error) {
		v := strings.TrimSpace(r.PostForm.Get(key))
		if len(v) > maxField || !utf8.ValidString(v) {
			return "", badRequest("the field " + key + " is too long or not text")
		}
		return v, nil
	}, nil
}

// fields reads several form fields at once.
func fields(r *http.Request, keys ...string) ([]string, error) {
	get, err := form(r)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		if out[i], err = get(k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Time inputs accepted by ParseTime.
const (
	localMinutes = "2006-01-02T15:04"
	localSeconds = "2006-01-02T15:04:05"
	dateOnly     = "2006-01-02"
	// maxAhead bounds relative times and keeps every parsed time far
	// inside what the store can hold.
	maxAhead = 366 * 24 * time.Hour
)

var errTime = errors.New("give a time like 2026-11-02T18:00 (local time of the site), an RFC 3339 time, or a duration from now like 4h or 90m")

// ParseTime reads a time typed into a console form: an RFC 3339 time; a
// browser datetime-local value (2006-01-02T15:04, optionally with seconds)
// or a date (midnight), both in loc, the site's time zone; or a duration
// from now (4h, 90m, +2h30m). Times before 2000 or after 2200 are refused,
// and so is a local time that loc's clocks skip or pass twice (a daylight
// saving change): the end of a grant or an extension must not become an
// hour the supervisor did not mean.
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return time.Time{}, errTime
	}
	if loc == nil {
		loc = time.UTC
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "+")); err == nil {
		if d <= 0 || d > maxAhead {
			return time.Time{}, errors.New("a duration must be positive and at most a year")
		}
		return now.Add(d).UTC(), nil
	}
	var (
		t     time.Time
		err   error
		local bool
	)
	for _, layout := range []string{time.RFC3339Nano, localMinutes, localSeconds, dateOnly} {
		t, err = time.Parse(layout, s) // a local time: its wall clock, as UTC
		if err == nil {
			local = layout != time.RFC3339Nano
			break
		}
	}
	if err != nil {
		return time.Time{}, errTime
	}
	if t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, errors.New("the time is out of range")
	}
	if local {
		return inZone(s, t, loc)
	}
	return t.UTC(), nil
}

// inZone places wall, a wall-clock time read as UTC, in loc. A time loc's
// clocks skip (they go forward) or show twice (they go back) is refused
// with what to type instead: time.ParseInLocation would pick one.
func inZone(s string, wall time.Time, loc *time.Location) (time.Time, error) {
	var found []time.Time
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		t := wall.Add(-time.Duration(off) * time.Second)
		if lt := t.In(loc); lt.Year() == wall.Year() && lt.YearDay() == wall.YearDay() && lt.Hour() == wall.Hour() &&
			lt.Minute() == wall.Minute() && lt.Second() == wall.Second() && !slices.ContainsFunc(found, t.Equal) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return time.Time{}, fmt.Errorf("%s does not exist in %s (the clocks skip it): give a time after the change, or the time with its UTC offset (like 2026-11-02T18:00:00+01:00)", s, loc)
	case 1:
		return found[0].UTC(), nil
	}
	slices.SortFunc(found, time.Time.Compare)
	return time.Time{}, fmt.Errorf("%s happens twice in %s (the clocks go back): give the time with its UTC offset, %s or %s", s, loc,
		found[0].In(loc).Format(time.RFC3339), found[1].In(loc).Format(time.RFC3339))
}
