package policy

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

func ext(start, end time.Time) store.ShiftExtension {
	return extAt("North", start, end)
}

func extAt(site string, start, end time.Time) store.ShiftExtension {
	return store.ShiftExtension{ID: "x-" + site, UserID: "u-ana", Site: site, Start: start, End: end, Reason: "handover"}
}

// atSouth makes ana a worker of North and South signing in at South.
func atSouth(in *Input) {
	in.User.Sites = []string{"North", "South"}
	in.Device = store.Device{ID: "d-s1", Name: "s1", Site: "South", State: store.DeviceActive}
}

// TestDecideShiftWindows: back-to-back shifts and shift extensions are one
// window; the session runs to the window's end.
func TestDecideShiftWindows(t *testing.T) {
	nurseApps := []string{"ehr", "med-cart"}
	tests := []struct {
		name string
		mod  func(in *Input)
		want Decision
	}{
		{"back-to-back shifts are one window", func(in *Input) {
			in.User.Shifts = append(in.User.Shifts, store.Shift{Start: at(16, 0), End: at(22, 0)})
		}, allow("Nurse", nurseApps, at(22, 0), EndsByShift)},
		{"a gap longer than the grace splits windows", func(in *Input) {
			in.User.Shifts = append(in.User.Shifts, store.Shift{Start: at(16, 16), End: at(22, 0)})
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
		{"an extension from the shift end prolongs it", func(in *Input) {
			in.Extensions = []store.ShiftExtension{ext(at(9, 0), at(18, 30))}
		}, allow("Nurse", nurseApps, at(18, 30), EndsByShift)},
		{"an extension covers the time after the shift", func(in *Input) {
			in.Now = at(17, 0)
			in.Extensions = []store.ShiftExtension{ext(at(16, 30), at(18, 0))}
		}, allow("Nurse", nurseApps, at(18, 0), EndsByShift)},
		{"an extension that is over counts for nothing", func(in *Input) {
			in.Now = at(17, 0)
			in.Extensions = []store.ShiftExtension{ext(at(9, 0), at(17, 0))}
		}, refused(wire.RefusedOutsideShift)},
		{"an extension does not outrun the role's maximum", func(in *Input) {
			in.Roles, in.UserVerified = []string{"Supervisor"}, true
			in.Extensions = []store.ShiftExtension{ext(at(9, 0), at(20, 0))}
		}, Decision{Allow: true, Role: "Supervisor", Roles: []string{"Supervisor"}, Apps: []string{"ehr", "wms-admin"}, Privileged: true, ExpiresAt: at(14, 0), EndsBy: EndsByMaxSession}},
		{"an extension at another site of the worker counts for nothing here", func(in *Input) {
			atSouth(in)
			in.Now = at(17, 0)
			in.Extensions = []store.ShiftExtension{extAt("North", at(16, 30), at(18, 0))}
		}, refused(wire.RefusedOutsideShift)},
		{"nor does it prolong the shift here", func(in *Input) {
			atSouth(in)
			in.Extensions = []store.ShiftExtension{extAt("North", at(9, 0), at(18, 30))}
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
		{"the extension of the kiosk's site counts, its name in any case", func(in *Input) {
			atSouth(in)
			in.Now = at(17, 0)
			in.Extensions = []store.ShiftExtension{extAt("North", at(16, 30), at(20, 0)), extAt("south", at(16, 30), at(18, 0))}
		}, allow("Nurse", nurseApps, at(18, 0), EndsByShift)},
		{"an extension without a site counts nowhere", func(in *Input) {
			in.Now = at(17, 0)
			in.Extensions = []store.ShiftExtension{extAt("", at(16, 30), at(18, 0))}
		}, refused(wire.RefusedOutsideShift)},
		{"grace applies to the window's start", func(in *Input) {
			in.Now = at(7, 50)
			in.User.Shifts = []store.Shift{{Start: at(8, 0), End: at(12, 0)}, {Start: at(12, 0), End: at(16, 0)}}
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift)},
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

func TestMaxSessionFor(t *testing.T) {
	r := DefaultRules()
	for _, tc := range []struct {
		roles []string
		want  time.Duration
	}{
		{nil, 12 * time.Hour},
		{[]string{"Nurse"}, 12 * time.Hour},
		{[]string{"Nurse", "supervisor"}, 4 * time.Hour},
	} {
		if got := r.MaxSessionFor(tc.roles); got != tc.want {
			t.Errorf("MaxSessionFor(%v) = %v, want %v", tc.roles, got, tc.want)
		}
	}
	if got := (Rules{}).MaxSessionFor(nil); got != DefaultMaxSession {
		t.Errorf("zero rules: %v", got)
	}
}
