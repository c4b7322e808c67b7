package scim

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// alternatingSequence is a PATCH body of n operations that mostly add
// values to a list and remove values from it with one `eq` clause, in
// any interleaving, on one list or several: a group's members (by value,
// in either case, or by display) or a user's emails and sites (by value
// or type). Now and then an operation of another kind comes between them
// (a filtered replace, a remove by listed values, a replace of the whole
// list, a value object), or one that fails (a replace of a member that is
// not there, a member without a value), which must fail the whole PATCH.
//
// The operations name one list in several spellings (plain, in another
// case, qualified by its schema's URN), which must share one index; and
// besides the removes the index makes (patchRuns.remove) come the ones it
// must leave to the filter, between and on the same lists: a clause on a
// boolean or a number (which fails), ne, co, and, or, a filtered
// sub-attribute, a null in a replace's value object (with the extension
// itself unassigned in the same object), and values with quotes,
// backslashes and \u escapes, which the path fast path leaves to the
// parser.
func alternatingSequence(seed uint64, n int, group bool) []byte {
	r := rand.New(rand.NewPCG(seed, 11))
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	ext := ShiftgateUserURN
	members := func() string { return pick("members", "members", "Members", GroupURN+":members") }
	emails := func() string { return pick("emails", "emails", "EMAILS", UserURN+":emails") }
	sites := func() string {
		return pick(ext+":sites", ext+":sites", ext+":SITES", strings.ToLower(ext)+":sites")
	}
	// A display as a filter compares it, and as a JSON value carries it:
	// a quote, a backslash, and a quote escaped as \u0022.
	display := func() (filterText, jsonValue string) {
		switch r.IntN(3) {
		case 0:
			return `q\\\"q`, `q\"q`
		case 1:
			return `b\\\\s`, `b\\s`
		}
		return `q\\u0022q`, `q\"q`
	}
	var ops []string
	for range n {
		var op string
		k := r.IntN(24)
		switch {
		case group && k < 8:
			var vals []string
			for range 1 + r.IntN(2) {
				d := pick("", `,"display":"x"`, `,"display":"Y"`)
				if r.IntN(4) == 0 {
					_, v := display()
					d = `,"display":"` + v + `"`
				}
				vals = append(vals, fmt.Sprintf(`{"value":"%s%d"%s}`, pick("u", "U"), r.IntN(12), d))
			}
			op = `{"op":"` + pick("add", "Add") + `","path":"` + members() + `","value":[` + strings.Join(vals, ",") + `]}`
		case group && k < 15:
			op = fmt.Sprintf(`{"op":"remove","path":"%s[%s %s \"%s%d\"]"}`, members(), pick("value", "Value"), pick("eq", "EQ"), pick("u", "U"), r.IntN(12))
		case group && k < 17:
			f, _ := display()
			op = fmt.Sprintf(`{"op":"remove","path":"%s[display eq \"%s\"]"}`, members(), pick("x", "X", "y", f))
		case group && k < 18:
			op = fmt.Sprintf(`{"op":"replace","path":"members[value eq \"u%d\"].display","value":"d"}`, r.IntN(12))
		case group && k < 19:
			op = fmt.Sprintf(`{"op":"remove","path":"members","value":[{"value":"u%d"}]}`, r.IntN(12))
		case group && k < 20:
			op = pick(`{"op":"add","value":{"members":[{"value":"u1"}]}}`, `{"op":"replace","path":"members","value":[{"value":"u2"},{"value":"u3"}]}`,
				`{"op":"add","path":"members","value":[{"display":"no value"}]}`)
		case group && k < 21:
			v := fmt.Sprintf("u%d", r.IntN(12))
			op = pick(`{"op":"remove","path":"`+members()+`[value eq \"`+v+`\" or value eq \"u1\"]"}`,
				`{"op":"remove","path":"`+members()+`[value eq \"`+v+`\" and display eq \"x\"]"}`,
				`{"op":"remove","path":"`+members()+`[value ne \"`+v+`\"]"}`,
				`{"op":"remove","path":"`+members()+`[value co \"`+v+`\"]"}`)
		case group && k < 22:
			op = fmt.Sprintf(`{"op":"replace","value":{"%s[value eq \"u%d\"]":null}}`, members(), r.IntN(12))
		case group && k < 23:
			op = fmt.Sprintf(`{"op":"remove","path":"%s[value eq \"u%d\"].display"}`, members(), r.IntN(12))
		case group:
			op = pick(`{"op":"remove","path":"members[value eq 5]"}`, `{"op":"remove","path":"members[type eq \"User\"]"}`,
				`{"op":"replace","path":"displayName","value":"H"}`, `{"op":"replace","path":"displayName","value":"H"}`)
		case k < 5:
			d := pick("", "", `,"primary":true`)
			if r.IntN(5) == 0 {
				_, v := display()
				d = `,"display":"` + v + `"`
			}
			op = fmt.Sprintf(`{"op":"add","path":"%s","value":[{"value":"%s%d@example.com","type":%q%s}]}`,
				emails(), pick("a", "A"), r.IntN(8), pick("work", "home"), d)
		case k < 9:
			op = fmt.Sprintf(`{"op":"remove","path":"%s[%s eq \"%s%d@example.com\"]"}`, emails(), pick("value", "VALUE"), pick("a", "A"), r.IntN(8))
		case k < 10:
			op = fmt.Sprintf(`{"op":"remove","path":"%s[type eq \"%s\"]"}`, emails(), pick("work", "Home"))
		case k < 13:
			op = fmt.Sprintf(`{"op":"add","path":"%s","value":["%s-%d"]}`, sites(), pick("site", "SITE"), r.IntN(8))
		case k < 17:
			op = fmt.Sprintf(`{"op":"remove","path":"%s[%s eq \"%s-%d\"]"}`, sites(), pick("value", "Value"), pick("site", "Site"), r.IntN(8))
		case k < 18:
			op = fmt.Sprintf(`{"op":"replace","path":"emails[value eq \"a%d@example.com\"].primary","value":true}`, r.IntN(8))
		case k < 19:
			op = pick(`{"op":"replace","value":{"`+ext+`":null}}`, `{"op":"remove","path":"`+ext+`:sites","value":["site-1"]}`,
				`{"op":"add","value":{"emails":[{"value":"a1@example.com"}],"`+ext+`:sites":["site-2"]}}`)
		case k < 20:
			op = pick(`{"op":"replace","path":"emails[value eq \"nobody@example.com\"]","value":{"display":"x"}}`,
				`{"op":"replace","path":"emails","value":[{"value":"a2@example.com","primary":true}]}`,
				`{"op":"remove","path":"emails[value eq \"a3@example.com\"].display"}`)
		case k < 21:
			f, _ := display()
			op = pick(`{"op":"remove","path":"`+emails()+`[display eq \"`+f+`\"]"}`,
				`{"op":"remove","path":"`+emails()+`[primary eq `+pick("true", "false", `\"true\"`)+`]"}`,
				`{"op":"remove","path":"`+emails()+`[value eq \"a1@example.com\" or type eq \"home\"]"}`,
				`{"op":"remove","path":"`+sites()+`[value `+pick("ne", "sw")+` \"site-1\"]"}`)
		case k < 22:
			// In a value object, the null of the filtered key (sorted
			// before the extension's URN) and the extension's own null or
			// object are made in one operation.
			op = fmt.Sprintf(`{"op":"replace","value":{"%s[value eq \"site-%d\"]":null%s}}`, sites(), r.IntN(8),
				pick("", `,"`+ext+`":null`, `,"`+ext+`":{"sites":["site-9"]}`, `,"title":"t"`))
		case k < 23:
			op = fmt.Sprintf(`{"op":"replace","value":{"%s[value eq \"a%d@example.com\"]":null,"emails[type eq \"work\"].value":"a5@example.com"}}`, emails(), r.IntN(8))
		default:
			op = pick(`{"op":"remove","path":"`+sites()+`[value eq 5]"}`, `{"op":"remove","path":"`+ext+`"}`,
				`{"op":"add","path":"emails[type eq \"work\"].value","value":"a6@example.com"}`)
		}
		ops = append(ops, op)
	}
	return []byte(`{"schemas":["` + PatchOpURN + `"],"Operations":[` + strings.Join(ops, ",") + `]}`)
}

