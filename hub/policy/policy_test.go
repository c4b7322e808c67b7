package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

var t0 = time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC) // "now" unless a case moves it

func at(h, m int) time.Time { return time.Date(2031, 3, 4, h, m, 0, 0, time.UTC) }

func testRules() Rules {
	r := DefaultRules()
	r.Roles["Pharmacist"] = RoleRule{Apps: []string{"pharmacy"}, Certification: "pharmacy-license"}
	return r
}

// base is a nurse at site North, on the 08:00–16:00 shift, at kiosk n1 in
// North, at 10:00.
func base() Input {
	return Input{
		User: store.User{
			ID:       "u-ana",
			UserName: "ana",
			State:    store.UserActive,
			Sites:    []string{"North"},
			Shifts:   []store.Shift{{Start: at(8, 0), End: at(16, 0)}},
			Certifications: []store.Certification{
				{Name: "pharmacy-license", Expires: at(13, 0)},
			},
		},
		Roles:  []string{"Nurse"},
		Device: store.Device{ID: "d-n1", Name: "n1", Site: "North", State: store.DeviceActive},
		Now:    t0,
		Rules:  testRules(),
	}
}

func grant(role, site string, start, end time.Time) store.Grant {
	return store.Grant{ID: "g-" + role, UserID: "u-ana", Role: role, Site: site, Start: start, End: end}
}

func allow(role string, apps []string, exp time.Time, by string) Decision {
	return Decision{Allow: true, Role: role, Roles: strings.Split(role, ","), Apps: apps, ExpiresAt: exp, EndsBy: by}
}

func refused(code string) Decision { return Decision{Code: code} }

