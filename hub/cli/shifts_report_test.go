package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// day is a shift on 2030-12-D from 06:00 to 14:00 UTC.
func day(d int) store.Shift {
	s := time.Date(2030, 12, d, 6, 0, 0, 0, time.UTC)
	return store.Shift{Start: s, End: s.Add(8 * time.Hour)}
}

func csvShift(name string, s store.Shift) string {
	return name + "," + s.Start.Format(time.RFC3339) + "," + s.End.Format(time.RFC3339) + ",\n"
}

// seedShiftUsers creates users (ID "u-"+name) with the given shifts, ana
// at site chicago (America/Chicago).
func seedShiftUsers(t *testing.T, dir string, users map[string][]store.Shift) {
	t.Helper()
	a := lifecycle.Actor{Name: "t", System: "scim"}
	withHub(t, dir, func(_ store.Store, eng *lifecycle.Engine) {
		if _, err := eng.CreateSite(t.Context(), a, store.Site{Name: "chicago", TimeZone: "America/Chicago"}); err != nil {
			t.Fatal(err)
		}
		for name, shifts := range users {
			u := store.User{ID: "u-" + name, UserName: name, Active: true}
			if name == "ana" {
				u.Sites = []string{"chicago"}
			}
			if _, err := eng.CreateUser(t.Context(), a, u); err != nil {
				t.Fatal(err)
			}
			if len(shifts) > 0 {
				if _, err := eng.SetShifts(t.Context(), a, u.ID, shifts, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// assertUnchanged checks that the users still have their shifts and that
// no import was recorded, and that the audit chain verifies.
func assertUnchanged(t *testing.T, dir string, users map[string][]store.Shift) {
	t.Helper()
	for name, want := range users {
		if got := storedUser(t, dir, "u-"+name).Shifts; !shift.Equal(got, want) {
			t.Errorf("shifts of %s changed to %v, want %v", name, got, want)
		}
	}
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		for _, action := range []string{"shifts.import", "user.shifts_replace"} {
			recs, err := st.ListAudit(t.Context(), store.AuditQuery{Action: action})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range recs {
				if r.Actor == "cli" {
					n++
				}
			}
			if n != 0 {
				t.Errorf("%d %s records by the CLI, want none", n, action)
			}
		}
	})
	if code, out, errs := run(t, "audit", "verify", "--data", dir); code != 0 {
		t.Errorf("audit verify: exit %d\n%s%s", code, out, errs)
	}
}

// TestImportShiftsReportsEverything: one run reports the file's parse
// errors and, for the lines that did parse, the unknown users (also one
// whose every line is broken) and the zone conflicts, in line order, and
// changes nothing, with and without --dry-run. Before, the unknown users
// and zone conflicts showed only once the parse errors were fixed.
func TestImportShiftsReportsEverything(t *testing.T) {
	dir := t.TempDir()
	users := map[string][]store.Shift{"ana": nil, "ben": {day(1)}}
	seedShiftUsers(t, dir, users)
	file := filepath.Join(t.TempDir(), "week.csv")
	body := "userName,start,end,zone\n" +
		csvShift("ben", day(2)) + // 2 fine
		"ben,tomorrow,2030-12-03T14:00:00Z,\n" + // 3 parse error
		csvShift("ghost", day(4)) + // 4 no such user
		"ana,2030-12-05 06:00,2030-12-05 14:00,\n" + // 5 --zone is not ana's site zone
		"gost,2030-12-06T14:00:00Z,2030-12-06T06:00:00Z,\n" + // 6 parse error, and no such user
		"cleo,2030-12-07T06:00:00Z,2030-12-07T14:00:00Z,Mars/Olympus\n" // 7 bad zone, and no such user
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"7 problem(s); nothing was imported",
		`line 3: start: "tomorrow" is not a time`,
		`line 4: no user "ghost"`,
		"line 5: ana works in America/Chicago at site chicago, but --zone is Europe/Berlin",
		"line 6: the shift 2030-12-06T14:00:00Z–2030-12-06T06:00:00Z ends before it starts",
		`line 6: no user "gost"`,
		`line 7: zone "Mars/Olympus" is not an IANA time zone name`,
		`line 7: no user "cleo"`,
	}
	for _, dry := range []string{"--dry-run=false", "--dry-run=true"} {
		code, out, errs := run(t, "import", "shifts", "--data", dir, "--zone", "Europe/Berlin", dry, file)
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want 1 and nothing", dry, code, out)
		}
		got := strings.Split(strings.TrimSpace(errs), "\n")
		if len(got) != len(want) {
			t.Errorf("%s: %d lines, want %d:\n%s", dry, len(got), len(want), errs)
			continue
		}
		for i, w := range want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: line %d = %q, want it to contain %q", dry, i+1, got[i], w)
			}
		}
	}
	assertUnchanged(t, dir, users)
}

