package lifecycle

import (
	"strings"
	"testing"
)

func TestEnterpriseOf(t *testing.T) {
	long := strings.Repeat("x", maxEnterpriseValue+1)
	for _, tc := range []struct {
		name string
		doc  string
		want Enterprise
	}{
		{"none", `{"userName":"a"}`, Enterprise{}},
		{"empty", ``, Enterprise{}},
		{"object manager", `{"` + enterpriseURN + `":{"department":" Ward 3 ","manager":{"value":"m-1","displayName":"Mo"}}}`, Enterprise{Manager: "m-1", Department: "Ward 3"}},
		{"Entra plain string", `{"` + enterpriseURN + `":{"manager":"m-2"}}`, Enterprise{Manager: "m-2"}},
		{"keys in other case", `{"` + enterpriseURN + `":{"Department":"D","Manager":{"Value":"m-3"}}}`, Enterprise{Manager: "m-3", Department: "D"}},
		{"wrong types", `{"` + enterpriseURN + `":{"department":7,"manager":{"value":true}}}`, Enterprise{}},
		{"extension not an object", `{"` + enterpriseURN + `":"x"}`, Enterprise{}},
		{"malformed", `{"` + enterpriseURN + `":{`, Enterprise{}},
		{"too long", `{"` + enterpriseURN + `":{"manager":"` + long + `"}}`, Enterprise{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := EnterpriseOf([]byte(tc.doc)); got != tc.want {
				t.Errorf("EnterpriseOf(%s) = %+v, want %+v", tc.doc, got, tc.want)
			}
		})
	}
}

// FuzzEnterpriseOf: no document makes the reader panic, and what it
// returns is trimmed and bounded.
func FuzzEnterpriseOf(f *testing.F) {
	f.Add([]byte(`{"` + enterpriseURN + `":{"department":"Ward 3","manager":{"value":"m-1"}}}`))
	f.Add([]byte(`{"` + enterpriseURN + `":{"manager":"m-2"}}`))
	f.Add([]byte(`{"` + enterpriseURN + `":[1,2]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		e := EnterpriseOf(doc)
		for _, v := range []string{e.Manager, e.Department} {
			if len(v) > maxEnterpriseValue || v != strings.TrimSpace(v) {
				t.Fatalf("EnterpriseOf(%q) = %+v: value untrimmed or too long", doc, e)
			}
		}
	})
}
