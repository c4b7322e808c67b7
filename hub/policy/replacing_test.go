package policy

import (
	"strings"
	"testing"
)

// TestReplacingKeepsStoredNames: an edit that replaces a stored policy
// (ParseEditReplacing, Rules.MarshalReplacing) holds only its new names
// to the rule of an admin's edit: a role, certification or site name the
// stored version holds, as the same kind of name, keeps the rule it was
// stored under, so a policy saved before store.Hidden refused variation
// selectors can still be changed. A name of another kind, or one the
// stored version does not hold exactly, is refused as before.
func TestReplacingKeepsStoredNames(t *testing.T) {
	const role = `{"name":"Lead\ufe0f","apps":["wms"],"certification":"Forklift\ufe0f","sites":["North\ufe0f"]}`
	doc := func(roles ...string) []byte {
		return []byte(`{"max_session":"12h","shift_grace":"15m","roles":[` + strings.Join(roles, ",") + `],"other":{"apps":[]}}`)
	}
	stored, err := ParseDocument(doc(role))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseEditReplacing(doc(role, `{"name":"Picker","apps":["wms"],"sites":["North\ufe0f"],"certification":"Forklift\ufe0f"}`), nil, stored); err != nil {
		t.Errorf("ParseEditReplacing keeping the stored names: %v", err)
	}
	if _, err := ParseEdit(doc(role), nil); err == nil {
		t.Error("ParseEdit (nothing stored) accepted a role ending in a variation selector")
	}
	if _, err := stored.MarshalReplacing(stored); err != nil {
		t.Errorf("MarshalReplacing of the stored rules: %v", err)
	}
	if _, err := stored.Marshal(); err == nil {
		t.Error("Marshal (nothing stored) accepted a role ending in a variation selector")
	}
	for _, tt := range []struct{ name, role, path string }{
		{"a new role", `{"name":"Picker\ufe0f","apps":["wms"]}`, "roles[1].name"},
		{"a stored site's name as a role", `{"name":"North\ufe0f","apps":["wms"]}`, "roles[1].name"},
		{"a stored role's name as a certification", `{"name":"Picker","apps":["wms"],"certification":"Lead\ufe0f"}`, "roles[1].certification"},
		{"a stored site with another selector", `{"name":"Picker","apps":["wms"],"sites":["North\ufe0e"]}`, "roles[1].sites[0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEditReplacing(doc(role, tt.role), nil, stored)
			if err == nil {
				t.Fatalf("ParseEditReplacing accepted %s", tt.role)
			}
			ve := problemsOf(t, err)
			if len(ve.Problems) != 1 || ve.Problems[0].Path != tt.path || !strings.Contains(ve.Problems[0].Message, "invisible") {
				t.Errorf("problems %+v, want one at %s about an invisible character", ve.Problems, tt.path)
			}
			r, err := ParseDocument(doc(role, tt.role))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.MarshalReplacing(stored); err == nil {
				t.Error("MarshalReplacing accepted what ParseEditReplacing refuses")
			}
		})
	}
}
