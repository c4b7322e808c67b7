package scim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	filter "github.com/scim2/filter-parser/v2"
)

// checkSimpleValuePath holds the filtered path fast path to the parser:
// whatever it accepts, the parser accepts with the same AST.
func checkSimpleValuePath(t *testing.T, s string) bool {
	t.Helper()
	fast, ok := simpleValuePath(s)
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

func TestSimpleValuePathMatchesParser(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`members[value eq "2819c223-7f76-453a-919d-413861904646"]`, true},
		{`members[value EQ "u1"]`, true},
		{`members[value eq ""]`, true},
		{`members[value eq "a]b"]`, true},
		{`members[value eq "a[b"]`, true},
		{`emails[type eq "work"].value`, true},
		{`emails[type eq "Ward 3 – Nurses"].display`, true},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites[value eq "site-1"]`, true},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq "forklift"].expires`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq "u1"]`, true},
		{`urn:ietf:params:scim:schemas:extension:other:2.0:User:sites[value eq "x"]`, false},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:user:sites[value eq "x"]`, false},
		{`members[value eq "a\"b"]`, false},
		{`members[value eq "a\\b"]`, false},
		{`members[value ne "u1"]`, false},
		{`members[value eq "u1" or value eq "u2"]`, false},
		{`members[ value eq "u1"]`, false},
		{`members[value eq "u1"] `, false},
		{`members[value eq "u1"].`, false},
		{`members[value eq "u1"].a.b`, false},
		{`members[value eq "u1"]x`, false},
		{`members.value[value eq "u1"]`, false},
		{`[value eq "u1"]`, false},
		{`1members[value eq "u1"]`, false},
		{`members[value eq 1]`, false},
		{`members`, false},
	} {
		if got := checkSimpleValuePath(t, tc.in); got != tc.fast {
			t.Errorf("%q: fast path taken = %v, want %v", tc.in, got, tc.fast)
		}
	}
}

func FuzzSimpleValuePath(f *testing.F) {
	for _, s := range []string{`members[value eq "u1"]`, `emails[type eq "work"].value`, `a[b eq "]"].c`,
		`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites[value eq "s"]`, `x:y[v eq "é"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSimpleValuePath(t, s) })
}
