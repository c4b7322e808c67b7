package shift

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestParseCSVPartial: with problems on some lines, ParseCSVPartial
// returns the problems and, for the caller's further checks, the users of
// the lines that parsed, including a user none of whose lines parsed (with
// those lines, so that their name is checked) and one named only on a line
// with the wrong number of fields; each user's lines that failed are its
// Failed; ParseCSV returns nothing.
func TestParseCSVPartial(t *testing.T) {
	in := "userName,start,end\n" +
		"ana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\n" + // 2
		"ben,tomorrow,2026-12-01T14:00:00Z\n" + // 3 bad
		"ben,2026-12-02T06:00:00Z,2026-12-02T14:00:00Z\n" + // 4
		"ghost,2026-12-01T14:00:00Z,2026-12-01T06:00:00Z\n" + // 5 bad
		"ghost,2026-12-03 06:00,yesterday\n" + // 6 bad, kept for a zone
		"cleo,2026-12-01 06:00,2026-12-01 14:00\n" + // 7 local: the user's zone
		"dan,,\n" + // 8 clears
		",2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\n" + // 9 no name
		"ana,2026-12-04T06:00:00Z\n" + // 10 too few fields
		"zed,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z,x\n" + // 11 too many fields
		"dan,2026-12-05T06:00:00Z,2026-12-05T14:00:00Z\n" // 12 after dan's clearing line
	got, err := ParseCSVPartial(strings.NewReader(in), ImportOptions{SiteZones: true})
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("ParseCSVPartial error = %v, want an *ImportError", err)
	}
	var lines []int
	for _, p := range ie.Problems {
		lines = append(lines, p.Line)
	}
	if d := cmp.Diff([]int{3, 5, 6, 9, 10, 11, 12}, lines); d != "" {
		t.Errorf("problem lines (-want +got)\n%s\n%v", d, err)
	}
	want := Import{Rows: 11, Users: []UserShifts{
		{UserName: "ana", Shifts: []store.Shift{sh("2026-12-01T06:00:00Z", "2026-12-01T14:00:00Z")}, Lines: []int{2}, Failed: []int{10}},
		{UserName: "ben", Shifts: []store.Shift{sh("2026-12-02T06:00:00Z", "2026-12-02T14:00:00Z")}, Lines: []int{4}, Failed: []int{3}},
		{UserName: "ghost", Shifts: []store.Shift{}, Lines: []int{5, 6}},
		{UserName: "cleo", Local: []LocalRow{{Line: 7, Start: "2026-12-01 06:00", End: "2026-12-01 14:00"}}},
		{UserName: "dan", Shifts: []store.Shift{}, Lines: []int{8}, Failed: []int{12}},
		{UserName: "zed", Shifts: []store.Shift{}, Lines: []int{11}},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("partial import (-want +got)\n%s", d)
	}

	whole, err := ParseCSV(strings.NewReader(in), ImportOptions{SiteZones: true})
	if !errors.As(err, &ie) || whole.Users != nil || whole.Rows != 0 {
		t.Errorf("ParseCSV = %+v, %v; want nothing and the *ImportError", whole, err)
	}

	// A problem with the header leaves nothing to check.
	got, err = ParseCSVPartial(strings.NewReader("user,start,end\nana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\n"), ImportOptions{})
	if !errors.As(err, &ie) || len(got.Users) != 0 {
		t.Errorf("bad header: %+v, %v; want no users and the *ImportError", got, err)
	}
}

