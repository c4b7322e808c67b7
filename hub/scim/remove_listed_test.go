package scim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomListedValue is a value of a (one of indexAttrs) drawn from a few
// choices, so that lists share values, values in another case and partial
// objects; sparse leaves sub-attributes out more often (a listed value).
func randomListedValue(r *rand.Rand, a *Attribute, sparse bool) any {
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	some := func() bool { return r.IntN(3) > 0 || !sparse && r.IntN(2) == 0 }
	switch a.Name {
	case "sites":
		return pick("north", "North", "NORTH", "süd", "SÜD", "east")
	case "members":
		m := map[string]any{}
		if some() {
			m["value"] = pick("u1", "u2", "U1", "u3")
		}
		if some() {
			m["display"] = pick("Ann", "Bob")
		}
		return m
	}
	m := map[string]any{}
	if some() {
		m["value"] = pick("a@x", "A@x", "b@x", "c@x")
	}
	if some() {
		m["type"] = pick("work", "home")
	}
	if r.IntN(4) == 0 {
		m["primary"] = r.IntN(2) == 0
	}
	if r.IntN(3) == 0 {
		m["display"] = pick("d1", "d2")
	}
	return m
}

// matchListed finds what comparing each listed value with each element
// (sameValue or subsetOf, as removeListed did) finds, whatever the values.
func TestMatchListedAgreesWithComparison(t *testing.T) {
	for _, a := range indexAttrs(t) {
		for seed := range uint64(500) {
			r := rand.New(rand.NewPCG(seed, 11))
			var rawEls, rawListed []any
			for range r.IntN(12) {
				rawEls = append(rawEls, randomListedValue(r, a, false))
			}
			for range 1 + r.IntN(5) {
				rawListed = append(rawListed, randomListedValue(r, a, true))
			}
			// Both lists as removeListed has them: normalised, the
			// elements kept in the resource, the listed values from the
			// request (duplicates dropped by normalizeValue).
			var els, listed []any
			for _, x := range rawEls {
				if v, ok, err := normalizeSingle(a, x, a.Name, true); err == nil && ok {
					els = append(els, v)
				}
			}
			nv, ok, err := normalizeValue(a, rawListed, a.Name, true)
			if err != nil || !ok {
				continue
			}
			listed = nv.([]any)
			got := matchListed(a, els, listed)
			for i, el := range els {
				want := slices.ContainsFunc(listed, func(x any) bool { return sameValue(a, x, el) || subsetOf(a, x, el) })
				if got[i] != want {
					t.Errorf("%s, seed %d: element %v named by %v: %v, want %v", a.Name, seed, el, listed, got[i], want)
				}
			}
		}
	}
}

// A remove listing values that are not an attribute's members-like
// "value" is matched through an index: this is a PATCH listing n emails to
// remove from a user with n others. Compared with each element, n = 5,000
// took 12 s through the handler.
func BenchmarkRemoveListed(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var els, listed []string
			for i := range n {
				els = append(els, fmt.Sprintf(`{"type":"work","value":"e%d@x"}`, i))
				listed = append(listed, fmt.Sprintf(`{"type":"work","value":"z%d@x"}`, i))
			}
			res := mustJSON(b, `{"schemas":["`+UserURN+`"],"userName":"u","emails":[`+strings.Join(els, ",")+`]}`)
			ops, err := ParsePatch([]byte(`{"schemas":["` + PatchOpURN + `"],"Operations":[{"op":"remove","path":"emails","value":[` + strings.Join(listed, ",") + `]}]}`))
			if err != nil {
				b.Fatal(err)
			}
			rt := UserResourceType()
			for b.Loop() {
				if _, err := ApplyPatch(rt, res, ops); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzMatchListed holds matchListed to comparing each listed value with
// each element, for any JSON lists and each kind of attribute.
func FuzzMatchListed(f *testing.F) {
	f.Add(`[{"value":"a@x","type":"work"},{"value":"b@x"},{}]`, `[{"type":"work"},{"value":"b@x","primary":true}]`)
	f.Add(`["North","south","SÜD"]`, `["NORTH","süd"]`)
	f.Add(`[{"value":"u1","display":"Ann"},{"value":"u2"},"u1"]`, `[{"value":"u1","display":"Bob"},{"display":null},{}]`)
	f.Add(`[{},""]`, `[{"":""},{"":null}]`)
	attrs := indexAttrs(f)
	f.Fuzz(func(t *testing.T, elsJSON, listedJSON string) {
		e, okEls := decodeJSON(elsJSON)
		l, okListed := decodeJSON(listedJSON)
		els, _ := e.([]any)
		listed, _ := l.([]any)
		if !okEls || !okListed || len(els)*len(listed) > 10_000 {
			return
		}
		for _, a := range attrs {
			got := matchListed(a, els, listed)
			for i, el := range els {
				want := slices.ContainsFunc(listed, func(x any) bool { return sameValue(a, x, el) || subsetOf(a, x, el) })
				if got[i] != want {
					t.Errorf("%s: element %v named by %v: %v, want %v", a.Name, el, listed, got[i], want)
				}
			}
		}
	})
}