// TestImportShiftsDryRunByUser: a dry run lists, by userName, how many
// shifts each listed user would gain and lose (local times placed in the
// zone of the user's site), or that they are unchanged, at most 50 users
// and how many more; it changes nothing.
func TestImportShiftsDryRunByUser(t *testing.T) {
	dir := t.TempDir()
	users := map[string][]store.Shift{
		"ana":  {day(1)},
		"ben":  {day(1)},
		"cleo": {day(1), day(2)},
		"dan":  {day(1)}, // not in the file
		"eve":  {day(1), day(2)},
	}
	for i := range 52 {
		users[fmt.Sprintf("w%02d", i)] = nil
	}
	seedShiftUsers(t, dir, users)
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	// ana's 06:00–14:00 in Chicago, as a local time: one added, day(1) removed.
	var b strings.Builder
	b.WriteString("userName,start,end,zone\n")
	b.WriteString("ana,2030-12-01 06:00,2030-12-01 14:00,\n")
	b.WriteString(csvShift("BEN", day(1)) + csvShift("ben", day(3))) // one added
	b.WriteString("cleo,,,\n")                                       // both removed
	b.WriteString(csvShift("eve", day(2)) + csvShift("eve", day(1))) // unchanged
	for i := 51; i >= 0; i-- {                                       // in reverse: the list is sorted
		b.WriteString(csvShift(fmt.Sprintf("w%02d", i), day(1+i%28)))
	}
	file := filepath.Join(t.TempDir(), "week.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "import", "shifts", "--data", dir, "--dry-run", file)
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errs)
	}
	wantLines := []string{
		"would replace the shifts of 56 users (57 shifts from 58 lines)",
		"per user (55 would change, 1 unchanged):",
		"  ana: 1 added, 1 removed",
		"  ben: 1 added, 0 removed",
		"  cleo: 0 added, 2 removed",
		"  eve: unchanged",
	}
	for i := range 46 {
		wantLines = append(wantLines, fmt.Sprintf("  w%02d: 1 added, 0 removed", i))
	}
	wantLines = append(wantLines, "  … and 6 more users")
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("dry run stdout:\n%s\nwant:\n%s", out, strings.Join(wantLines, "\n"))
	}
	if !strings.Contains(errs, "nothing was changed") {
		t.Errorf("dry run stderr: %q", errs)
	}
	assertUnchanged(t, dir, users)

	// The counts are what the import then does.
	if code, out, errs := run(t, "import", "shifts", "--data", dir, file); code != 0 || !strings.Contains(out, "replaced the shifts of 56 users (57 shifts from 58 lines)") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	wantAna := []store.Shift{{Start: time.Date(2030, 12, 1, 6, 0, 0, 0, chicago).UTC(), End: time.Date(2030, 12, 1, 14, 0, 0, 0, chicago).UTC()}}
	if got := storedUser(t, dir, "u-ana").Shifts; !shift.Equal(got, wantAna) {
		t.Errorf("ana's shifts = %v, want %v", got, wantAna)
	}
}

// TestImportShiftsNamesEveryLine: a user's name is checked on every line
// that names it: also on a line with the wrong number of fields (when its
// userName column is there to read), and "no user X" is reported on the
// first line naming X and counts all of them, the broken ones too (parse
// errors, a clearing line's other lines, wrong field counts). A line too
// short to reach the userName column is reported for its fields only.
func TestImportShiftsNamesEveryLine(t *testing.T) {
	dir := t.TempDir()
	users := map[string][]store.Shift{"ben": {day(1)}}
	seedShiftUsers(t, dir, users)
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{
			name: "userName first",
			body: "userName,start,end,zone\n" +
				"ghost,tomorrow,2030-12-03T14:00:00Z,\n" + // 2 parse error
				csvShift("ghost", day(4)) + // 3 fine but for the name
				"ghost,2030-12-05T06:00:00Z\n" + // 4 too few fields
				"phantom,2030-12-06T06:00:00Z,2030-12-06T14:00:00Z,,x\n" + // 5 too many fields
				"ben,2030-12-07T06:00:00Z\n" + // 6 too few fields; ben exists
				"cleo,,,\n" + // 7 clears
				csvShift("cleo", day(9)), // 8 after cleo's clearing line
			want: []string{
				"8 problem(s); nothing was imported",
				`line 2: start: "tomorrow" is not a time`,
				`line 2: no user "ghost" (named on this line and 2 more)`,
				"line 4: 2 fields, the header has 4",
				"line 5: 5 fields, the header has 4",
				`line 5: no user "phantom": check the spelling`,
				"line 6: 2 fields, the header has 4",
				`line 7: no user "cleo" (named on this line and 1 more)`,
				"line 8: line 7 clears cleo's shifts",
			},
		},
		{
			name: "userName last",
			body: "start,end,userName\n" +
				"2030-12-02T06:00:00Z,2030-12-02T14:00:00Z\n" + // 2 no userName column
				"2030-12-03T06:00:00Z,2030-12-03T14:00:00Z,ben,x\n" + // 3 too many fields; ben exists
				"2030-12-04T06:00:00Z,2030-12-04T14:00:00Z,ghost,x\n", // 4 too many fields
			want: []string{
				"4 problem(s); nothing was imported",
				"line 2: 2 fields, the header has 3",
				"line 3: 4 fields, the header has 3",
				"line 4: 4 fields, the header has 3",
				`line 4: no user "ghost": check the spelling`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "week.csv")
			if err := os.WriteFile(file, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, dry := range []string{"--dry-run=false", "--dry-run=true"} {
				code, out, errs := run(t, "import", "shifts", "--data", dir, dry, file)
				if code != 1 || out != "" {
					t.Errorf("%s: exit %d, stdout %q; want 1 and nothing", dry, code, out)
				}
				got := strings.Split(strings.TrimSpace(errs), "\n")
				if len(got) != len(tc.want) {
					t.Errorf("%s: %d lines, want %d:\n%s", dry, len(got), len(tc.want), errs)
					continue
				}
				for i, w := range tc.want {
					if !strings.Contains(got[i], w) {
						t.Errorf("%s: line %d = %q, want it to contain %q", dry, i+1, got[i], w)
					}
				}
			}
		})
	}
	assertUnchanged(t, dir, users)
}