func TestDecide(t *testing.T) {
	nurseApps := []string{"ehr", "med-cart"}
	tests := []struct {
		name   string
		mod    func(in *Input)
		want   Decision
		detail string // in Decision.Detail
	}{
		{"nurse in shift", nil,
			allow("Nurse", nurseApps, at(16, 0), EndsByShift), "until 2031-03-04T16:00:00Z (shift_end)"},
		{"no shifts: max session", func(in *Input) { in.User.Shifts = nil },
			allow("Nurse", nurseApps, t0.Add(12*time.Hour), EndsByMaxSession), "max_session"},
		{"rules max session", func(in *Input) { in.User.Shifts = nil; in.Rules.MaxSession = 2 * time.Hour },
			allow("Nurse", nurseApps, t0.Add(2*time.Hour), EndsByMaxSession), ""},
		{"the kiosk's profile bounds it", func(in *Input) { in.User.Shifts = nil; in.DeviceMaxSession = 3 * time.Hour },
			allow("Nurse", nurseApps, t0.Add(3*time.Hour), EndsByMaxSession), ""},
		{"a kiosk bound longer than the rules' changes nothing", func(in *Input) {
			in.User.Shifts = nil
			in.Rules.MaxSession, in.DeviceMaxSession = 2*time.Hour, 13*time.Hour
		}, allow("Nurse", nurseApps, t0.Add(2*time.Hour), EndsByMaxSession), ""},
		{"zero rules use defaults", func(in *Input) { in.User.Shifts = nil; in.Rules = Rules{Other: RoleRule{Apps: []string{"x"}}} },
			allow("Nurse", []string{"x"}, t0.Add(DefaultMaxSession), EndsByMaxSession), ""},
		{"tie between shift end and max session: shift_end", func(in *Input) { in.Rules.MaxSession = 6 * time.Hour },
			allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"end date before shift end", func(in *Input) { in.User.EndDate = at(12, 0) },
			allow("Nurse", nurseApps, at(12, 0), EndsByEndDate), "end_date"},

		// 1. user state
		{"pending user", func(in *Input) { in.User.State = store.UserPending }, refused(wire.RefusedNotRecognised), "is pending"},
		{"disabled user", func(in *Input) { in.User.State = store.UserDisabled }, refused(wire.RefusedNotRecognised), "is disabled"},
		{"deleted user", func(in *Input) { in.User.State = store.UserDeleted }, refused(wire.RefusedNotRecognised), "is deleted"},
		{"end date passed", func(in *Input) { in.User.EndDate = t0 }, refused(wire.RefusedNotRecognised), "end date 2031-03-04T10:00:00Z has passed"},

		// 2. device
		{"device disabled", func(in *Input) { in.Device.State = store.DeviceDisabled }, refused(wire.RefusedNotAllowedHere), "device n1 is disabled"},

		// 3. site
		{"other site, no grant", func(in *Input) { in.Device.Site = "South" }, refused(wire.RefusedNotAllowedHere), "site South is not among the user's sites [North]"},
		{"site matched case-insensitively", func(in *Input) { in.Device.Site = "north" },
			allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"other site via grant: only the grant's role", func(in *Input) {
			in.Device.Site = "South"
			in.Grants = []store.Grant{grant("Picker", "South", at(9, 0), at(14, 0))}
		}, allow("Picker", []string{"wms-picking"}, at(14, 0), EndsByGrant), "grant_end"},
		{"grant not started", func(in *Input) {
			in.Device.Site = "South"
			in.Grants = []store.Grant{grant("Picker", "South", at(10, 1), at(14, 0))}
		}, refused(wire.RefusedNotAllowedHere), "no grant for it is active"},
		{"grant ended", func(in *Input) {
			in.Device.Site = "South"
			in.Grants = []store.Grant{grant("Picker", "South", at(6, 0), t0)}
		}, refused(wire.RefusedNotAllowedHere), "no grant for it is active"},
		{"grant revoked", func(in *Input) {
			in.Device.Site = "South"
			g := grant("Picker", "South", at(9, 0), at(14, 0))
			g.Revoked = at(9, 30)
			in.Grants = []store.Grant{g}
		}, refused(wire.RefusedNotAllowedHere), "no grant for it is active"},
		{"grant for another site", func(in *Input) {
			in.Device.Site = "South"
			in.Grants = []store.Grant{grant("Picker", "East", at(9, 0), at(14, 0))}
		}, refused(wire.RefusedNotAllowedHere), "no grant for it is active"},
		{"grant of another user", func(in *Input) {
			in.Device.Site = "South"
			g := grant("Picker", "South", at(9, 0), at(14, 0))
			g.UserID = "u-bo"
			in.Grants = []store.Grant{g}
		}, refused(wire.RefusedNotAllowedHere), "no grant for it is active"},

		// 4. roles
		{"no roles", func(in *Input) { in.Roles = nil }, refused(wire.RefusedNotAllowedHere), "has no role with apps at site North"},
		{"unknown role: other rule", func(in *Input) { in.Roles = []string{"Volunteers"} },
			allow("Volunteers", []string{"browser"}, at(16, 0), EndsByShift), ""},
		{"unknown role without other rule", func(in *Input) { in.Roles = []string{"Volunteers"}; in.Rules.Other = RoleRule{} },
			refused(wire.RefusedNotAllowedHere), "no role with apps"},
		{"a role named with a comma never counts", func(in *Input) { in.Roles = []string{"Agency, North Ward"} },
			refused(wire.RefusedNotAllowedHere), `role Agency, North Ward cannot count: its name contains ","`},
		{"a role named with a comma beside one that counts", func(in *Input) { in.Roles = []string{"Agency, North Ward", "Nurse"} },
			Decision{Allow: true, Role: "Nurse", Roles: []string{"Nurse"}, Apps: nurseApps, ExpiresAt: at(16, 0), EndsBy: EndsByShift, NotCounted: []string{"Agency, North Ward"}}, "rename the group"},
		{"role matched case-insensitively", func(in *Input) { in.Roles = []string{"NURSE"} },
			allow("NURSE", nurseApps, at(16, 0), EndsByShift), ""},
		{"grant role at home site adds to group roles", func(in *Input) {
			in.Grants = []store.Grant{grant("Picker", "North", at(9, 0), at(12, 0))}
		}, allow("Nurse,Picker", []string{"ehr", "med-cart", "wms-picking"}, at(12, 0), EndsByGrant), ""},
		{"grant of a role also held by group: no grant bound", func(in *Input) {
			in.Grants = []store.Grant{grant("nurse", "North", at(9, 0), at(12, 0))}
		}, allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"two grants of one role: the later end", func(in *Input) {
			in.Roles = nil
			in.Grants = []store.Grant{grant("Picker", "North", at(9, 0), at(11, 0)), grant("Picker", "North", at(9, 0), at(13, 0))}
		}, allow("Picker", []string{"wms-picking"}, at(13, 0), EndsByGrant), ""},

		// 5. shifts
		{"outside shift", func(in *Input) { in.Now = at(17, 0) }, refused(wire.RefusedOutsideShift), "2031-03-04T17:00:00Z is outside every shift"},
		{"at shift end", func(in *Input) { in.Now = at(16, 0) }, refused(wire.RefusedOutsideShift), "outside every shift"},
		{"inside grace before shift", func(in *Input) { in.Now = at(7, 45) },
			allow("Nurse", nurseApps, at(16, 0), EndsByShift), ""},
		{"before grace", func(in *Input) { in.Now = at(7, 44) }, refused(wire.RefusedOutsideShift), "grace 15m0s"},
		{"negative grace: none", func(in *Input) { in.Now = at(7, 59); in.Rules.ShiftGrace = -1 }, refused(wire.RefusedOutsideShift), "grace 0s"},
		{"overlapping shifts: the later end", func(in *Input) {
			in.User.Shifts = append(in.User.Shifts, store.Shift{Start: at(9, 0), End: at(18, 0)}, store.Shift{Start: at(20, 0), End: at(23, 0)})
			in.Rules.MaxSession = 0
		}, allow("Nurse", nurseApps, at(18, 0), EndsByShift), ""},

		// 6. certifications
		{"certification held: bounds the session", func(in *Input) { in.Roles = []string{"Pharmacist"} },
			allow("Pharmacist", []string{"pharmacy"}, at(13, 0), EndsByCertification), "certification_end"},
		{"certification without expiry", func(in *Input) {
			in.Roles = []string{"Pharmacist"}
			in.User.Certifications = []store.Certification{{Name: "Pharmacy-License"}}
		}, allow("Pharmacist", []string{"pharmacy"}, at(16, 0), EndsByShift), ""},
		{"certification expired", func(in *Input) { in.Roles = []string{"Pharmacist"}; in.Now = at(13, 0) },
			refused(wire.RefusedNotAllowedHere), "needs certification pharmacy-license, which expired at 2031-03-04T13:00:00Z"},
		{"certification missing", func(in *Input) { in.Roles = []string{"Pharmacist"}; in.User.Certifications = nil },
			refused(wire.RefusedNotAllowedHere), "which the user does not hold"},
		{"certification missing: other roles stay", func(in *Input) {
			in.Roles = []string{"Pharmacist", "Nurse"}
			in.User.Certifications = nil
		}, Decision{Allow: true, Role: "Nurse", Roles: []string{"Nurse"}, Apps: nurseApps, ExpiresAt: at(16, 0), EndsBy: EndsByShift, Withheld: []string{"Pharmacist"}}, "withheld: role Pharmacist needs"},

		// 7. user verification
		{"supervisor without UV", func(in *Input) { in.Roles = []string{"Supervisor"} },
			refused(wire.RefusedVerifyRequired), "role Supervisor requires user verification"},
		{"supervisor with UV", func(in *Input) { in.Roles = []string{"Supervisor"}; in.UserVerified = true },
			Decision{Allow: true, Role: "Supervisor", Roles: []string{"Supervisor"}, Apps: []string{"ehr", "wms-admin"}, Privileged: true, ExpiresAt: at(14, 0), EndsBy: EndsByMaxSession}, ""},
		{"nurse and supervisor without UV", func(in *Input) { in.Roles = []string{"Supervisor", "Nurse"} },
			Decision{Allow: true, Role: "Nurse", Roles: []string{"Nurse"}, Apps: nurseApps, ExpiresAt: at(16, 0), EndsBy: EndsByShift, Withheld: []string{"Supervisor"}}, "withheld: role Supervisor requires user verification"},
		{"nurse and supervisor with UV", func(in *Input) { in.Roles = []string{"Supervisor", "Nurse"}; in.UserVerified = true },
			Decision{Allow: true, Role: "Nurse,Supervisor", Roles: []string{"Nurse", "Supervisor"}, Apps: []string{"ehr", "med-cart", "wms-admin"}, Privileged: true, ExpiresAt: at(14, 0), EndsBy: EndsByMaxSession}, "as Nurse,Supervisor"},
		{"certification refusal comes before UV", func(in *Input) {
			in.Roles = []string{"Pharmacist", "Supervisor"}
			in.User.Certifications = nil
		}, refused(wire.RefusedVerifyRequired), "role Pharmacist needs certification pharmacy-license, which the user does not hold; role Supervisor requires user verification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			if tt.mod != nil {
				tt.mod(&in)
			}
			got := Decide(in)
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Decision{}, "Detail")); d != "" {
				t.Errorf("Decide (-want +got):\n%s\ndetail: %s", d, got.Detail)
			}
			if got.Detail == "" || !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("detail %q does not say %q", got.Detail, tt.detail)
			}
		})
	}
}

func TestDefaultRulesFresh(t *testing.T) {
	a := DefaultRules()
	a.Roles["Nurse"] = RoleRule{}
	a.Other.Apps[0] = "changed"
	b := DefaultRules()
	if len(b.Roles["Nurse"].Apps) == 0 || b.Other.Apps[0] != "browser" {
		t.Fatal("DefaultRules shares state between calls")
	}
}

func TestDecideDoesNotModifyInput(t *testing.T) {
	in := base()
	in.Roles = []string{"Supervisor", "Nurse"}
	in.UserVerified = true
	want := base()
	want.Roles = []string{"Supervisor", "Nurse"}
	want.UserVerified = true
	Decide(in)
	if d := cmp.Diff(want, in); d != "" {
		t.Fatalf("input changed (-before +after):\n%s", d)
	}
}

func BenchmarkDecide(b *testing.B) {
	in := base()
	in.Roles = []string{"Supervisor", "Nurse", "Volunteers"}
	in.UserVerified = true
	in.Grants = []store.Grant{grant("Picker", "North", at(9, 0), at(12, 0)), grant("Picker", "South", at(9, 0), at(12, 0))}
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(in); !d.Allow {
			b.Fatal(d.Detail)
		}
	}
}
