package scim

import (
	"testing"
)

// Entra's attr[filter].sub op value is rewritten wherever it stands among
// other clauses, not only as the whole filter: joined with and, or, not or
// parentheses, the filter was refused as invalidFilter, and Entra stopped
// provisioning the user it matched with it.
func TestEntraValuePathCompound(t *testing.T) {
	user := sampleUser(t)
	tests := []struct {
		name, filter string
		want         bool
	}{
		{"alone", `emails[type eq "work"].value eq "bjensen@example.com"`, true},
		{"alone, other type", `emails[type eq "home"].value eq "bjensen@example.com"`, false},
		{"after and", `userName eq "barbara.jensen@example.com" and emails[type eq "work"].value eq "bjensen@example.com"`, true},
		{"after and, no match", `userName eq "barbara.jensen@example.com" and emails[type eq "work"].value eq "babs@jensen.org"`, false},
		{"before and", `emails[type eq "work"].value eq "BJensen@example.com" and userName eq "barbara.jensen@example.com"`, true},
		{"before and, other user", `emails[type eq "work"].value eq "bjensen@example.com" and userName eq "someone"`, false},
		{"or, first holds", `emails[type eq "work"].value eq "bjensen@example.com" or userName eq "someone"`, true},
		{"or, second holds", `userName eq "someone" or emails[type eq "home"].value eq "babs@jensen.org"`, true},
		{"or, neither", `userName eq "someone" or emails[type eq "home"].value eq "bjensen@example.com"`, false},
		{"two of them", `emails[type eq "work"].value eq "bjensen@example.com" and emails[type eq "home"].value co "jensen.org"`, true},
		{"in parentheses", `(emails[type eq "work"].value sw "bjensen") and not (phoneNumbers[type eq "work"].value eq "1")`, true},
		{"pr", `emails[type eq "home"].value pr and userName pr`, true},
		{"a bracket in the value", `emails[type eq "work"].value eq "a]b" or emails[type eq "home"].value ew "org"`, true},
		{"boolean sub-attribute", `emails[type eq "work"].primary eq true and userName eq "barbara.jensen@example.com"`, true},
	}
	users := UserResourceType()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(users, tt.filter)
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", tt.filter, err)
			}
			if got := f.Match(user); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

// What the rewrite cannot express stays invalidFilter rather than
// matching something else: an inner filter with or (brackets cannot group
// it), and text after the bracket that is not a comparison.
func TestEntraValuePathRefused(t *testing.T) {
	users := UserResourceType()
	for _, s := range []string{
		`emails[type eq "work" or type eq "home"].value eq "x" and userName eq "a"`,
		`userName eq "a" and emails[type eq "work"].value`,
		`userName eq "a" and emails[type eq "work"].value eq`,
		`userName eq "a" and emails[type eq "work"].value eq "x"y`,
		`emails[type eq "work"].value eq "x" and emails[type eq "work"].value.x eq "y"`,
	} {
		if _, err := ParseFilter(users, s); err == nil {
			t.Errorf("ParseFilter(%s) = nil error, want invalidFilter", s)
		}
	}
}

// The rewrite leaves the index lookup to an equality AND-ed beside it.
func TestEntraValuePathEquality(t *testing.T) {
	f, err := ParseFilter(UserResourceType(), `emails[type eq "work"].value eq "x" and userName eq "a"`)
	if err != nil {
		t.Fatal(err)
	}
	if attr, v, ok := f.Equality(); !ok || attr != "userName" || v != "a" {
		t.Errorf("Equality() = %q, %q, %v; want userName, a, true", attr, v, ok)
	}
}
