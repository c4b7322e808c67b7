package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
)

// TestParseTimeDaylightSaving: a local time typed for a site (a grant's or
// a shift extension's end) that the site's clocks skip or pass twice is
// refused, saying to give the offset, rather than read as some hour the
// supervisor did not mean (an hour of access more, or less). The same
// times with an offset, and local times on either side, are read as
// typed.
func TestParseTimeDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 20, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in      string
		want    time.Time
		problem string // in the error; "" when the time is read
	}{
		{"2026-03-29T02:30", time.Time{}, "does not exist"},
		{"2026-03-29T02:00:00", time.Time{}, "does not exist"},
		{"2026-10-25T02:30", time.Time{}, "happens twice"},
		{"2026-03-29T01:59", time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), ""},
		{"2026-03-29T03:00", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), ""},
		{"2026-10-25T01:59", time.Date(2026, 10, 24, 23, 59, 0, 0, time.UTC), ""},
		{"2026-10-25T03:00", time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC), ""},
		{"2026-10-25T02:30:00+02:00", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), ""},
		{"2026-10-25T02:30:00+01:00", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), ""},
		{"2026-10-25", time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC), ""},
	} {
		got, err := console.ParseTime(tc.in, now, berlin)
		switch {
		case tc.problem == "" && (err != nil || !got.Equal(tc.want)):
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem) || !strings.Contains(err.Error(), "offset")):
			t.Errorf("ParseTime(%q) = %v, %v; want an error saying it %s and to give the offset", tc.in, got, err, tc.problem)
		}
	}
}
