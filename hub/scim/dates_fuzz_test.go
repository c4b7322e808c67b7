package scim

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// dateSeeds are dates and date-times from the tests and from HR systems'
// placeholders.
var dateSeeds = []string{
	"2026-12-01", "2026-12-31", "2099-06-30", "1899-12-30", "0001-01-01", "0000-01-01", "9999-12-31",
	"2026-12-01T06:00:00Z", "2026-12-31T17:00:00-08:00", "2026-12-01T00:00:00", "2026-12-01T08:00:00.123456789Z",
	"9999-12-31T23:59:59+00:00", "0000-01-01T00:00:00+01:00", "2199-12-31T23:00:00-01:00", "1900-01-01T00:30:00+01:00",
	"31.12.2026", "2026-02-30", "", " ", "2026-12-1",
}

// FuzzParseDateTime: parseDateTime, which reads the dateTime attributes
// Normalize stores and filters compare, accepts a bare date exactly when
// the mode allows one, and what it accepts is an instant writable in
// RFC 3339 in UTC that it reads back as the same instant.
func FuzzParseDateTime(f *testing.F) {
	for _, s := range dateSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, dayErr := time.Parse(time.DateOnly, s)
		isDay := dayErr == nil
		reject, rejectOK := parseDateTime(s, DateOnlyReject)
		if isDay && rejectOK {
			t.Fatalf("parseDateTime(%q, DateOnlyReject) took a bare date", s)
		}
		for _, mode := range []DateOnly{DateOnlyReject, DateOnlyStartOfDay, DateOnlyEndOfDay} {
			got, ok := parseDateTime(s, mode)
			if isDay && mode != DateOnlyReject && !ok {
				t.Fatalf("parseDateTime(%q, %d) refused a bare date", s, mode)
			}
			if rejectOK && (!ok || !got.Equal(reject)) {
				t.Fatalf("parseDateTime(%q, %d) = %v, %v; DateOnlyReject gave %v", s, mode, got, ok, reject)
			}
			if !ok {
				continue
			}
			u := got.UTC()
			if u.Year() < 0 || u.Year() > 9999 {
				t.Fatalf("parseDateTime(%q, %d) = %v: not writable in RFC 3339", s, mode, u)
			}
			text := u.Format(time.RFC3339Nano)
			back, ok := parseDateTime(text, DateOnlyReject)
			if !ok || !back.Equal(got) {
				t.Fatalf("parseDateTime(%q, %d) = %v, written %q, reads back as %v, %v", s, mode, got, text, back, ok)
			}
		}
	})
}

// FuzzUserDates: a User's startDate, endDate and certifications.expires
// go through Normalize and userFromResource as a SCIM request's do. A
// value refused is a SCIM 400 invalidValue; one Normalize accepts,
// userFromResource reads (only the order of start and end can be
// refused then); a bare date is kept as sent and stands for its day; and
// a certification expiry that is a date before farFuture always expires:
// read as "none" it would let a lapsed certification count for ever.
func FuzzUserDates(f *testing.F) {
	for i, s := range dateSeeds {
		f.Add(s, dateSeeds[(i+3)%len(dateSeeds)], dateSeeds[(i+7)%len(dateSeeds)])
	}
	users := UserResourceType()
	f.Fuzz(func(t *testing.T, start, end, expires string) {
		in := map[string]any{
			"schemas":  []any{UserURN, ShiftgateUserURN},
			"userName": "ana",
			ShiftgateUserURN: map[string]any{
				"startDate":      start,
				"endDate":        end,
				"certifications": []any{map[string]any{"name": "forklift", "expires": expires}},
			},
		}
		res, err := Normalize(users, in)
		if err != nil {
			requireInvalidValue(t, err)
			return
		}
		ext, _ := res[ShiftgateUserURN].(map[string]any)
		var u store.User
		if err := userFromResource(res, &u); err != nil {
			requireInvalidValue(t, err)
			if se := (*Error)(nil); !errors.As(err, &se) || se.Detail != "endDate must be after startDate" {
				t.Fatalf("userFromResource refused what Normalize accepted (%q, %q, %q): %v", start, end, expires, err)
			}
			return
		}
		for _, d := range []struct {
			attr, day string
			at        time.Time
			endOfDay  bool
		}{
			{"startDate", u.StartDay, u.StartDate, false},
			{"endDate", u.EndDay, u.EndDate, true},
		} {
			checkWorkDay(t, d.attr, ext[d.attr], d.day, d.at, d.endOfDay)
		}
		if len(u.Certifications) != 1 {
			t.Fatalf("certifications = %v; want the one sent", u.Certifications)
		}
		c := u.Certifications[0]
		var cv any
		if list, _ := ext["certifications"].([]any); len(list) == 1 {
			cv = list[0].(map[string]any)["expires"]
		}
		s, _ := cv.(string)
		if !c.Expires.IsZero() && c.Expires.Location() != time.UTC {
			t.Fatalf("certification expires %v; want UTC", c.Expires)
		}
		var when time.Time
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			when = d
		} else if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
			when = at.UTC()
		} else if s != "" {
			t.Fatalf("normalised expires %q is neither a date nor a date-time", s)
		}
		switch {
		case s == "":
			if !c.Expires.IsZero() || c.ExpiresDay != "" {
				t.Fatalf("no expiry read as %v, %q", c.Expires, c.ExpiresDay)
			}
		case when.Year() >= farFuture:
			if !c.Expires.IsZero() {
				t.Fatalf("expires %q past farFuture read as %v; want none", s, c.Expires)
			}
		case when.Year() < 1900:
			if !c.Expires.Equal(longExpired) || c.ExpiresDay != "" {
				t.Fatalf("expires %q before 1900 read as %v, %q; want expired", s, c.Expires, c.ExpiresDay)
			}
		default:
			if c.Expires.IsZero() {
				t.Fatalf("expires %q read as never expiring", s)
			}
			checkWorkDay(t, "certifications.expires", s, c.ExpiresDay, c.Expires, true)
		}
	})
}

// checkWorkDay checks a start, end or expiry read from the normalised
// value v: a bare date in the years kept is returned as its day, with
// 00:00 UTC of it (or of the day after, for an end); a date-time as its
// instant with no day.
func checkWorkDay(t *testing.T, attr string, v any, day string, at time.Time, endOfDay bool) {
	t.Helper()
	s, _ := v.(string)
	if !at.IsZero() && at.Location() != time.UTC {
		t.Fatalf("%s %q read as %v; want UTC", attr, s, at)
	}
	if day != "" {
		d, err := time.Parse(time.DateOnly, day)
		if err != nil || day != s {
			t.Fatalf("%s %q read as day %q", attr, s, day)
		}
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		if !at.Equal(d) {
			t.Fatalf("%s day %q read as %v; want %v", attr, day, at, d)
		}
		return
	}
	if at.IsZero() {
		return // none, or a placeholder date
	}
	want, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !at.Equal(want) {
		t.Fatalf("%s %q read as %v", attr, s, at)
	}
}

func requireInvalidValue(t *testing.T, err error) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType != "invalidValue" {
		t.Fatalf("error is not a SCIM 400 invalidValue: %v", err)
	}
}
