package policy

import (
	"strings"
	"testing"
)

// TestParseEditRefusesInvisibleFillers: besides format characters (Cf),
// Unicode has invisible letters and marks that spoofing uses because
// "invisible character" filters miss them (Other_Default_Ignorable_Code_Point:
// Hangul fillers, the combining grapheme joiner, Khmer inherent vowels).
// "Nurse" followed by a Hangul filler reads as "Nurse" in the console and
// the audit trail yet matches no user's role, exactly as with a
// zero-width space; an admin's edit refuses both. A stored policy holding
// one still loads.
func TestParseEditRefusesInvisibleFillers(t *testing.T) {
	doc := func(role string) []byte {
		return []byte(`{"max_session":"12h","shift_grace":"15m","roles":[{"name":"Picker","apps":["wms"]},` + role + `],"other":{"apps":[]}}`)
	}
	tests := []struct {
		name, role, path string
	}{
		{"Hangul filler after a role name", `{"name":"Nurse\u3164","apps":["ehr"]}`, "roles[1].name"},
		{"Hangul choseong filler in a role name", `{"name":"Nurse\u115f","apps":["ehr"]}`, "roles[1].name"},
		{"halfwidth Hangul filler in a site", `{"name":"Nurse","apps":["ehr"],"sites":["north\uffa0"]}`, "roles[1].sites[0]"},
		{"combining grapheme joiner in a certification", `{"name":"Nurse","apps":["ehr"],"certification":"R\u034fN"}`, "roles[1].certification"},
		{"Khmer inherent vowel in a role name", `{"name":"Nu\u17b4rse","apps":["ehr"]}`, "roles[1].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseDocument(doc(tt.role)); err != nil {
				t.Errorf("ParseDocument (a stored policy): %v, want it to load", err)
			}
			_, err := ParseEdit(doc(tt.role), nil)
			if err == nil {
				t.Fatalf("ParseEdit accepted %s", tt.role)
			}
			ve := problemsOf(t, err)
			if len(ve.Problems) != 1 || ve.Problems[0].Path != tt.path || !strings.Contains(ve.Problems[0].Message, "invisible") {
				t.Errorf("ParseEdit problems %+v, want one at %s about an invisible character", ve.Problems, tt.path)
			}
		})
	}
	// Korean names, which use Hangul letters (not fillers), are names.
	if _, err := ParseEdit(doc(`{"name":"간호사","apps":["ehr"],"sites":["서울"]}`), nil); err != nil {
		t.Errorf("ParseEdit of Korean names: %v", err)
	}
}

// TestMarshalHoldsNewVersionsToTheEditRule: Rules.Marshal writes every
// new version of the stored policy, whichever way the change came (the
// console's forms build Rules, not a document, and reach the store through
// lifecycle.Engine.UpdatePolicy, which marshals them). So it refuses the
// names an admin's PUT refuses (ParseEdit): a console form must not store
// "Nurse" followed by a zero-width space that the API would refuse.
// Validate says the same as Marshal.
func TestMarshalHoldsNewVersionsToTheEditRule(t *testing.T) {
	tests := []struct {
		name string
		rule func(r *Rules)
		path string
	}{
		{"zero-width space in a role name", func(r *Rules) { r.Roles["Nurse\u200b"] = RoleRule{Apps: []string{"ehr"}} }, "roles[0].name"},
		{"Hangul filler in a role name", func(r *Rules) { r.Roles["Nurse\u3164"] = RoleRule{Apps: []string{"ehr"}} }, "roles[0].name"},
		{"bidi isolate in a site", func(r *Rules) {
			r.Roles["Nurse"] = RoleRule{Apps: []string{"ehr"}, Sites: []string{"\u2066south\u2069"}}
		}, "roles[0].sites[0]"},
		{"word joiner in a certification", func(r *Rules) {
			r.Roles["Nurse"] = RoleRule{Apps: []string{"ehr"}, Certification: "RN\u2060"}
		}, "roles[0].certification"},
		{"right-to-left override in the other rule's sites", func(r *Rules) {
			r.Other = RoleRule{Apps: []string{"browser"}, Sites: []string{"\u202ehtron"}}
		}, "other.sites[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rules{MaxSession: DefaultMaxSession, Roles: map[string]RoleRule{}}
			tt.rule(&r)
			b, err := r.Marshal()
			if err == nil {
				t.Fatalf("Marshal wrote %s", b)
			}
			ve := problemsOf(t, err)
			if len(ve.Problems) != 1 || ve.Problems[0].Path != tt.path || !strings.Contains(ve.Problems[0].Message, "invisible") {
				t.Errorf("Marshal problems %+v, want one at %s about an invisible character", ve.Problems, tt.path)
			}
			if err := r.Validate(); err == nil {
				t.Error("Validate accepted what Marshal refuses")
			}
		})
	}
	if _, err := DefaultRules().Marshal(); err != nil {
		t.Errorf("DefaultRules().Marshal(): %v", err)
	}
}
