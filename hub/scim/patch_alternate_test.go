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
func alternatingSequence(seed uint64, n int, group bool) []byte {
	r := rand.New(rand.NewPCG(seed, 11))
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	ext := ShiftgateUserURN
	var ops []string
	for range n {
		var op string
		k := r.IntN(20)
		switch {
		case group && k < 8:
			var vals []string
			for range 1 + r.IntN(2) {
				vals = append(vals, fmt.Sprintf(`{"value":"%s%d"%s}`, pick("u", "U"), r.IntN(12), pick("", `,"display":"x"`, `,"display":"Y"`)))
			}
			op = `{"op":"add","path":"members","value":[` + strings.Join(vals, ",") + `]}`
		case group && k < 15:
			op = fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s%d\"]"}`, pick("u", "U"), r.IntN(12))
		case group && k < 17:
			op = fmt.Sprintf(`{"op":"remove","path":"members[display eq \"%s\"]"}`, pick("x", "X", "y"))
		case group && k < 18:
			op = fmt.Sprintf(`{"op":"replace","path":"members[value eq \"u%d\"].display","value":"d"}`, r.IntN(12))
		case group && k < 19:
			op = fmt.Sprintf(`{"op":"remove","path":"members","value":[{"value":"u%d"}]}`, r.IntN(12))
		case group:
			op = pick(`{"op":"add","value":{"members":[{"value":"u1"}]}}`, `{"op":"replace","path":"members","value":[{"value":"u2"},{"value":"u3"}]}`,
				`{"op":"add","path":"members","value":[{"display":"no value"}]}`)
		case k < 5:
			op = fmt.Sprintf(`{"op":"add","path":"emails","value":[{"value":"%s%d@example.com","type":%q%s}]}`,
				pick("a", "A"), r.IntN(8), pick("work", "home"), pick("", "", `,"primary":true`))
		case k < 9:
			op = fmt.Sprintf(`{"op":"remove","path":"emails[value eq \"%s%d@example.com\"]"}`, pick("a", "A"), r.IntN(8))
		case k < 10:
			op = fmt.Sprintf(`{"op":"remove","path":"emails[type eq \"%s\"]"}`, pick("work", "Home"))
		case k < 13:
			op = fmt.Sprintf(`{"op":"add","path":"%s:sites","value":["%s-%d"]}`, ext, pick("site", "SITE"), r.IntN(8))
		case k < 17:
			op = fmt.Sprintf(`{"op":"remove","path":"%s:sites[value eq \"%s-%d\"]"}`, ext, pick("site", "Site"), r.IntN(8))
		case k < 18:
			op = fmt.Sprintf(`{"op":"replace","path":"emails[value eq \"a%d@example.com\"].primary","value":true}`, r.IntN(8))
		case k < 19:
			op = pick(`{"op":"replace","value":{"`+ext+`":null}}`, `{"op":"remove","path":"`+ext+`:sites","value":["site-1"]}`,
				`{"op":"add","value":{"emails":[{"value":"a1@example.com"}],"`+ext+`:sites":["site-2"]}}`)
		default:
			op = pick(`{"op":"replace","path":"emails[value eq \"nobody@example.com\"]","value":{"display":"x"}}`,
				`{"op":"replace","path":"emails","value":[{"value":"a2@example.com","primary":true}]}`,
				`{"op":"remove","path":"emails[value eq \"a3@example.com\"].display"}`)
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
// are applied to: members, emails and sites that its values hit.
func alternatingFixtures(t testing.TB) (user, group map[string]any) {
	user, err := Normalize(UserResourceType(), mustJSON(t, `{"schemas":["`+UserURN+`"],"id":"u","userName":"u",
	  "emails":[{"value":"a1@example.com","type":"work","primary":true},{"value":"A2@example.com","type":"home"}],
	  "`+ShiftgateUserURN+`":{"sites":["site-1","SITE-2","site-3"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	group, err = Normalize(GroupResourceType(), mustJSON(t, `{"schemas":["`+GroupURN+`"],"id":"g","displayName":"G",
	  "members":[{"value":"u1","display":"x"},{"value":"U2"},{"value":"u3","display":"Y"},{"value":"u4"}]}`))
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
				if checkSequential(t, rt, res, alternatingSequence(seed, n, isGroup)) {
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
