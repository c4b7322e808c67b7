package shift

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestParseCSVSpreadsheetEncodings: the files spreadsheets write when
// "CSV UTF-8" is not chosen are read, or refused with what to do.
//
//   - Excel for Mac's "CSV (Macintosh)" ends its lines with a carriage
//     return alone: read line by line, not as one header line of unknown
//     columns.
//   - Excel's plain "CSV (Comma delimited)" on Windows writes the
//     computer's code page (Windows-1252: é as the byte 0xE9): a name
//     with an accent is not UTF-8 and so names no user, whose spelling
//     is right; the line says to save the file as CSV UTF-8 instead.
//   - A "Unicode text" (UTF-16) export is refused as such, not as a
//     header of unknown columns full of NUL bytes.
func TestParseCSVSpreadsheetEncodings(t *testing.T) {
	t.Run("lines ending in a carriage return alone", func(t *testing.T) {
		in := "userName,start,end\r# week 49\rana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\rben,2026-12-01T22:00:00Z,2026-12-02T06:00:00Z\r"
		got, err := ParseCSV(strings.NewReader(in), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := Import{Rows: 2, Users: []UserShifts{
			{UserName: "ana", Shifts: []store.Shift{sh("2026-12-01T06:00:00Z", "2026-12-01T14:00:00Z")}, Lines: []int{3}},
			{UserName: "ben", Shifts: []store.Shift{sh("2026-12-01T22:00:00Z", "2026-12-02T06:00:00Z")}, Lines: []int{4}},
		}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got)\n%s", d)
		}
	})

	tests := []struct {
		name string
		in   string
		want []string // every line of the error after the first
	}{
		{name: "Windows-1252", in: "userName,start,end\r\n" +
			"ana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\r\n" +
			"Jos\xe9,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\r\n" +
			"Zo\xeb,2026-12-01T06:00:00Z\r\n" +
			"ben,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z\xa0\r\n", // a no-break space
			want: []string{
				`line 3: "Jos\xe9" is not UTF-8 text: save the file as "CSV UTF-8"`,
				`line 4: "Zo\xeb" is not UTF-8 text: save the file as "CSV UTF-8"`,
				`line 5: "2026-12-01T14:00:00Z\xa0" is not UTF-8 text`,
			}},
		{name: "UTF-16 little endian", in: "\xff\xfeu\x00s\x00e\x00r\x00N\x00a\x00m\x00e\x00,\x00s\x00t\x00a\x00r\x00t\x00,\x00e\x00n\x00d\x00\r\x00\n\x00",
			want: []string{"the file is UTF-16 text"}},
		{name: "UTF-16 big endian", in: "\xfe\xff\x00u\x00s\x00e\x00r\x00N\x00a\x00m\x00e",
			want: []string{"the file is UTF-16 text"}},
	}
	// A name that is text on a line refused for its encoding is still
	// checked against the users (ParseCSVPartial); one that is not is no
	// user's, and is not reported as an unknown user too.
	imp, _ := ParseCSVPartial(strings.NewReader(tests[0].in), ImportOptions{})
	var names []string
	for _, us := range imp.Users {
		names = append(names, us.UserName)
		if us.UserName == "ben" && (len(us.Shifts) != 0 || !cmp.Equal(us.Lines, []int{5})) {
			t.Errorf("ben = %+v, want no shifts and line 5 (for the name check)", us)
		}
	}
	if d := cmp.Diff([]string{"ana", "ben"}, names); d != "" {
		t.Errorf("users of the partial import (-want +got)\n%s", d)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tc.in), ImportOptions{})
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

// inputLines is how many lines the parser reads in: lines end at line
// feeds, or, in a file without any, at carriage returns.
func inputLines(in string) int {
	if !strings.Contains(in, "\n") {
		return strings.Count(in, "\r") + 1
	}
	return strings.Count(in, "\n") + 1
}
