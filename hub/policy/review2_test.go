package policy

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// manyRoles is ana at North holding n group roles that count (half of
// them listed in the rules, spelt in another case, half falling to the
// rule for other roles) and n/4 active grants here.
func manyRoles(n int) Input {
	in := base()
	in.UserVerified = true
	in.Rules = DefaultRules()
	in.Roles = nil
	for i := range n {
		if i%2 == 0 {
			in.Rules.Roles[fmt.Sprintf("Listed%03d", i)] = RoleRule{Apps: []string{fmt.Sprintf("app%d", i), "ehr"}}
			in.Roles = append(in.Roles, fmt.Sprintf("LISTED%03d", i))
		} else {
			in.Roles = append(in.Roles, fmt.Sprintf("Other%03d", i))
		}
	}
	for i := range max(n/4, 1) {
		g := grant(fmt.Sprintf("Granted%03d", i), "North", at(9, 0), at(12, 0))
		g.ID = fmt.Sprintf("g%d", i)
		in.Grants = append(in.Grants, g)
	}
	return in
}

// TestReview2DecideAllocationsDoNotGrowWithRoles: Decide runs inside
// every login transaction; its allocations are sized once for the roles
// the user holds, not grown (nor copied once per check) role by role.
func TestReview2DecideAllocationsDoNotGrowWithRoles(t *testing.T) {
	few, many := manyRoles(2), manyRoles(64)
	for _, in := range []Input{few, many} {
		if d := Decide(in); !d.Allow || len(d.Roles) != len(in.Roles)+len(in.Grants) {
			t.Fatalf("want every role to count: %+v", d)
		}
	}
	a := testing.AllocsPerRun(50, func() { Decide(few) })
	b := testing.AllocsPerRun(50, func() { Decide(many) })
	// The race detector's sync.Pool drops some of fmt's buffers: a little
	// slack, far below one allocation per role.
	if b > a+2 {
		t.Errorf("Decide allocates %v times for %d roles and %v times for %d: it should not grow with the roles", a, len(few.Roles)+len(few.Grants), b, len(many.Roles)+len(many.Grants))
	}

	// Groups that give no apps (the rule for other roles has none) cost
	// nothing: 300 of them beside two roles that count.
	groups := manyRoles(2)
	groups.Rules.Other = RoleRule{}
	groups.Rules.Roles["Other001"] = RoleRule{Apps: []string{"browser"}}
	groups.Rules.Roles["Granted000"] = RoleRule{Apps: []string{"browser"}}
	for i := range 300 {
		groups.Roles = append(groups.Roles, fmt.Sprintf("All-Staff-%d", i))
	}
	if d := Decide(groups); !d.Allow || len(d.Roles) != 3 {
		t.Fatalf("want the two listed roles and the grant to count: %+v", d)
	}
	alone := manyRoles(2)
	alone.Rules = groups.Rules
	// The same slack as above for the race detector's pool: one
	// allocation a group would be hundreds.
	if c := testing.AllocsPerRun(50, func() { Decide(groups) }); c > a+2 {
		t.Errorf("Decide allocates %v times for 3 roles among 300 groups without apps, and %v times for the 3 roles alone", c, a)
	}
	if g, r := bytesPerRun(func() { Decide(groups) }), bytesPerRun(func() { Decide(alone) }); g > r+1024 {
		t.Errorf("Decide allocates %d bytes for 3 roles among 300 groups without apps, and %d for the 3 roles alone", g, r)
	}
}

