package scim

import (
	"fmt"
	"strings"
	"testing"
)

// alternatingPatch is a PATCH body of at most size bytes whose operations
// alternate between adding one new value and removing one value the list
// held, each with its own operation, as an identity provider replaying a
// log of joiners and leavers sends them: add is the format of an add's
// value, rm of a remove's path, each formatted from a sequence number.
func alternatingPatch(size int, path, add, rm string) []byte {
	var b strings.Builder
	b.WriteString(`{"schemas":["` + PatchOpURN + `"],"Operations":[`)
	for i := 0; ; i++ {
		var op string
		if i%2 == 0 {
			op = fmt.Sprintf(`{"op":"add","path":%q,"value":[`+add+`]}`, path, i/2)
		} else {
			op = fmt.Sprintf(`{"op":"remove","path":"`+rm+`"}`, i/2)
		}
		if b.Len()+len(op)+3 > size {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(op)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkPatchAlternatingMembers: a PATCH as large as the hub takes
// (1 MiB) alternately adding a member to a group of 10,000 and removing
// one, with user IDs as the hub makes them. Each operation used to go
// over the whole list (an add keyed it again after a remove; a remove
// copied it), so the cost grew with operations times members.
func BenchmarkPatchAlternatingMembers(b *testing.B) {
	const members = 10000
	body := alternatingPatch(1<<20, "members", `{"value":"00000000-0000-7000-8000-1%011d"}`,
		`members[value eq \"00000000-0000-7000-8000-0%011d\"]`)
	benchmarkPatch(b, GroupResourceType(), body, func() map[string]any {
		list := make([]any, members)
		for i := range list {
			list[i] = map[string]any{"value": fmt.Sprintf("00000000-0000-7000-8000-0%011d", i)}
		}
		return map[string]any{"schemas": []any{GroupURN}, "id": "g", "displayName": "Nurse", "members": list}
	})
}

// BenchmarkPatchAlternatingSites: the same for a user's sites, a list of
// strings, from 10,000.
func BenchmarkPatchAlternatingSites(b *testing.B) {
	const sites = 10000
	body := alternatingPatch(1<<20, ShiftgateUserURN+":sites", `"new-%d"`, ShiftgateUserURN+`:sites[value eq \"old-%d\"]`)
	benchmarkPatch(b, UserResourceType(), body, func() map[string]any {
		list := make([]any, sites)
		for i := range list {
			list[i] = fmt.Sprintf("old-%d", i)
		}
		return map[string]any{"schemas": []any{UserURN}, "id": "u", "userName": "bench@example.com",
			ShiftgateUserURN: map[string]any{"sites": list}}
	})
}
