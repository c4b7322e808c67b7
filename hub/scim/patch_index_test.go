package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeJSON decodes s as a request body's value is decoded (numbers as
// json.Number); ok is false when s is not one JSON value.
func decodeJSON(s string) (any, bool) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil || d.More() {
		return nil, false
	}
	return v, true
}

// numbersTyped replaces json.Numbers with int64 or float64, as
// normalisation does, so that those types are compared too.
func numbersTyped(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = numbersTyped(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = numbersTyped(e)
		}
		return l
	}
	return v
}

var jsonPairs = [][2]string{
	{`{"value":"a","type":"work"}`, `{"type":"work","value":"a"}`},
	{`{"value":"a","type":"work"}`, `{"value":"a","type":"Work"}`},
	{`{"value":"a"}`, `{"value":"a","primary":false}`},
	{`{"value":"a","primary":null}`, `{"value":"a"}`},
	{`{}`, `{}`}, {`[]`, `[]`}, {`[]`, `{}`}, {`null`, `null`}, {`[null]`, `[]`},
	{`1`, `1.0`}, {`0`, `-0`}, {`0.0`, `-0.0`}, {`1e2`, `100`}, {`true`, `"true"`}, {`"a"`, `"A"`},
	{`"Straße"`, `"STRASSE"`}, {`"ſ"`, `"s"`}, {`"K"`, `"k"`}, {`"\u212a"`, `"k"`},
	{`[1,[2,{"a":[3]}]]`, `[1,[2,{"a":[3]}]]`}, {`[1,[2,{"a":[3]}]]`, `[1,[2,{"a":[4]}]]`},
	{`{"value":"u1","display":"x"}`, `{"value":"u1","display":"y"}`}, {`{"value":"u1"}`, `{"value":"U1"}`},
	{`{"value":1}`, `{"value":1}`}, {`{"value":["u1"]}`, `{"value":["u1"]}`},
}

// jsonEqual is reflect.DeepEqual on the values requests decode to, and on
// those with typed numbers.
func checkJSONEqual(t *testing.T, a, b string) {
	x, okx := decodeJSON(a)
	y, oky := decodeJSON(b)
	if !okx || !oky {
		return
	}
	for _, pair := range [][2]any{{x, y}, {y, x}, {x, x}, {numbersTyped(x), numbersTyped(y)}, {numbersTyped(x), y}} {
		if got, want := jsonEqual(pair[0], pair[1]), reflect.DeepEqual(pair[0], pair[1]); got != want {
			t.Fatalf("jsonEqual(%#v, %#v) = %v, reflect.DeepEqual %v", pair[0], pair[1], got, want)
		}
	}
}

func TestJSONEqualIsDeepEqual(t *testing.T) {
	for _, p := range jsonPairs {
		checkJSONEqual(t, p[0], p[1])
	}
	// Other types are reflect.DeepEqual's.
	for _, p := range [][2]any{{[]string{"a"}, []string{"a"}}, {[]string{"a"}, []any{"a"}}, {1, 1}, {1, int64(1)}} {
		if jsonEqual(p[0], p[1]) != reflect.DeepEqual(p[0], p[1]) {
			t.Errorf("jsonEqual(%#v, %#v) differs from reflect.DeepEqual", p[0], p[1])
		}
	}
}

func FuzzJSONEqual(f *testing.F) {
	for _, p := range jsonPairs {
		f.Add(p[0], p[1])
	}
	f.Fuzz(checkJSONEqual)
}

// indexAttrs are attributes of each kind a valueIndex keys differently:
// strings not caseExact (sites), complex values (emails), members-like
// values (a group's members).
func indexAttrs(t testing.TB) []*Attribute {
	users, groups := UserResourceType(), GroupResourceType()
	sites := users.lookup(ShiftgateUserURN, "sites")
	emails, members := users.Attribute("emails"), groups.Attribute("members")
	if sites == nil || emails == nil || members == nil || !membersLike(members) || sites.CaseExact {
		t.Fatalf("schema changed: sites %v, emails %v, members %v", sites, emails, members)
	}
	return []*Attribute{sites, emails, members}
}

