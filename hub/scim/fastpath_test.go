package scim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	filter "github.com/scim2/filter-parser/v2"
)

// checkSimpleEquality holds the fast path to the parser: whatever it
// accepts, the parser accepts with the same AST.
func checkSimpleEquality(t *testing.T, s string) bool {
	t.Helper()
	fast, ok := simpleEquality(s)
	if !ok {
		return false
	}
	slow, err := filter.ParseFilterNumber([]byte(s))
	if err != nil {
		t.Fatalf("%q: fast path accepted what the parser refuses: %v", s, err)
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Fatalf("%q: fast path AST differs from the parser's (-parser +fast):\n%s", s, diff)
	}
	return true
}

func TestSimpleEqualityMatchesParser(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`userName eq "bjensen"`, true},
		{`userName EQ "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"`, true},
		{`externalId eq "00ujl29u0le5T6Aj10h7"`, true},
		{`displayName eq "Ward 3 – Nurses"`, true},
		{`userName eq ""`, true},
		{`x-1_a eq "v"`, true},
		{`userName eq "a\"b"`, false},
		{`userName eq "a\\b"`, false},
		{`userName  eq "a"`, false},
		{`userName eq  "a"`, false},
		{`name.familyName eq "a"`, false},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"`, false},
		{`userName ne "a"`, false},
		{`userName eq 1`, false},
		{`userName eq "a" and active eq true`, false},
		{`1user eq "a"`, false},
		{` userName eq "a"`, false},
	} {
		if got := checkSimpleEquality(t, tc.in); got != tc.fast {
			t.Errorf("%q: fast path taken = %v, want %v", tc.in, got, tc.fast)
		}
	}
}

func FuzzSimpleEquality(f *testing.F) {
	for _, s := range []string{`userName eq "bjensen"`, `a eq "é"`, `userName eq "a b"`, `x eq "\x01"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSimpleEquality(t, s) })
}

// checkSimplePath holds the path fast path to the parser.
func checkSimplePath(t *testing.T, s string) bool {
	t.Helper()
	fast, ok := simplePath(s)
	if !ok {
		return false
	}
	slow, err := filter.ParsePathNumber([]byte(s))
	if err != nil {
		t.Fatalf("%q: fast path accepted what the parser refuses: %v", s, err)
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Fatalf("%q: fast path differs from the parser (-parser +fast):\n%s", s, diff)
	}
	return true
}

func TestSimplePathMatchesParser(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{"active", true},
		{"displayName", true},
		{"name.familyName", true},
		{"x-y_1.z2", true},
		{"emails[type eq \"work\"].value", false},
		{"members[value eq \"1\"]", false},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", true},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", true},
		{"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites", true},
		{"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", true},
		{"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User", false},
		{"urn:ietf:params:scim:schemas:extension:other:2.0:User:sites", false},
		{"URN:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites", false},
		{"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:", false},
		{"name.", false},
		{".name", false},
		{"a.b.c", false},
		{"", false},
		{"1a", false},
	} {
		if got := checkSimplePath(t, tc.in); got != tc.fast {
			t.Errorf("%q: fast path taken = %v, want %v", tc.in, got, tc.fast)
		}
	}
}

func FuzzSimplePath(f *testing.F) {
	for _, s := range []string{"active", "name.givenName", "a.b.c", "x-1", "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSimplePath(t, s) })
}

// Microsoft Entra matches users on emails with a filter outside RFC 7644's
// grammar; it must mean the same as the RFC form.
func TestEntraValuePathFilter(t *testing.T) {
	rt := UserResourceType()
	res, err := Normalize(rt, map[string]any{
		"schemas":  []any{UserURN},
		"userName": "ana",
		"emails":   []any{map[string]any{"type": "work", "value": "Ana@Contoso.com"}, map[string]any{"type": "home", "value": "ana@home.example"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		filter string
		match  bool
	}{
		{`emails[type eq "work"].value eq "ana@contoso.com"`, true},
		{`emails[type eq "home"].value eq "ana@contoso.com"`, false},
		{`emails[type eq "work"].value sw "ana@"`, true},
		{`emails[type eq "work"].value eq "ana@home.example"`, false},
	} {
		f, err := ParseFilter(rt, tc.filter)
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if got := f.Match(res); got != tc.match {
			t.Errorf("%s: match = %v, want %v", tc.filter, got, tc.match)
		}
	}
	if _, err := ParseFilter(rt, `emails[type eq "work" or type eq "home"].value eq "x"`); err == nil {
		t.Error("an inner or was rewritten")
	}
}
