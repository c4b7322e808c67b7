package shift

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestParseCSVSiteZones: with SiteZones, local times on lines without a
// zone value are kept for Resolve (their form is still checked at once);
// Resolve places them in each user's zone, checks them as ParseCSV does,
// and reports a user's zone problem on the user's first such line.
func TestParseCSVSiteZones(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	chicago, _ := time.LoadLocation("America/Chicago")
	in := "userName,start,end,zone\n" +
		"ana,2026-12-01 06:00,2026-12-01 14:00,\n" + // 2 local: kept
		"ana,2026-12-02T06:00:00Z,2026-12-02T14:00:00Z,\n" + // 3 an instant: placed
		"ben,2026-12-01 06:00,2026-12-01 14:00,Europe/Berlin\n" + // 4 its zone: placed
		"cleo,2026-12-01 06:00,2026-12-01T14:00:00Z,\n" + // 5 partly local: kept
		"cleo,2026-12-03 06:00,2026-12-03 07:00,\n" // 6
	imp, err := ParseCSV(strings.NewReader(in), ImportOptions{Zone: berlin, SiteZones: true})
	if err != nil {
		t.Fatal(err)
	}
	want := Import{Rows: 5, Zone: berlin, Users: []UserShifts{
		{UserName: "ana", Shifts: []store.Shift{sh("2026-12-02T06:00:00Z", "2026-12-02T14:00:00Z")}, Lines: []int{3},
			Local: []LocalRow{{Line: 2, Start: "2026-12-01 06:00", End: "2026-12-01 14:00"}}},
		{UserName: "ben", Shifts: []store.Shift{sh("2026-12-01T05:00:00Z", "2026-12-01T13:00:00Z")}, Lines: []int{4}},
		{UserName: "cleo", Local: []LocalRow{{Line: 5, Start: "2026-12-01 06:00", End: "2026-12-01T14:00:00Z"}, {Line: 6, Start: "2026-12-03 06:00", End: "2026-12-03 07:00"}}},
	}}
	if d := cmp.Diff(want, imp, cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })); d != "" {
		t.Fatalf("ParseCSV (-want +got)\n%s", d)
	}

	asked := map[string]bool{}
	got, bad := imp.Resolve(func(us UserShifts) (*time.Location, string) {
		asked[us.UserName] = true
		return chicago, ""
	})
	if len(bad) != 0 || asked["ben"] {
		t.Fatalf("Resolve: problems %v, asked for %v", bad, asked)
	}
	wantUsers := []UserShifts{
		{UserName: "ana", Shifts: []store.Shift{sh("2026-12-01T12:00:00Z", "2026-12-01T20:00:00Z"), sh("2026-12-02T06:00:00Z", "2026-12-02T14:00:00Z")}, Lines: []int{2, 3}},
		want.Users[1],
		{UserName: "cleo", Shifts: []store.Shift{sh("2026-12-01T12:00:00Z", "2026-12-01T14:00:00Z"), sh("2026-12-03T12:00:00Z", "2026-12-03T13:00:00Z")}, Lines: []int{5, 6}},
	}
	if d := cmp.Diff(wantUsers, got.Users); d != "" {
		t.Errorf("Resolve (-want +got)\n%s", d)
	}

	_, bad = imp.Resolve(func(us UserShifts) (*time.Location, string) {
		if us.UserName == "ana" {
			return nil, "ana's zone is not known"
		}
		return berlin, ""
	})
	wantBad := []LineError{{Line: 2, Msg: "ana's zone is not known"}}
	if d := cmp.Diff(wantBad, bad); d != "" {
		t.Errorf("Resolve problems (-want +got)\n%s", d)
	}

	// The form of a kept line is checked by ParseCSV; a clearing line
	// must still be the user's only line.
	_, err = ParseCSV(strings.NewReader("userName,start,end\nana,tomorrow 06:00,2026-12-01 14:00\nben,2026-12-01 06:00,2026-12-01 14:00\nben,,\n"), ImportOptions{SiteZones: true})
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != 2 ||
		!strings.Contains(ie.Problems[0].String(), `line 2: start: "tomorrow 06:00" is not a time`) ||
		!strings.Contains(ie.Problems[1].String(), "line 4: a line with empty start and end clears ben's shifts, so it must be that user's only line") {
		t.Errorf("kept lines' form: %v", err)
	}
}