// checkSameKey holds sameKey and valueIndex to sameValue: two values
// sameValue holds the same have the same key, and a keyed index finds
// what comparing with each value finds.
func checkSameKey(t *testing.T, attrs []*Attribute, a, b string) {
	x, okx := decodeJSON(a)
	y, oky := decodeJSON(b)
	if !okx || !oky {
		return
	}
	for _, attr := range attrs {
		for _, pair := range [][2]any{{x, y}, {y, x}, {numbersTyped(x), numbersTyped(y)}} {
			x, y := pair[0], pair[1]
			kx, okx := sameKey(attr, x)
			ky, oky := sameKey(attr, y)
			if okx && sameValue(attr, x, y) && (!oky || kx != ky) {
				t.Fatalf("%s: sameValue(%#v, %#v) but keys %q (%v), %q (%v)", attr.Name, x, y, kx, okx, ky, oky)
			}
			list := []any{y, map[string]any{"value": "other"}, "other"}
			scan := newValueIndex(attr, nil, list, 0)
			keyed := newValueIndex(attr, nil, list, indexAbove+1)
			if scan.groups != nil && !membersLike(attr) || keyed.groups == nil {
				t.Fatalf("%s: scan keyed %v, keyed keyed %v", attr.Name, scan.groups != nil, keyed.groups != nil)
			}
			if s, k := scan.has(x), keyed.has(x); s != k {
				t.Fatalf("%s: has(%#v) in %#v: compared %v, keyed %v", attr.Name, x, list, s, k)
			}
		}
	}
}

func TestSameKeyFollowsSameValue(t *testing.T) {
	attrs := indexAttrs(t)
	for _, p := range jsonPairs {
		checkSameKey(t, attrs, p[0], p[1])
	}
}

func FuzzSameKey(f *testing.F) {
	for _, p := range jsonPairs {
		f.Add(p[0], p[1])
	}
	attrs := indexAttrs(f)
	f.Fuzz(func(t *testing.T, a, b string) { checkSameKey(t, attrs, a, b) })
}

