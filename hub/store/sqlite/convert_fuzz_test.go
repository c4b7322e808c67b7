package sqlite

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzPlainStrings: whenever the fast path decodes a list of strings, it
// agrees with encoding/json.
func FuzzPlainStrings(f *testing.F) {
	for _, s := range []string{`["ehr"]`, `["ehr","mar","pharmacy"]`, `[""]`, `["a","b",]`, `["a\"b"]`, `["\u00e9"]`,
		`["é","ß"]`, `[ "a" ]`, `["a"`, `[1]`, `["a","b"]x`, "[\"\xff\"]", `["<&>"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := plainStrings(s)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("plainStrings(%q) = %q, but encoding/json refuses it: %v", s, got, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("plainStrings(%q) = %q, encoding/json %q", s, got, want)
		}
	})
}

// TestFromJSONStrings: the lists the store writes come back as they went in.
func TestFromJSONStrings(t *testing.T) {
	for _, in := range [][]string{nil, {}, {"ehr"}, {"ehr", "mar"}, {""}, {`a"b`, `c\d`, "<&>", "é\n"}} {
		s, err := jsonText(in)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		if err := fromJSON(s, &out); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(in, out) || (in == nil) != (out == nil) {
			t.Errorf("%q → %s → %q", in, s, out)
		}
	}
}