// checkSequential applies body with the operations handing their lists on
// (patchRuns) and with each made alone on the resource the one before it
// left: the same resource or the same error, and res untouched either way.
func checkSequential(t *testing.T, rt *ResourceType, res map[string]any, body []byte) (applied bool) {
	t.Helper()
	ops, err := ParsePatch(body)
	if err != nil {
		return false
	}
	before := deepCopy(res)
	one, oerr := applyPatch(rt, res, ops, false)
	runs, rerr := applyPatch(rt, res, ops, true)
	if fmt.Sprint(oerr) != fmt.Sprint(rerr) {
		t.Fatalf("%s\nerror one by one %v, in runs %v", body, oerr, rerr)
	}
	if diff := cmp.Diff(one, runs); diff != "" {
		t.Fatalf("%s\nresult differs (-one by one +in runs):\n%s", body, diff)
	}
	if diff := cmp.Diff(before, res); diff != "" {
		t.Fatalf("%s\nthe PATCH changed the resource it was given (-before +after):\n%s", body, diff)
	}
	return rerr == nil
}

// alternatingFixtures are the resources alternatingSequence's operations
// are applied to: members, emails and sites that its values hit, displays
// with a quote and a backslash among them.
func alternatingFixtures(t testing.TB) (user, group map[string]any) {
	user, err := Normalize(UserResourceType(), mustJSON(t, `{"schemas":["`+UserURN+`"],"id":"u","userName":"u",
	  "emails":[{"value":"a1@example.com","type":"work","primary":true},{"value":"A2@example.com","type":"home"},
	    {"value":"a3@example.com","display":"q\"q"}],
	  "`+ShiftgateUserURN+`":{"sites":["site-1","SITE-2","site-3"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	group, err = Normalize(GroupResourceType(), mustJSON(t, `{"schemas":["`+GroupURN+`"],"id":"g","displayName":"G",
	  "members":[{"value":"u1","display":"x"},{"value":"U2"},{"value":"u3","display":"Y"},{"value":"u4"},
	    {"value":"u5","display":"q\"q"},{"value":"u6","display":"b\\s"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return user, group
}

// Adds and `eq` removes on one list, alternating or in any other order,
// are made on one index of the list (patchRuns); the result, or the
// error, is what RFC 7644 §3.5.2 gives for the operations made one by one
// in their order, and a PATCH that fails changes nothing.
func TestApplyPatchAlternatingMatchesSequential(t *testing.T) {
	user, group := alternatingFixtures(t)
	applied, total := 0, 0
	for seed := range uint64(120) {
		for _, n := range []int{2, 5, 12, 40} {
			for _, isGroup := range []bool{false, true} {
				rt, res := UserResourceType(), user
				if isGroup {
					rt, res = GroupResourceType(), group
				}
				total++
				body := alternatingSequence(seed, n, isGroup)
				if _, err := ParsePatch(body); err != nil {
					// checkSequential passes what does not parse: a
					// generator's escaping slip would compare nothing.
					t.Fatalf("%s\ngenerated PATCH does not parse: %v", body, err)
				}
				if checkSequential(t, rt, res, body) {
					applied++
				}
			}
		}
	}
	// Both outcomes must be exercised: a generator whose PATCHes all fail
	// (or all apply) would compare too little.
	if applied < total/4 || applied > total*9/10 {
		t.Errorf("%d of %d generated PATCHes applied; want between a quarter and nine tenths", applied, total)
	}
}

func FuzzApplyPatchAlternating(f *testing.F) {
	for seed := range uint64(10) {
		f.Add(seed, uint8(20), seed%2 == 0)
	}
	user, group := alternatingFixtures(f)
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, isGroup bool) {
		rt, res := UserResourceType(), user
		if isGroup {
			rt, res = GroupResourceType(), group
		}
		checkSequential(t, rt, res, alternatingSequence(seed, int(n), isGroup))
	})
}

// A PATCH alternately adding a value to a list and removing one from it
// costs in proportion to its operations plus the list, not their product:
// each operation went over the whole list (a remove copied it, the add
// after it keyed it again), and a 1 MiB PATCH of them on a group of
// 10,000 held the hub's writer for 87 s (BenchmarkPatchAlternatingMembers).
// n operations on a list of 2n, and 4n on one of 8n, must allocate about 4
// times as much, not 16. Bytes allocated are counted rather than time
// measured, so that a busy machine does not fail the test.
func TestAlternatingPatchCostIsLinear(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rt      *ResourceType
		path    string
		add, rm string // formats of an add's value and a remove's path
		value   func(i int) any
	}{
		{"members", GroupResourceType(), "members", `{"value":"new-%d"}`, `members[value eq \"old-%d\"]`,
			func(i int) any { return map[string]any{"value": fmt.Sprintf("old-%d", i)} }},
		{"sites", UserResourceType(), ShiftgateUserURN + ":sites", `"new-%d"`, ShiftgateUserURN + `:sites[value eq \"old-%d\"]`,
			func(i int) any { return fmt.Sprintf("old-%d", i) }},
		{"emails", UserResourceType(), "emails", `{"value":"new-%d@example.com"}`, `emails[value eq \"old-%d@example.com\"]`,
			func(i int) any { return map[string]any{"value": fmt.Sprintf("old-%d@example.com", i)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cost := func(n int) uint64 {
				var b strings.Builder
				b.WriteString(`{"schemas":["` + PatchOpURN + `"],"Operations":[`)
				for i := range n {
					if i > 0 {
						b.WriteByte(',')
					}
					if i%2 == 0 {
						fmt.Fprintf(&b, `{"op":"add","path":%q,"value":[`+tc.add+`]}`, tc.path, i)
					} else {
						fmt.Fprintf(&b, `{"op":"remove","path":"`+tc.rm+`"}`, i)
					}
				}
				b.WriteString(`]}`)
				ops, err := ParsePatch([]byte(b.String()))
				if err != nil {
					t.Fatal(err)
				}
				list := make([]any, 2*n)
				for i := range list {
					list[i] = tc.value(i)
				}
				res := map[string]any{"schemas": []any{tc.rt.Schema.ID}, "id": "x", "userName": "x", "displayName": "x"}
				if name, ok := strings.CutPrefix(tc.path, ShiftgateUserURN+":"); ok {
					res[ShiftgateUserURN] = map[string]any{name: list}
				} else {
					res[tc.path] = list
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				out, err := ApplyPatch(tc.rt, res, ops)
				runtime.ReadMemStats(&after)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(asList(out[tc.path])) + len(asList(asMap(out[ShiftgateUserURN])["sites"])); got != 2*n {
					t.Fatalf("%d operations left %d values, want %d (n/2 added, n/2 removed)", n, got, 2*n)
				}
				return after.TotalAlloc - before.TotalAlloc
			}
			small, large := cost(500), cost(2000)
			if ratio := float64(large) / float64(small); ratio > 6 {
				t.Errorf("500 operations on %d values allocate %d bytes, 2000 on %d %d (%.1f times); want about 4 times", 1000, small, 4000, large, ratio)
			}
		})
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
