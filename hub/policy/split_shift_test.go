package policy

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones load on hosts without a zoneinfo database

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDecideSplitShifts: shifts (and running extensions) whose gap is no
// longer than the shift grace are one window, so the session of a nurse on
// a split shift runs to the end of the last part. She could sign in again
// as soon as the next part's grace opens: ending her session at the break
// would only cost her a tap, and the hub and her kiosk would disagree
// about whether she may be signed in during it. A gap exactly as long as
// the grace joins; with grace "0s" only touching shifts do.
func TestDecideSplitShifts(t *testing.T) {
	nurseApps := []string{"ehr", "med-cart"}
	split := func(second time.Time, more ...store.Shift) func(in *Input) {
		return func(in *Input) {
			in.User.Shifts = append([]store.Shift{{Start: at(8, 0), End: at(12, 0)}, {Start: second, End: at(16, 0)}}, more...)
		}
	}
	then := func(mods ...func(in *Input)) func(in *Input) {
		return func(in *Input) {
			for _, m := range mods {
				m(in)
			}
		}
	}
	nowAt := func(h, m int) func(in *Input) { return func(in *Input) { in.Now = at(h, m) } }
	grace := func(g time.Duration) func(in *Input) { return func(in *Input) { in.Rules.ShiftGrace = g } }
	tests := []struct {
		name string
		mod  func(in *Input)
		want Decision
	}{
		{"a 10 min break within the 15 min grace: one window to 16:00",
			split(at(12, 10)), allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
		{"signed in during the break, the session runs to 16:00",
			then(split(at(12, 10)), nowAt(12, 5)), allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
		{"a 30 min break, longer than the grace: the session ends at 12:00",
			split(at(12, 30)), allow("Nurse", nurseApps, at(12, 0), EndsByShift)},
		{"a 30 min break: at 12:05 she is outside every shift",
			then(split(at(12, 30)), nowAt(12, 5)), refused(wire.RefusedOutsideShift)},
		{"a break exactly as long as the grace joins",
			split(at(12, 15)), allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
		{"a break a nanosecond longer than the grace does not",
			split(at(12, 15).Add(time.Nanosecond)), allow("Nurse", nurseApps, at(12, 0), EndsByShift)},
		{"a longer grace joins a longer break",
			then(split(at(12, 30)), grace(30*time.Minute)), allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
		{"grace 0s: a 10 min break splits the windows",
			then(split(at(12, 10)), grace(-1)), allow("Nurse", nurseApps, at(12, 0), EndsByShift)},
		{"grace 0s: in the break she is outside every shift",
			then(split(at(12, 10)), grace(-1), nowAt(12, 5)), refused(wire.RefusedOutsideShift)},
		{"grace 0s: touching shifts are still one window",
			then(split(at(12, 0)), grace(-1)), allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
		{"a chain of three parts with short breaks is one window",
			then(func(in *Input) {
				in.User.Shifts = []store.Shift{{Start: at(8, 0), End: at(12, 0)}, {Start: at(12, 10), End: at(14, 0)}, {Start: at(14, 10), End: at(18, 0)}}
			}), allow("Nurse", nurseApps, at(18, 0), EndsByShift)},
		{"a chain stops at the first break longer than the grace",
			then(func(in *Input) {
				in.User.Shifts = []store.Shift{{Start: at(8, 0), End: at(12, 0)}, {Start: at(12, 10), End: at(14, 0)}, {Start: at(14, 30), End: at(18, 0)}}
			}), allow("Nurse", nurseApps, at(14, 0), EndsByShift)},
		{"an extension that leaves a short break before the next shift joins them",
			then(split(at(12, 30)), func(in *Input) { in.Extensions = []store.ShiftExtension{ext(at(12, 0), at(12, 20))} }),
			allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
		{"an extension at another site of the worker joins nothing here",
			then(split(at(12, 30)), atSouth, func(in *Input) { in.Extensions = []store.ShiftExtension{extAt("North", at(12, 0), at(12, 20))} }),
			allow("Nurse", nurseApps, at(12, 0), EndsByShift)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.mod(&in)
			got := Decide(in)
			got.Detail = ""
			if got.Allow != tc.want.Allow || got.Code != tc.want.Code || !got.ExpiresAt.Equal(tc.want.ExpiresAt) || got.EndsBy != tc.want.EndsBy || got.Role != tc.want.Role {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestDecideSplitShiftsOverDaylightSaving: the break between two parts of
// a night shift is measured in elapsed time, not on the wall clock. In New
// York the clocks jump from 02:00 EST to 03:00 EDT on 8 March 2026, so
// 01:55 EST to 03:05 EDT is a 10 minute break; they fall back from 02:00
// EDT to 01:00 EST on 1 November 2026, so 01:50 EDT to 01:10 EST is a 20
// minute one.
func TestDecideSplitShiftsOverDaylightSaving(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	edt, est := time.FixedZone("EDT", -4*3600), time.FixedZone("EST", -5*3600)
	night := func(shifts ...store.Shift) store.User {
		return store.User{ID: "u-ana", UserName: "ana", State: store.UserActive, Sites: []string{"NY"}, Shifts: shifts}
	}
	kiosk := store.Device{ID: "d-NY", Name: "NY-1", Site: "NY", State: store.DeviceActive}
	springEnd := time.Date(2026, 3, 8, 7, 0, 0, 0, ny)
	spring := night(
		store.Shift{Start: time.Date(2026, 3, 7, 22, 0, 0, 0, ny).UTC(), End: time.Date(2026, 3, 8, 1, 55, 0, 0, est).UTC()},
		store.Shift{Start: time.Date(2026, 3, 8, 3, 5, 0, 0, edt).UTC(), End: springEnd.UTC()})
	fallFirstEnd := time.Date(2026, 11, 1, 1, 50, 0, 0, edt)
	fall := night(
		store.Shift{Start: time.Date(2026, 10, 31, 22, 0, 0, 0, ny).UTC(), End: fallFirstEnd.UTC()},
		store.Shift{Start: time.Date(2026, 11, 1, 1, 10, 0, 0, est).UTC(), End: time.Date(2026, 11, 1, 6, 0, 0, 0, ny).UTC()})
	tests := []struct {
		name  string
		in    Input
		code  string // refused with it; "" for allowed
		until time.Time
	}{
		{name: "spring forward: a 70 min break on the wall clock, 10 min in fact, joins",
			in:    Input{User: spring, Roles: []string{"Nurse"}, Device: kiosk, Now: time.Date(2026, 3, 8, 0, 30, 0, 0, ny)},
			until: springEnd},
		{name: "fall back: a break that runs backwards on the wall clock, 20 min in fact, does not",
			in:    Input{User: fall, Roles: []string{"Nurse"}, Device: kiosk, Now: time.Date(2026, 11, 1, 0, 30, 0, 0, ny)},
			until: fallFirstEnd},
		{name: "fall back: 2 min into that break she is outside every shift",
			in:   Input{User: fall, Roles: []string{"Nurse"}, Device: kiosk, Now: fallFirstEnd.Add(2 * time.Minute)},
			code: wire.RefusedOutsideShift},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Rules = DefaultRules()
			got := Decide(tc.in)
			switch {
			case tc.code != "":
				if got.Allow || got.Code != tc.code {
					t.Errorf("got %+v, want refused %s", got, tc.code)
				}
			case !got.Allow || !got.ExpiresAt.Equal(tc.until) || got.EndsBy != EndsByShift:
				t.Errorf("got %+v, want allowed until %v (%s)", got, tc.until, EndsByShift)
			}
		})
	}
}
