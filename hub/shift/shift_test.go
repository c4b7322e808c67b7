package shift

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func sh(start, end string) store.Shift { return store.Shift{Start: ts(start), End: ts(end)} }

func TestNormalize(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	many := make([]store.Shift, MaxShifts+1)
	for i := range many {
		s := ts("2026-01-01T06:00:00Z").Add(time.Duration(i) * 24 * time.Hour)
		many[i] = store.Shift{Start: s, End: s.Add(8 * time.Hour)}
	}
	tests := []struct {
		name string
		in   []store.Shift
		want []store.Shift
		err  string // substring; "" for success
	}{
		{name: "none", in: nil, want: []store.Shift{}},
		{name: "sorted and in UTC",
			in:   []store.Shift{sh("2026-12-02T06:00:00Z", "2026-12-02T14:00:00Z"), {Start: ts("2026-12-01T07:00:00Z").In(berlin), End: ts("2026-12-01T15:00:00Z").In(berlin)}},
			want: []store.Shift{sh("2026-12-01T07:00:00Z", "2026-12-01T15:00:00Z"), sh("2026-12-02T06:00:00Z", "2026-12-02T14:00:00Z")}},
		{name: "back to back may touch",
			in:   []store.Shift{sh("2026-12-01T14:00:00Z", "2026-12-01T22:00:00Z"), sh("2026-12-01T06:00:00Z", "2026-12-01T14:00:00Z")},
			want: []store.Shift{sh("2026-12-01T06:00:00Z", "2026-12-01T14:00:00Z"), sh("2026-12-01T14:00:00Z", "2026-12-01T22:00:00Z")}},
		{name: "exactly the maximum length", in: []store.Shift{sh("2026-12-01T06:00:00Z", "2026-12-02T06:00:00Z")}, want: []store.Shift{sh("2026-12-01T06:00:00Z", "2026-12-02T06:00:00Z")}},
		{name: "end before start", in: []store.Shift{sh("2026-12-01T14:00:00Z", "2026-12-01T06:00:00Z")}, err: "shift 1 (2026-12-01T14:00:00Z–2026-12-01T06:00:00Z): ends before it starts"},
		{name: "empty shift", in: []store.Shift{sh("2026-12-01T14:00:00Z", "2026-12-01T14:00:00Z")}, err: "the end must be later"},
		{name: "no end", in: []store.Shift{{Start: ts("2026-12-01T14:00:00Z")}}, err: "needs a start and an end"},
		{name: "too long", in: []store.Shift{sh("2026-12-01T06:00:00Z", "2026-12-02T06:00:01Z")}, err: "split it into back-to-back shifts"},
		{name: "far future", in: []store.Shift{sh("2200-01-01T06:00:00Z", "2200-01-01T08:00:00Z")}, err: "between the years 2000 and 2199"},
		{name: "overlap", in: []store.Shift{sh("2026-12-01T06:00:00Z", "2026-12-01T14:00:00Z"), sh("2026-12-01T13:00:00Z", "2026-12-01T20:00:00Z")}, err: "overlap"},
		{name: "too many", in: many, err: "501 shifts: at most 500"},
		{name: "several problems at once", in: []store.Shift{sh("2026-12-01T14:00:00Z", "2026-12-01T06:00:00Z"), {}}, err: "shift 2 (?–?): needs a start"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if tc.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want ErrInvalid containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			for _, s := range got {
				if s.Start.Location() != time.UTC || s.End.Location() != time.UTC {
					t.Errorf("%v not in UTC", s)
				}
			}
		})
	}
}