// patchSequence builds a PATCH of n operations from seed: adds of values
// to multi-valued attributes, one operation at a time and many at once,
// with duplicates, case variants and primary values, between operations
// that change the same lists otherwise (filtered replaces and removes,
// removes of listed values, replaces, value objects).
func patchSequence(seed uint64, n int, group bool) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	email := func() string {
		v := fmt.Sprintf(`{"value":"%s%d@example.com","type":%q`, pick("a", "A", "b"), r.IntN(6), pick("work", "home", "other"))
		if r.IntN(3) == 0 {
			v += `,"primary":true`
		}
		return v + "}"
	}
	many := func(one func() string) string {
		k := 1 + r.IntN(3)
		if r.IntN(4) == 0 {
			k = indexAbove + r.IntN(10)
		}
		var l []string
		for range k {
			l = append(l, one())
		}
		return "[" + strings.Join(l, ",") + "]"
	}
	site := func() string { return fmt.Sprintf(`"%s-%d"`, pick("site", "SITE", "Site"), r.IntN(5)) }
	member := func() string {
		return fmt.Sprintf(`{"value":"u%d"%s}`, r.IntN(30), pick("", `,"display":"x"`, `,"type":"User"`))
	}
	ext := ShiftgateUserURN
	var ops []string
	for range n {
		var op string
		if r.IntN(3) == 0 {
			// Removes with one eq clause, which make a run (patchRuns).
			switch k := r.IntN(6); {
			case group:
				op = fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s%d\"]"}`, pick("u", "U"), r.IntN(30))
				if k == 0 {
					op = fmt.Sprintf(`{"op":"remove","path":"members[display eq \"%s\"]"}`, pick("x", "X", "y"))
				}
			case k < 2:
				op = fmt.Sprintf(`{"op":"remove","path":"emails[value eq \"%s%d@example.com\"]"}`, pick("a", "A", "b"), r.IntN(6))
			case k < 3:
				op = fmt.Sprintf(`{"op":"remove","path":"emails[type eq \"%s\"]"}`, pick("work", "home", "Other"))
			case k < 4:
				op = fmt.Sprintf(`{"op":"remove","path":"%s:sites[value eq \"%s-%d\"]"}`, ext, pick("site", "SITE"), r.IntN(5))
			case k < 5:
				op = fmt.Sprintf(`{"op":"replace","value":{"emails[value eq \"a%d@example.com\"]":null,"%s:sites[value eq \"site-%d\"]":null}}`, r.IntN(6), ext, r.IntN(5))
			default:
				op = fmt.Sprintf(`{"op":"remove","path":"emails[value eq \"a%d@example.com\"].display"}`, r.IntN(6))
			}
			ops = append(ops, op)
			continue
		}
		switch k := r.IntN(12); {
		case group && k < 7:
			op = `{"op":"add","path":"members","value":` + many(member) + `}`
		case group && k < 9:
			op = fmt.Sprintf(`{"op":"remove","path":"members[value eq \"u%d\"]"}`, r.IntN(30))
		case group && k < 10:
			op = `{"op":"remove","path":"members","value":` + many(member) + `}`
		case group && k < 11:
			op = `{"op":"add","value":{"members":` + many(member) + `,"displayName":"G"}}`
		case group:
			op = `{"op":"replace","path":"members","value":` + many(member) + `}`
		case k < 4:
			op = `{"op":"add","path":"emails","value":` + many(email) + `}`
		case k < 6:
			op = `{"op":"add","path":"` + ext + `:sites","value":` + many(site) + `}`
		case k < 7:
			op = `{"op":"add","value":{"emails":` + many(email) + `,"` + ext + `:sites":` + many(site) + `}}`
		case k < 8:
			op = fmt.Sprintf(`{"op":"replace","path":"emails[type eq \"%s\"].primary","value":true}`, pick("work", "home"))
		case k < 9:
			op = fmt.Sprintf(`{"op":"remove","path":"emails[value sw \"%s\"]"}`, pick("a", "b", "A"))
		case k < 10:
			op = `{"op":"remove","path":"` + ext + `:sites","value":` + many(site) + `}`
		case k < 11:
			op = `{"op":"add","path":"` + ext + `","value":{"sites":` + many(site) + `}}`
		case k < 12 && r.IntN(2) == 0:
			// A value object unassigning the whole extension: its object
			// goes without an operation on a path.
			op = `{"op":"replace","value":{"` + ext + `":null}}`
		default:
			op = `{"op":"` + pick("remove", "replace") + `","path":"` + pick("emails", ext) + `"` + pick(``, `,"value":`+many(email)) + `}`
		}
		ops = append(ops, op)
	}
	return []byte(`{"schemas":["` + PatchOpURN + `"],"Operations":[` + strings.Join(ops, ",") + `]}`)
}

// checkReuse applies body with and without reusing the indexes of earlier
// adds: the same resource or the same error.
func checkReuse(t *testing.T, rt *ResourceType, res map[string]any, body []byte) {
	ops, err := ParsePatch(body)
	if err != nil {
		return
	}
	fresh, ferr := applyPatch(rt, res, ops, false)
	reused, rerr := applyPatch(rt, res, ops, true)
	if fmt.Sprint(ferr) != fmt.Sprint(rerr) {
		t.Fatalf("%s\nerror indexing afresh %v, reusing %v", body, ferr, rerr)
	}
	if diff := cmp.Diff(fresh, reused); diff != "" {
		t.Fatalf("%s\nresult differs (-afresh +reusing):\n%s", body, diff)
	}
}

// Operations that add to a list reuse the index an earlier add built, and
// filtered removes are made together (patchRuns); the result is what
// making each operation alone gives, whatever the operations between them
// do to the lists.
func TestApplyPatchReuseMatchesFresh(t *testing.T) {
	users, groups := UserResourceType(), GroupResourceType()
	user := sampleUser(t)
	group := map[string]any{"schemas": []any{GroupURN}, "id": "g", "displayName": "Nurse",
		"members": []any{map[string]any{"value": "u1"}, map[string]any{"value": "u2", "type": "User"}}}
	applied := 0
	for seed := range uint64(300) {
		for _, n := range []int{1, 3, 8, 20} {
			checkReuse(t, users, user, patchSequence(seed, n, false))
			checkReuse(t, groups, group, patchSequence(seed, n, true))
			if ops, err := ParsePatch(patchSequence(seed, n, false)); err == nil {
				if _, err := ApplyPatch(users, user, ops); err == nil {
					applied++
				}
			}
		}
	}
	if applied < 300 {
		t.Errorf("only %d of 1200 generated PATCHes applied: the comparison tests too little", applied)
	}
}

func FuzzApplyPatchReuse(f *testing.F) {
	for seed := range uint64(20) {
		f.Add(patchSequence(seed, 10, false), false)
		f.Add(patchSequence(seed, 10, true), true)
	}
	users, groups := UserResourceType(), GroupResourceType()
	user := sampleUser(f)
	group := map[string]any{"schemas": []any{GroupURN}, "id": "g", "displayName": "Nurse", "members": []any{map[string]any{"value": "u1"}}}
	f.Fuzz(func(t *testing.T, body []byte, isGroup bool) {
		if isGroup {
			checkReuse(t, groups, group, body)
		} else {
			checkReuse(t, users, user, body)
		}
	})
}

// The cost of a PATCH grows with its size, not with its square: parsing
// allocated per character looked at (filter-parser), and applying compared
// each added value with every value before it (reflect.DeepEqual,
// allocating on each comparison), and each filtered remove evaluated its
// filter on every value and copied the rest. Allocations are counted
// rather than time measured, so that a busy machine does not fail the
// test.
func TestPatchCostIsLinear(t *testing.T) {
	// Parsing is filter-parser's, which allocates for every character it
	// looks at (about 19 allocations a byte of PATCH, 57 a byte of
	// filter): the cost per byte must not grow with the size.
	perByte := func(n int, parse func(), size int) float64 {
		return testing.AllocsPerRun(n, parse) / float64(size)
	}
	var patchRate [2]float64
	for i, size := range []int{64 << 10, 256 << 10} {
		body := largePatchBody(size)
		patchRate[i] = perByte(2, func() {
			if _, err := ParsePatch(body); err != nil {
				t.Fatal(err)
			}
		}, len(body))
	}
	if patchRate[1] > 1.25*patchRate[0] {
		t.Errorf("ParsePatch: %.2f allocations a byte at 64 KiB, %.2f at 256 KiB; want the same", patchRate[0], patchRate[1])
	}
	var filterRate [2]float64
	for i, size := range []int{maxFilterLen / 4, maxFilterLen} {
		flt := largeFilter(size)
		filterRate[i] = perByte(5, func() {
			if _, err := ParseFilter(UserResourceType(), flt); err != nil {
				t.Fatal(err)
			}
		}, len(flt))
	}
	if filterRate[1] > 1.25*filterRate[0] {
		t.Errorf("ParseFilter: %.2f allocations a byte at 1 KiB, %.2f at 4 KiB; want the same", filterRate[0], filterRate[1])
	}

	// n operations each adding one email, n adding one site, n adding one
	// member to a group, and n removing one member each from a group of
	// 2n: 4n cost about 4 times n, not 16. The cost is the bytes allocated.
	patch := func(n int, path, value string) []Operation {
		var b bytes.Buffer
		b.WriteString(`{"schemas":["` + PatchOpURN + `"],"Operations":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			if value == "" {
				fmt.Fprintf(&b, `{"op":"remove","path":"`+path+`"}`, i)
			} else {
				fmt.Fprintf(&b, `{"op":"add","path":%q,"value":[`+value+`]}`, path, i)
			}
		}
		b.WriteString(`]}`)
		ops, err := ParsePatch(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return ops
	}
	for _, tc := range []struct {
		rt          *ResourceType
		path, value string
		members     bool // the resource starts with 2n members
	}{
		{UserResourceType(), "emails", `{"value":"w%d@example.com","type":"other"}`, false},
		{UserResourceType(), ShiftgateUserURN + ":sites", `"Site-%d"`, false},
		{GroupResourceType(), "members", `{"value":"u%d"}`, false},
		{GroupResourceType(), `members[value eq \"u%d\"]`, "", true},
	} {
		cost := func(n int) uint64 {
			ops := patch(n, tc.path, tc.value)
			res := map[string]any{"schemas": []any{tc.rt.Schema.ID}, "id": "x", "userName": "x", "displayName": "x"}
			if tc.members {
				members := make([]any, 2*n)
				for i := range members {
					members[i] = map[string]any{"value": fmt.Sprintf("u%d", i)}
				}
				res["members"] = members
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := ApplyPatch(tc.rt, res, ops); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			return after.TotalAlloc - before.TotalAlloc
		}
		small, large := cost(500), cost(2000)
		if ratio := float64(large) / float64(small); ratio > 6 {
			t.Errorf("%s: 500 operations allocate %d bytes, 2000 %d (%.1f times); want about 4 times", tc.path, small, large, ratio)
		}
	}
}