// bytesPerRun is the heap bytes one call of f allocates, on average.
func bytesPerRun(f func()) uint64 {
	const runs = 50
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

// TestReview2ShiftWindowDoesNotCopyShifts: a user's stored shifts (up to
// shift.MaxShifts, sorted) are read in place on every login; unsorted
// input and running extensions are still merged right.
func TestReview2ShiftWindowDoesNotCopyShifts(t *testing.T) {
	var shifts []store.Shift
	for i := range 500 {
		day := t0.Add(time.Duration(i-250) * 24 * time.Hour)
		shifts = append(shifts, store.Shift{Start: day.Add(-2 * time.Hour), End: day.Add(6 * time.Hour)})
	}
	if n := testing.AllocsPerRun(20, func() { ShiftWindow(shifts, nil, t0, 15*time.Minute) }); n != 0 {
		t.Errorf("ShiftWindow allocates %v times for sorted shifts without extensions, want 0", n)
	}
	if end, ok := ShiftWindow(shifts, nil, t0, 15*time.Minute); !ok || !end.Equal(t0.Add(6*time.Hour)) {
		t.Errorf("sorted: %v %v, want %v", end, ok, t0.Add(6*time.Hour))
	}

	tests := []struct {
		name   string
		shifts []store.Shift
		exts   []store.ShiftExtension
		now    time.Time
		want   time.Time // zero: outside every window
	}{
		{"unsorted, touching: one window", []store.Shift{{Start: at(12, 0), End: at(16, 0)}, {Start: at(8, 0), End: at(12, 0)}}, nil, at(9, 0), at(16, 0)},
		{"unsorted, in the grace of the later one", []store.Shift{{Start: at(14, 0), End: at(16, 0)}, {Start: at(8, 0), End: at(12, 0)}}, nil, at(13, 50), at(16, 0)},
		{"unsorted, between windows", []store.Shift{{Start: at(14, 0), End: at(16, 0)}, {Start: at(8, 0), End: at(12, 0)}}, nil, at(13, 0), time.Time{}},
		{"before every window", []store.Shift{{Start: at(14, 0), End: at(16, 0)}}, nil, at(13, 44), time.Time{}},
		{"a running extension bridges a gap", []store.Shift{{Start: at(8, 0), End: at(12, 0)}, {Start: at(13, 0), End: at(16, 0)}},
			[]store.ShiftExtension{ext(at(11, 0), at(13, 0))}, at(11, 30), at(16, 0)},
		{"an extension that is over bridges nothing", []store.Shift{{Start: at(8, 0), End: at(12, 0)}, {Start: at(13, 0), End: at(16, 0)}},
			[]store.ShiftExtension{ext(at(9, 0), at(11, 0))}, at(11, 30), at(12, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.shifts)
			end, ok := ShiftWindow(tc.shifts, tc.exts, tc.now, 15*time.Minute)
			if ok != !tc.want.IsZero() || !end.Equal(tc.want) {
				t.Errorf("ShiftWindow = %v, %v; want %v", end, ok, tc.want)
			}
			if !slices.Equal(before, tc.shifts) {
				t.Errorf("ShiftWindow reordered its input: %v", tc.shifts)
			}
		})
	}
}

// TestReview2GrantsAndExtensionsOfNoOneGiveNothing: fail closed on a
// record whose owner is unknown. A grant or a shift extension that names
// no user (or another) gives this user nothing.
func TestReview2GrantsAndExtensionsOfNoOneGiveNothing(t *testing.T) {
	tests := []struct {
		name string
		mod  func(in *Input)
		code string
	}{
		{"a grant without a user opens no site", func(in *Input) {
			g := grant("Picker", "South", at(9, 0), at(14, 0))
			g.UserID = ""
			in.Grants = []store.Grant{g}
			in.Device = store.Device{ID: "d-s1", Name: "s1", Site: "South", State: store.DeviceActive}
		}, wire.RefusedNotAllowedHere},
		{"a grant without a user gives no role", func(in *Input) {
			g := grant("Picker", "North", at(9, 0), at(14, 0))
			g.UserID = ""
			in.Roles = nil
			in.Grants = []store.Grant{g}
		}, wire.RefusedNotAllowedHere},
		{"an extension without a user is no shift time", func(in *Input) {
			x := ext(at(16, 0), at(18, 0))
			x.UserID = ""
			in.Now, in.Extensions = at(17, 0), []store.ShiftExtension{x}
		}, wire.RefusedOutsideShift},
		{"nor is another user's", func(in *Input) {
			x := ext(at(16, 0), at(18, 0))
			x.UserID = "u-bo"
			in.Now, in.Extensions = at(17, 0), []store.ShiftExtension{x}
		}, wire.RefusedOutsideShift},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.mod(&in)
			if d := Decide(in); d.Allow || d.Code != tc.code {
				t.Errorf("got %+v, want refused %s", d, tc.code)
			}
		})
	}
	// The user's own still count.
	in := base()
	in.Now, in.Extensions = at(17, 0), []store.ShiftExtension{ext(at(16, 0), at(18, 0))}
	if d := Decide(in); !d.Allow || !d.ExpiresAt.Equal(at(18, 0)) {
		t.Errorf("own extension: %+v", d)
	}
}