func TestParseCSV(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	in := "\ufeffUserName, start ,END,zone\n" +
		"# a comment\n" +
		"ana,2026-12-01T06:00:00+01:00,2026-12-01T14:00:00+01:00,\n" +
		"ben,2026-12-01 22:00,2026-12-02 06:00,America/Chicago\n" +
		"ANA,2026-11-30 06:00,2026-11-30T14:00,\n" +
		"cleo,,,\n" +
		"dan,\"2026-12-01T06:00:00Z\",2026-12-01T08:00:00Z,\n" +
		"eve,2026-12-01 06:00:00.25,2026-12-01T08:00:00.5,\n" // fractions of a second are kept
	got, err := ParseCSV(strings.NewReader(in), ImportOptions{Zone: berlin})
	if err != nil {
		t.Fatal(err)
	}
	want := Import{Rows: 6, Users: []UserShifts{
		{UserName: "ana", Shifts: []store.Shift{sh("2026-11-30T05:00:00Z", "2026-11-30T13:00:00Z"), sh("2026-12-01T05:00:00Z", "2026-12-01T13:00:00Z")}, Lines: []int{5, 3}},
		{UserName: "ben", Shifts: []store.Shift{sh("2026-12-02T04:00:00Z", "2026-12-02T12:00:00Z")}, Lines: []int{4}},
		{UserName: "cleo", Shifts: []store.Shift{}, Lines: []int{6}},
		{UserName: "dan", Shifts: []store.Shift{sh("2026-12-01T06:00:00Z", "2026-12-01T08:00:00Z")}, Lines: []int{7}},
		{UserName: "eve", Shifts: []store.Shift{sh("2026-12-01T05:00:00.25Z", "2026-12-01T07:00:00.5Z")}, Lines: []int{8}},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestParseCSVErrors(t *testing.T) {
	const head = "userName,start,end\n"
	tests := []struct {
		name string
		in   string
		zone bool
		want []string // every line of the error after the first
	}{
		{name: "empty", in: "", want: []string{"the file is empty"}},
		{name: "header only", in: head, want: []string{"no shift lines after the header"}},
		{name: "no header", in: "ana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\n", want: []string{
			`line 1: unknown column "ana"`, `line 1: unknown column "2026-12-01T06:00:00Z"`, `line 1: unknown column "2026-12-01T14:00:00Z"`}},
		{name: "missing column", in: "userName,start\nana,2026-12-01T06:00:00Z\n", want: []string{"line 1: the header lacks the end column"}},
		{name: "duplicate column", in: "userName,start,end,Start\n", want: []string{`line 1: column "Start" appears twice`}},
		{name: "line problems are all listed with their line", in: head +
			"ana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\n" + // 2 fine
			",2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\n" + // 3
			"ben,tomorrow,2026-12-01T14:00:00Z\n" + // 4
			"ben,2026-12-01 06:00,2026-12-01T14:00:00Z\n" + // 5 local time without a zone
			"cleo,2026-12-01T14:00:00Z,2026-12-01T06:00:00Z\n" + // 6
			"dan,2026-12-01T06:00:00Z\n" + // 7
			"ana,2026-12-01T13:00:00Z,2026-12-01T20:00:00Z\n" + // 8 overlaps line 2
			"eve,2026-12-01T06:00:00Z,2026-12-03T06:00:00Z\n" + // 9 too long
			"fay,,\n" + // 10 clears
			"fay,2026-12-01T06:00:00Z,2026-12-01T08:00:00Z\n" + // 11
			"gus,\"2026-12-01T06:00:00Z,2026-12-01T08:00:00Z\n", // 12 unterminated quote
			want: []string{
				"line 3: userName is empty",
				`line 4: start: "tomorrow" is not a time`,
				`line 5: start: "2026-12-01 06:00" has no UTC offset: write it as RFC 3339 (e.g. 2026-12-01T06:00:00+01:00), add a zone column, or pass a default zone (--zone Europe/Berlin)`,
				"line 6: the shift 2026-12-01T14:00:00Z–2026-12-01T06:00:00Z ends before it starts",
				"line 7: 2 fields, the header has 3: every line needs userName,start,end",
				"line 9: the shift 2026-12-01T06:00:00Z–2026-12-03T06:00:00Z lasts 48h0m0s",
				"line 11: line 10 clears fay's shifts",
				"line 12: a quote is misplaced",
				"line 8: ana's shift 2026-12-01T13:00:00Z–2026-12-01T20:00:00Z overlaps the shift on line 2",
			}},
		{name: "semicolons", in: "userName;start;end\nana;2026-12-01T06:00:00Z;2026-12-01T14:00:00Z\n", want: []string{
			`line 1: unknown column "userName;start;end": the columns are userName, start, end and optionally zone separated by commas`}},
		{name: "header after comments", in: "# WFM export, week 49\n\nuserName,start,end,extra\n", want: []string{`line 3: unknown column "extra"`}},
		{name: "a quote left open names the line it opens on", in: head +
			"ana,\"2026-12-01T06:00:00Z,2026-12-01T08:00:00Z\n" +
			"ben,2026-12-01T06:00:00Z,2026-12-01T08:00:00Z\n" +
			"cleo,2026-12-01T06:00:00Z,2026-12-01T08:00:00Z\n",
			want: []string{"line 2: a quote opened on this line is not closed on it, so lines 2 to 4 were read as one line"}},
		{name: "night shift with the start's date on its end", zone: true, in: head + "ana,2026-12-01 22:00,2026-12-01 06:00\n",
			want: []string{"line 2: the shift 2026-12-01T21:00:00Z–2026-12-01T05:00:00Z ends before it starts, or when it starts: the end must be later; a night shift ends on the next day: give its end with that day's date"}},
		{name: "zones", zone: true, in: "userName,start,end,zone\n" +
			"ana,2026-03-29 02:30,2026-03-29 08:00,\n" + // Berlin skips 02:00–03:00
			"ben,2026-10-25 02:30,2026-10-25 08:00,\n" + // and repeats 02:00–03:00
			"cleo,2026-10-25 06:00,2026-10-25 08:00,Mars/Olympus\n",
			want: []string{
				`line 2: start: "2026-03-29 02:30" does not exist in Europe/Berlin (the clocks skip it)`,
				`line 3: start: "2026-10-25 02:30" happens twice in Europe/Berlin (the clocks go back): give the time with its UTC offset, e.g. 2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00`,
				`line 4: zone "Mars/Olympus" is not an IANA time zone name`,
			}},
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := ImportOptions{}
			if tc.zone {
				opts.Zone = berlin
			}
			got, err := ParseCSV(strings.NewReader(tc.in), opts)
			var ie *ImportError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseCSV = %+v, %v; want an *ImportError", got, err)
			}
			lines := strings.Split(err.Error(), "\n")[1:]
			if len(lines) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%s", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i+1, strings.TrimSpace(lines[i]), w)
				}
			}
		})
	}
}