// TestImportErrorCounts: past MaxProblems the problems are counted, not
// dropped silently: the error says how many there are and how many are
// not listed; joined errors list the lowest lines first.
func TestImportErrorCounts(t *testing.T) {
	var b strings.Builder
	b.WriteString("userName,start,end\n")
	const bad = MaxProblems + 30
	for i := range bad {
		fmt.Fprintf(&b, "u%d,never,2026-12-01T14:00:00Z\n", i)
	}
	_, err := ParseCSV(strings.NewReader(b.String()), ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != MaxProblems || ie.More != 30 || !ie.Truncated {
		t.Fatalf("ParseCSV = %v; want %d problems listed and 30 more", err, MaxProblems)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, fmt.Sprintf("%d problem(s); nothing was imported", bad)) || !strings.HasSuffix(msg, "… and 30 more not listed: fix these first") {
		t.Errorf("error text:\n%s", msg)
	}

	other := NewImportError([]LineError{{Line: 500, Msg: "late"}, {Line: 1, Msg: "early"}}).(*ImportError)
	j := JoinImportErrors(ie, nil, other)
	if len(j.Problems) != MaxProblems || j.More != 32 || !j.Truncated {
		t.Fatalf("joined: %d listed, %d more; want %d and 32", len(j.Problems), j.More, MaxProblems)
	}
	if j.Problems[0].Msg != "early" || j.Problems[1].Line != 2 {
		t.Errorf("joined problems not in line order: %v, %v", j.Problems[0], j.Problems[1])
	}
	if JoinImportErrors(nil, nil) != nil {
		t.Error("JoinImportErrors of no problems is not nil")
	}
	if NewImportError(nil) != nil {
		t.Error("NewImportError(nil) is not a nil error")
	}
}

func TestDiff(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	a := sh("2026-12-01T06:00:00Z", "2026-12-01T14:00:00Z")
	b := sh("2026-12-02T06:00:00Z", "2026-12-02T14:00:00Z")
	c := sh("2026-12-03T06:00:00Z", "2026-12-03T14:00:00Z")
	later := sh("2026-12-01T06:00:00Z", "2026-12-01T15:00:00Z") // same start, other end
	tests := []struct {
		name           string
		before, after  []store.Shift
		added, removed int
	}{
		{name: "none", before: nil, after: []store.Shift{}},
		{name: "same, in another zone", before: []store.Shift{a, b}, after: []store.Shift{{Start: a.Start.In(berlin), End: a.End.In(berlin)}, b}},
		{name: "added", before: []store.Shift{a}, after: []store.Shift{a, b, c}, added: 2},
		{name: "cleared", before: []store.Shift{a, b}, after: []store.Shift{}, removed: 2},
		{name: "end moved", before: []store.Shift{a, b}, after: []store.Shift{later, b}, added: 1, removed: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			added, removed := Diff(tc.before, tc.after)
			if added != tc.added || removed != tc.removed {
				t.Errorf("Diff = %d added, %d removed; want %d, %d", added, removed, tc.added, tc.removed)
			}
		})
	}
}

// FuzzParseCSVPartial: the partial import of a file with problems holds
// only named users with lines in the file, each shift valid on its own,
// and can be resolved; its problems are ParseCSV's.
func FuzzParseCSVPartial(f *testing.F) {
	f.Add("userName,start,end\nana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\nben,x,y\n")
	f.Add("userName,start,end,zone\nben,2026-10-25 02:30,2026-10-25 08:00,Europe/Berlin\nben,,,\ncleo,2026-12-01 06:00,x,\n")
	f.Add("userName,start,end\nana,\"2026-12-01T06:00:00Z,x\nben,,\n")
	f.Add("userName,start,end\nana,2026-12-01 06:00,2026-12-01 14:00\nana,2026-12-01 10:00,2026-12-01 18:00\nana,,\n")
	f.Fuzz(func(t *testing.T, in string) {
		opts := ImportOptions{SiteZones: true}
		got, err := ParseCSVPartial(strings.NewReader(in), opts)
		_, whole := ParseCSV(strings.NewReader(in), opts)
		if (err == nil) != (whole == nil) || err != nil && err.Error() != whole.Error() {
			t.Fatalf("ParseCSVPartial error %v, ParseCSV error %v", err, whole)
		}
		lines := inputLines(in)
		for _, u := range got.Users {
			if u.UserName == "" || len(u.Lines) == 0 && len(u.Local) == 0 {
				t.Fatalf("user %+v without name or lines", u)
			}
			if len(u.Shifts) > 0 && len(u.Lines) != len(u.Shifts) {
				t.Fatalf("user %s: %d lines for %d shifts", u.UserName, len(u.Lines), len(u.Shifts))
			}
			seen := map[int]bool{}
			for _, l := range slices.Concat(u.Lines, u.Failed) {
				if l < 2 || l > lines || seen[l] {
					t.Fatalf("user %s: line %d is not a data line of the input's %d, or is listed twice", u.UserName, l, lines)
				}
				seen[l] = true
			}
			for _, s := range u.Shifts {
				if p := check(s); p != "" {
					t.Fatalf("user %s: shift %s: %s", u.UserName, Format(s), p)
				}
			}
		}
		got.Resolve(func(UserShifts) (*time.Location, string) { return time.UTC, "" })
	})
}
