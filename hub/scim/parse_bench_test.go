package scim

import (
	"fmt"
	"strings"
	"testing"
)

// largePatchBody is a PATCH of about size bytes made of the operations
// identity providers send (plain, dotted, URN-qualified and filtered paths,
// path-less value objects), repeated: what a SCIM token holder can send in
// one request.
func largePatchBody(size int) []byte {
	ops := []string{
		`{"op":"replace","path":"emails[type eq \"work\"].value","value":"worker%d@example.com"}`,
		`{"op":"Replace","path":"name.givenName","value":"Given%d"}`,
		`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Dept %d"}`,
		`{"op":"remove","path":"phoneNumbers[type eq \"fax\" and value sw \"+1%d\"]"}`,
		`{"op":"replace","value":{"displayName":"Worker %d","active":true,"name.familyName":"F","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter":"C"}}`,
		`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites","value":["site-%d"]}`,
		`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq \"forklift-%d\"].expires","value":"2027-01-01T00:00:00Z"}`,
		`{"op":"replace","path":"title","value":"Picker %d"}`,
	}
	var b strings.Builder
	b.WriteString(`{"schemas":["` + PatchOpURN + `"],"Operations":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, ops[i%len(ops)], i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkParsePatchLarge parses a 256 KiB PATCH of many operations.
// ns/byte is the cost of one byte of a request to the hub.
func BenchmarkParsePatchLarge(b *testing.B) {
	body := largePatchBody(256 << 10)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParsePatch(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(body)), "ns/byte")
}

// BenchmarkApplyPatchLarge applies the operations of the 256 KiB PATCH to
// a user: ParsePatch and ApplyPatch are what a PATCH costs before the
// store.
func BenchmarkApplyPatchLarge(b *testing.B) {
	body := largePatchBody(256 << 10)
	ops, err := ParsePatch(body)
	if err != nil {
		b.Fatal(err)
	}
	rt := UserResourceType()
	res := map[string]any{"schemas": []any{UserURN}, "id": "u", "userName": "bench@example.com", "active": true}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ApplyPatch(rt, res, ops); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(body)), "ns/byte")
}

// largeFilter is a filter of about size bytes (at most maxFilterLen) of
// OR-ed clauses of the forms identity providers and admins write.
func largeFilter(size int) string {
	clauses := []string{
		`userName eq "worker%d@example.com"`,
		`emails[type eq "work" and value co "@site%d.example"]`,
		`(name.familyName sw "F%d" and active eq true)`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "%d"`,
		`meta.lastModified gt "2026-01-%02dT00:00:00Z"`,
	}
	var b strings.Builder
	for i := 0; ; i++ {
		c := fmt.Sprintf(clauses[i%len(clauses)], i%28+1)
		if i > 0 {
			c = " or " + c
		}
		if b.Len()+len(c) > size {
			return b.String()
		}
		b.WriteString(c)
	}
}

// BenchmarkParseFilterLarge parses a filter of maxFilterLen bytes.
func BenchmarkParseFilterLarge(b *testing.B) {
	s := largeFilter(maxFilterLen)
	rt := UserResourceType()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if _, err := ParseFilter(rt, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(s)), "ns/byte")
}