func TestParseCSVLimits(t *testing.T) {
	big := strings.Repeat("x", MaxImportBytes+1)
	if _, err := ParseCSV(strings.NewReader(big), ImportOptions{}); err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Errorf("oversized file: %v", err)
	}
	var b strings.Builder
	b.WriteString("userName,start,end\n")
	for i := range MaxImportRows + 1 {
		s := ts("2026-01-01T00:00:00Z").Add(time.Duration(i) * time.Hour)
		b.WriteString("u" + string(rune('a'+i%26)) + "," + s.Format(time.RFC3339) + "," + s.Add(time.Hour).Format(time.RFC3339) + "\n")
	}
	_, err := ParseCSV(strings.NewReader(b.String()), ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "more than 100000 shift lines") {
		t.Errorf("too many rows: %v", err)
	}
	// 3847 shifts each for 26 users: over the per-user cap too.
	if !strings.Contains(err.Error(), "at most 500 per user") {
		t.Errorf("per-user cap not reported: %v", err)
	}
}

// FuzzParseCSV: no input panics, a success is always valid shifts, and a
// failure always says where.
func FuzzParseCSV(f *testing.F) {
	f.Add("userName,start,end\nana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\n", "")
	f.Add("userName,start,end,zone\nben,2026-10-25 02:30,2026-10-25 08:00,Europe/Berlin\n", "UTC")
	f.Add("start,userName,end\n\"a\"\"b\",x,y\ncleo,,\n", "America/Chicago")
	f.Add("userName,start,end\nana,2026-12-01 06:00,2026-12-01 14:00\nana,2026-12-01 10:00,2026-12-01 18:00\n", "Asia/Kolkata")
	f.Add("# export\r\n\r\nuserName,END,start\r\nana,2026-12-02 06:00:00.5,\"2026-12-01 22:00\"\r\n", "Europe/London")
	f.Add("userName,start,end\nana,\"2026-12-01T06:00:00Z,x\nben,,\n", "")
	f.Add("userName,start,end\rana,2026-12-01 06:00,2026-12-01 14:00\r", "Europe/Paris")
	f.Fuzz(func(t *testing.T, in, zone string) {
		var opts ImportOptions
		if zone != "" {
			if loc, err := time.LoadLocation(zone); err == nil {
				opts.Zone = loc
			}
		}
		got, err := ParseCSV(strings.NewReader(in), opts)
		lines := inputLines(in)
		if err != nil {
			var ie *ImportError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 || len(ie.Problems) > MaxProblems {
				t.Fatalf("error %v is not an *ImportError with 1 to %d problems", err, MaxProblems)
			}
			for _, p := range ie.Problems {
				if p.Line < 0 || p.Line > lines || p.Msg == "" {
					t.Fatalf("problem %q is not on one of the input's %d lines", p, lines)
				}
			}
			return
		}
		for _, u := range got.Users {
			if u.UserName == "" || len(u.Lines) == 0 {
				t.Fatalf("user %+v without name or lines", u)
			}
			if len(u.Shifts) > 0 && len(u.Lines) != len(u.Shifts) {
				t.Fatalf("user %s: %d lines for %d shifts", u.UserName, len(u.Lines), len(u.Shifts))
			}
			for _, l := range u.Lines {
				if l < 2 || l > lines {
					t.Fatalf("user %s: line %d is not a data line of the input's %d", u.UserName, l, lines)
				}
			}
			norm, err := Normalize(u.Shifts)
			if err != nil {
				t.Fatalf("imported shifts of %s are invalid: %v", u.UserName, err)
			}
			if !Equal(norm, u.Shifts) {
				t.Fatalf("imported shifts of %s are not normalized: %v", u.UserName, u.Shifts)
			}
		}
		// The same file with the local rows kept for the user's zone
		// (the hub's import) and placed by Resolve: a zone per user (some
		// in another zone than the default, some refused), the same
		// guarantees.
		opts.SiteZones = true
		kept, err := ParseCSV(strings.NewReader(in), opts)
		if err != nil {
			t.Fatalf("parsed without SiteZones but not with them: %v", err)
		}
		chicago, _ := time.LoadLocation("America/Chicago")
		placed, problems := kept.Resolve(func(u UserShifts) (*time.Location, string) {
			switch len(u.UserName) % 3 {
			case 0:
				return chicago, ""
			case 1:
				return kept.Zone, ""
			}
			return nil, u.UserName + " works in several zones"
		})
		for _, p := range problems {
			if p.Line < 2 || p.Line > lines || p.Msg == "" {
				t.Fatalf("resolve problem %q is not on a data line of the input's %d", p, lines)
			}
		}
		if len(problems) > 0 {
			return
		}
		for _, u := range placed.Users {
			if len(u.Local) != 0 {
				t.Fatalf("user %s still has local rows after Resolve", u.UserName)
			}
			if len(u.Shifts) > 0 && len(u.Lines) != len(u.Shifts) {
				t.Fatalf("user %s: %d lines for %d shifts after Resolve", u.UserName, len(u.Lines), len(u.Shifts))
			}
			norm, err := Normalize(u.Shifts)
			if err != nil || !Equal(norm, u.Shifts) {
				t.Fatalf("resolved shifts of %s are invalid or not normalized: %v (%v)", u.UserName, u.Shifts, err)
			}
		}
	})
}
