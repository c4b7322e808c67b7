package shift

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReview2YearsAreUTCYears: "between the years 2000 and 2199" are the
// years of the instants stored (UTC), whichever offset a time was sent
// with, and whichever way it came: Normalize (SCIM, the API) and the CSV
// import agree.
func TestReview2YearsAreUTCYears(t *testing.T) {
	rfc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name       string
		start, end string
		ok         bool
	}{
		{"starts in 1999 in UTC, 2000 at its offset", "2000-01-01T00:30:00+01:00", "2000-01-01T08:30:00+01:00", false},
		{"starts in 2000 in UTC, 1999 at its offset", "1999-12-31T23:30:00-01:00", "2000-01-01T06:00:00-01:00", true},
		{"ends in 2200 in UTC, 2199 at its offset", "2199-12-31T18:00:00-05:00", "2199-12-31T20:00:00-05:00", false},
		{"ends in 2199 in UTC, 2200 at its offset", "2200-01-01T00:00:00+02:00", "2200-01-01T01:00:00+02:00", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Normalize([]store.Shift{{Start: rfc(tc.start), End: rfc(tc.end)}})
			if (err == nil) != tc.ok {
				t.Errorf("Normalize: err = %v, want ok %v", err, tc.ok)
			}
			if err != nil && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "between the years 2000 and 2199")) {
				t.Errorf("Normalize: err = %v, want the years named", err)
			}
			_, err = ParseCSV(strings.NewReader("userName,start,end\nana,"+tc.start+","+tc.end+"\n"), ImportOptions{})
			if (err == nil) != tc.ok {
				t.Errorf("ParseCSV: err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestReview2NightShiftsOverDaylightSaving: a night shift written in wall
// time over a daylight saving change lasts what the clocks say (one hour
// less in spring, one more in autumn); its ends are placed in the zone,
// a time the clocks skip or pass twice is refused with its line, and a
// 24-hour shift in wall time on the autumn night is 25 hours: refused.
func TestReview2NightShiftsOverDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	imp, err := ParseCSV(strings.NewReader("userName,start,end,zone\n"+
		"ana,2026-03-28 22:00,2026-03-29 06:00,Europe/Berlin\n"+
		"ben,2026-10-24 22:00,2026-10-25 06:00,Europe/Berlin\n"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{7 * time.Hour, 9 * time.Hour} {
		s := imp.Users[i].Shifts[0]
		if got := s.End.Sub(s.Start); got != want {
			t.Errorf("%s: the night shift lasts %v, want %v", imp.Users[i].UserName, got, want)
		}
		if h := s.Start.In(berlin).Hour(); h != 22 {
			t.Errorf("%s: starts at %d:00 in Berlin, want 22:00", imp.Users[i].UserName, h)
		}
	}
	_, err = ParseCSV(strings.NewReader("userName,start,end,zone\n"+
		"ana,2026-10-24 08:00,2026-10-25 08:00,Europe/Berlin\n"+
		"ben,2026-03-28 22:00,2026-03-29 02:30,Europe/Berlin\n"+
		"cleo,2026-10-24 22:00,2026-10-25 02:30,Europe/Berlin\n"), ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != 3 {
		t.Fatalf("err = %v, want 3 problems", err)
	}
	for i, want := range []string{"lasts 25h0m0s, longer than 24h0m0s", "does not exist in Europe/Berlin", "happens twice in Europe/Berlin"} {
		if p := ie.Problems[i]; p.Line != i+2 || !strings.Contains(p.Msg, want) {
			t.Errorf("problem %d = %v, want line %d saying %q", i, p, i+2, want)
		}
	}
}
