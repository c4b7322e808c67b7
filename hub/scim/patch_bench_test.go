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
