package scim

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPatchAddMembers: one PATCH adding 3,000 members to a group of
// 3,000, as an identity provider syncing a big role sends it. It runs in
// the hub's one write transaction, so every other write waits for it: a
// member was compared with every member (3-5 s here) until members were
// matched through a set.
func BenchmarkPatchAddMembers(b *testing.B) {
	const n = 3000
	members := func(prefix string) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"value": fmt.Sprintf("%s-%08d", prefix, i), "type": "User"})
		}
		return out
	}
	var body strings.Builder
	body.WriteString(`{"schemas":["` + PatchOpURN + `"],"Operations":[{"op":"add","path":"members","value":[`)
	for i := range n {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"value":"new-%08d"}`, i)
	}
	body.WriteString(`]},{"op":"remove","path":"members","value":[`)
	for i := range n / 2 {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"value":"old-%08d"}`, i)
	}
	body.WriteString(`]}]}`)
	ops, err := ParsePatch([]byte(body.String()))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res := map[string]any{"schemas": []any{GroupURN}, "id": "g", "displayName": "Nurse", "members": members("old")}
		out, err := ApplyPatch(GroupResourceType(), res, ops)
		if err != nil {
			b.Fatal(err)
		}
		if got := len(out["members"].([]any)); got != n+n/2 {
			b.Fatalf("%d members after the PATCH, want %d", got, n+n/2)
		}
	}
}

// patchOf is a PATCH of n operations, operation i formatted from op.
func patchOf(n int, op string) []byte {
	var body strings.Builder
	body.WriteString(`{"schemas":["` + PatchOpURN + `"],"Operations":[`)
	for i := range n {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, op, i)
	}
	body.WriteString(`]}`)
	return []byte(body.String())
}

// benchmarkPatch parses and applies body to the resource fresh returns,
// reporting the cost per byte of the body.
func benchmarkPatch(b *testing.B, rt *ResourceType, body []byte, fresh func() map[string]any) {
	b.Helper()
	for b.Loop() {
		b.StopTimer()
		res := fresh()
		b.StartTimer()
		ops, err := ParsePatch(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ApplyPatch(rt, res, ops); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(body)), "ns/byte")
}

// BenchmarkPatchAddOneAtATime: n operations each adding one email, as an
// identity provider sends each change as its own operation. Each compared
// its value with every email before it (reflect.DeepEqual): 4,000 took
// 5 s, 16 µs a byte, until operations that add reused one index.
func BenchmarkPatchAddOneAtATime(b *testing.B) {
	for _, n := range []int{1000, 4000} {
		body := patchOf(n, `{"op":"add","path":"emails","value":[{"value":"w%d@example.com","type":"other"}]}`)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchmarkPatch(b, UserResourceType(), body, func() map[string]any {
				return map[string]any{"schemas": []any{UserURN}, "id": "u", "userName": "bench@example.com"}
			})
		})
	}
}

// BenchmarkPatchAddSitesAtOnce: one operation adding 8,000 sites, each
// compared with every one before it until the add indexed them (1 s, 8 µs
// a byte).
func BenchmarkPatchAddSitesAtOnce(b *testing.B) {
	const n = 8000
	var sites []string
	for i := range n {
		sites = append(sites, fmt.Sprintf(`"site-%08d"`, i))
	}
	body := []byte(`{"schemas":["` + PatchOpURN + `"],"Operations":[{"op":"add","path":"` + ShiftgateUserURN + `:sites","value":[` + strings.Join(sites, ",") + `]}]}`)
	benchmarkPatch(b, UserResourceType(), body, func() map[string]any {
		return map[string]any{"schemas": []any{UserURN}, "id": "u", "userName": "bench@example.com"}
	})
}

// BenchmarkPatchRemoveMembersOneAtATime: n operations each removing one
// member with a filter (members[value eq "…"], as Okta sends them) from a
// group of 2n. Each operation evaluated its filter on every member and
// copied the rest (4,000 took 6 s, 25 µs a byte) until a run of them was
// made in one pass (patchRuns).
func BenchmarkPatchRemoveMembersOneAtATime(b *testing.B) {
	for _, n := range []int{1000, 4000} {
		body := patchOf(n, `{"op":"remove","path":"members[value eq \"old-%08d\"]"}`)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchmarkPatch(b, GroupResourceType(), body, func() map[string]any {
				members := make([]any, 2*n)
				for i := range members {
					members[i] = map[string]any{"value": fmt.Sprintf("old-%08d", i), "type": "User"}
				}
				return map[string]any{"schemas": []any{GroupURN}, "id": "g", "displayName": "Nurse", "members": members}
			})
		})
	}
}
