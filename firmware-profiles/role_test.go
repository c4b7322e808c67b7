package profiles

import (
	"testing"
)

// TestRoleNamesThatNeverMatch: the hub trims group names and compares roles with
// strings.EqualFold, and a session's roles are joined with ",". A role key that can never be
// one of those names, or that two keys both match, must be refused: otherwise a role the
// profile says needs user verification silently gets the default (fail open), or gets
// whichever of two keys map iteration finds first.
func TestRoleNamesThatNeverMatch(t *testing.T) {
	tests := []struct {
		name  string
		roles map[string]any
		apps  map[string]any
		want  []Problem
	}{
		{
			name:  "trailing space in a UV role",
			roles: map[string]any{"Pharmacist ": "required"},
			want: []Problem{{File: "kiosk.json", Field: `userVerification.roles["Pharmacist "]`,
				Message: `role name has leading or trailing spaces; roles are group names, which the hub trims, so it would never match`}},
		},
		{
			name:  "leading tab in a UV role",
			roles: map[string]any{"\tPharmacist": "required"},
			want: []Problem{{File: "kiosk.json", Field: `userVerification.roles["\tPharmacist"]`,
				Message: `role name has leading or trailing spaces; roles are group names, which the hub trims, so it would never match`}},
		},
		{
			name:  "comma in a UV role",
			roles: map[string]any{"Nurse,Pharmacist": "required"},
			want: []Problem{{File: "kiosk.json", Field: `userVerification.roles["Nurse,Pharmacist"]`,
				Message: `role name contains ","; a session's roles are separated by commas, so it would never match`}},
		},
		{
			name:  "keys equal under Unicode case folding but not ToLower",
			roles: map[string]any{"Supervisor": "required", "ſupervisor": "discouraged"},
			want: []Problem{{File: "kiosk.json", Field: `userVerification.roles["ſupervisor"]`,
				Message: `names the same role as "Supervisor": role names compare without case`}},
		},
		{
			name: "trailing space in an apps role",
			apps: map[string]any{"Nurse ": []any{map[string]any{"id": "ehr", "label": "EHR", "command": []any{"/usr/bin/ehr"}}}},
			want: []Problem{{File: "kiosk.json", Field: `apps["Nurse "]`,
				Message: `role name has leading or trailing spaces; roles are group names, which the hub trims, so it would never match`}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := patch(t, func(m map[string]any) {
				if tc.roles != nil {
					obj(m, "userVerification")["roles"] = tc.roles
				}
				if tc.apps != nil {
					m["apps"] = tc.apps
				}
			})
			p, err := Parse("kiosk.json", []byte(data))
			if err == nil {
				t.Fatalf("Parse accepted the profile: roles %q, UVFor(\"supervisor\") = %q", p.UserVerification.Roles, p.UVFor("supervisor"))
			}
			checkProblems(t, err, tc.want)
		})
	}
}

// TestMissingAllowedAAGUIDs: allowedAAGUIDs is required, and only an explicit [] means any
// authenticator model. A file that leaves the field out (a line lost in an edit or a merge)
// must not silently open the kiosk to every model.
func TestMissingAllowedAAGUIDs(t *testing.T) {
	data := patch(t, func(m map[string]any) { delete(m, "allowedAAGUIDs") })
	p, err := Parse("kiosk.json", []byte(data))
	if err == nil {
		t.Fatalf("Parse accepted a profile without allowedAAGUIDs: AAGUIDAllowed(any model) = %v", p.AAGUIDAllowed(make([]byte, 16)))
	}
	checkProblems(t, err, []Problem{{File: "kiosk.json", Field: "allowedAAGUIDs",
		Message: "missing; list the AAGUIDs of the authenticator models allowed, or [] for any model"}})

	any := patch(t, func(m map[string]any) { m["allowedAAGUIDs"] = []any{} })
	p, err = Parse("kiosk.json", []byte(any))
	if err != nil {
		t.Fatalf("allowedAAGUIDs []: %v", err)
	}
	if !p.AAGUIDAllowed(make([]byte, 16)) {
		t.Error("allowedAAGUIDs [] does not admit any model")
	}
}