// TestReview2ExpiresAtIsTheEarliestBound: expires_at = min(shift end,
// grant end, certification expiry, end date, role maximum, the kiosk
// profile's maxSession, max_session), in every combination of the bounds
// being there, each of them winning in turn.
func TestReview2ExpiresAtIsTheEarliestBound(t *testing.T) {
	type bound struct {
		by  string
		set func(in *Input, at time.Time)
	}
	// now is 10:00; the global max_session (12h) is always there.
	bounds := []bound{
		{EndsByShift, func(in *Input, end time.Time) { in.User.Shifts = []store.Shift{{Start: at(8, 0), End: end}} }},
		{EndsByGrant, func(in *Input, end time.Time) {
			in.Grants = []store.Grant{grant("Picker", "North", at(9, 0), end)}
		}},
		{EndsByCertification, func(in *Input, end time.Time) {
			in.Roles = append(in.Roles, "Pharmacist")
			in.User.Certifications = []store.Certification{{Name: "PHARMACY-LICENSE", Expires: end}}
		}},
		{EndsByEndDate, func(in *Input, end time.Time) { in.User.EndDate = end }},
		{EndsByMaxSession, func(in *Input, end time.Time) { // the role's maximum
			in.Rules.Roles["Nurse"] = RoleRule{Apps: []string{"ehr"}, MaxSession: end.Sub(t0)}
		}},
		{EndsByMaxSession, func(in *Input, end time.Time) { in.DeviceMaxSession = end.Sub(t0) }},
	}
	for mask := 1; mask < 1<<len(bounds); mask++ {
		for winner := range bounds {
			if mask&(1<<winner) == 0 {
				continue
			}
			in := base()
			in.User.Shifts, in.User.Certifications = nil, nil
			in.Roles = []string{"Nurse"}
			in.Rules = testRules()
			want := t0.Add(12 * time.Hour)
			wantBy := EndsByMaxSession
			for i, b := range bounds {
				if mask&(1<<i) == 0 {
					continue
				}
				end := at(13, 0).Add(time.Duration(i) * 17 * time.Minute)
				if i == winner {
					end = at(11, 0)
				}
				b.set(&in, end)
				if end.Before(want) {
					want, wantBy = end, b.by
				}
			}
			t.Run(fmt.Sprintf("bounds %06b, %s(%d) first", mask, bounds[winner].by, winner), func(t *testing.T) {
				d := Decide(in)
				if !d.Allow || !d.ExpiresAt.Equal(want) || d.EndsBy != wantBy {
					t.Errorf("got %v %s (%s), want %v %s", d.ExpiresAt, d.EndsBy, d.Detail, want, wantBy)
				}
			})
		}
	}
}

// TestReview2CompareFoldOrder: the order of a session's roles (and of the
// document's) is the one strings.ToLower gave, computed without it.
func TestReview2CompareFoldOrder(t *testing.T) {
	old := func(a, b string) int {
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	}
	words := []string{"", "a", "A", "ab", "aB", "Ab", "b", "B", "Nurse", "nurse", "NURSE", "Nurses", "Élodie", "élodie", "ÉLODIE", "Zoë", "zoe",
		"Σίσυφος", "ΣΊΣΥΦΟΣ", "straße", "STRASSE", "K", "k", "\u212a", "ǅ", "ǆ", "Ǆ", "a\xffb", "a\xfeb", "A\xff", "\xff", "x\u0301", "İ", "i", "ı", "I"}
	for _, a := range words {
		for _, b := range words {
			if got, want := compareFold(a, b), old(a, b); got != want {
				t.Errorf("compareFold(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}
