package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestImportShiftsSiteZone: a local time on a line without a zone value
// is read in the zone of the user's sites when they are all registered
// with one zone; --zone (the import's default) applies only to users
// without a registered zone and never overrules one: a user whose site is
// in another zone is refused, as is a user whose sites are in several
// zones, naming the line, the user, the zones and what to do. A dry run
// reports the same; a refused import changes nothing.
func TestImportShiftsSiteZone(t *testing.T) {
	ctx := t.Context()
	st, log := openStore(t)
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.Site{{Name: "Chicago-1", TimeZone: "America/Chicago"}, {Name: "chicago-2", TimeZone: "America/Chicago"}, {Name: "Berlin-1", TimeZone: "Europe/Berlin"}} {
		if _, err := eng.CreateSite(ctx, actor, s); err != nil {
			t.Fatal(err)
		}
	}
	users := map[string][]string{
		"ana":  {"chicago-1"},              // one registered site (named in another case)
		"ben":  {"Chicago-1", "Berlin-1"},  // sites in two zones
		"cleo": {"depot"},                  // a site the hub has no record of
		"dan":  {"Chicago-1", "chicago-2"}, // two sites, one zone
		"eve":  {"Chicago-1", "depot"},     // a registered zone and a site without one
		"fay":  nil,                        // no site
	}
	for name, sites := range users {
		if _, err := eng.CreateUser(ctx, actor, store.User{ID: "u-" + name, UserName: name, Active: true, Sites: sites}); err != nil {
			t.Fatal(err)
		}
	}
	chicago, _ := time.LoadLocation("America/Chicago")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(loc *time.Location) []store.Shift {
		return []store.Shift{{Start: time.Date(2026, 12, 1, 6, 0, 0, 0, loc).UTC(), End: time.Date(2026, 12, 1, 14, 0, 0, 0, loc).UTC()}}
	}
	row := func(name string) string { return name + ",2026-12-01 06:00,2026-12-01 14:00,\n" }

	tests := []struct {
		name string
		rows string // after the header userName,start,end,zone
		zone *time.Location
		want map[string][]store.Shift // userName → shifts after the import
		errs []string                 // else: each problem, in order
	}{
		{name: "site zone without --zone", rows: row("ana") + row("dan"),
			want: map[string][]store.Shift{"ana": at(chicago), "dan": at(chicago)}},
		{name: "--zone the same as the site's", rows: row("ana"), zone: chicago,
			want: map[string][]store.Shift{"ana": at(chicago)}},
		{name: "--zone for users without a registered zone", rows: row("cleo") + row("fay"), zone: berlin,
			want: map[string][]store.Shift{"cleo": at(berlin), "fay": at(berlin)}},
		{name: "a zone column value or an offset is kept", zone: berlin,
			rows: "ana,2026-12-01 06:00,2026-12-01 14:00,Europe/Berlin\nben,2026-12-01T06:00:00+01:00,2026-12-01T14:00:00+01:00,\n",
			want: map[string][]store.Shift{"ana": at(berlin), "ben": at(berlin)}},
		{name: "--zone another than the site's", rows: row("ana") + "ana,2026-12-02 06:00,2026-12-02 14:00,\n", zone: berlin, errs: []string{
			"line 2: ana works in America/Chicago at site Chicago-1, but --zone is Europe/Berlin: a local time read in Europe/Berlin would be hours off; " +
				"give this user's lines their zone in the zone column, or leave out --zone to read them in the site's zone (this line and 1 more of ana's lines give a local time and no zone)"}},
		{name: "sites in two zones", rows: row("ben"), errs: []string{
			"line 2: ben's sites are in different time zones (America/Chicago at site Chicago-1, Europe/Berlin at site Berlin-1): give this user's lines their zone in the zone column"}},
		{name: "sites in two zones with --zone one of them", rows: row("ben"), zone: berlin, errs: []string{
			"line 2: ben works in America/Chicago at site Chicago-1, but --zone is Europe/Berlin: a local time read in Europe/Berlin would be hours off; give this user's lines their zone in the zone column"}},
		{name: "a site without a zone", rows: row("eve"), errs: []string{
			"line 2: eve works in America/Chicago at site Chicago-1, but site depot has no registered time zone: give this user's lines their zone in the zone column, pass --zone America/Chicago"}},
		{name: "a site without a zone and --zone the other's", rows: row("eve"), zone: chicago,
			want: map[string][]store.Shift{"eve": at(chicago)}},
		{name: "no zone at all", rows: row("cleo"), errs: []string{
			`line 2: start: "2026-12-01 06:00" has no UTC offset: write it as RFC 3339`}},
		{name: "a time the site's zone skips", rows: "ana,2026-03-08 02:30,2026-03-08 08:00,\n", errs: []string{
			`line 2: start: "2026-03-08 02:30" does not exist in America/Chicago`}},
		{name: "placed lines are checked against the others", rows: "ana,2026-12-01T13:00:00Z,2026-12-01T15:00:00Z,\n" + row("ana"), errs: []string{
			"line 2: ana's shift 2026-12-01T13:00:00Z–2026-12-01T15:00:00Z overlaps the shift on line 3 (2026-12-01T12:00:00Z–2026-12-01T20:00:00Z)"}},
		{name: "with unknown users, in line order", rows: "ghost,2026-12-01 06:00,2026-12-01 14:00,\n" + row("ben") + row("ana"), zone: berlin, errs: []string{
			`line 2: no user "ghost"`, "line 3: ben works in America/Chicago at site Chicago-1", "line 4: ana works in America/Chicago at site Chicago-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string][]store.Shift{}
			for name := range users {
				u, err := st.GetUser(ctx, "u-"+name)
				if err != nil {
					t.Fatal(err)
				}
				before[name] = u.Shifts
			}
			imp, err := shift.ParseCSV(strings.NewReader("userName,start,end,zone\n"+tc.rows), shift.ImportOptions{Zone: tc.zone, SiteZones: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, dry := range []bool{true, false} {
				_, err := eng.ImportShifts(ctx, actor, imp, "week.csv", nil, dry)
				if tc.errs == nil {
					if err != nil {
						t.Fatalf("dry run %v: %v", dry, err)
					}
					continue
				}
				var ie *shift.ImportError
				if !errors.As(err, &ie) {
					t.Fatalf("dry run %v: ImportShifts = %v, want an *shift.ImportError", dry, err)
				}
				if len(ie.Problems) != len(tc.errs) {
					t.Fatalf("dry run %v: %d problems, want %d:\n%v", dry, len(ie.Problems), len(tc.errs), err)
				}
				for i, w := range tc.errs {
					if p := ie.Problems[i].String(); !strings.HasPrefix(p, w) {
						t.Errorf("dry run %v: problem %d = %q, want it to start with %q", dry, i+1, p, w)
					}
				}
			}
			for name := range users {
				u, err := st.GetUser(ctx, "u-"+name)
				if err != nil {
					t.Fatal(err)
				}
				want, ok := tc.want[name]
				if !ok {
					want = before[name]
				}
				if !shift.Equal(u.Shifts, want) {
					t.Errorf("shifts of %s = %v, want %v", name, u.Shifts, want)
				}
			}
		})
	}
}
