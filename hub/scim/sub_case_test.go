package scim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The values of a multi-valued complex attribute are compared sub-attribute
// by sub-attribute as each one's caseExact says (RFC 7643 §2.4, §4.1.2:
// emails.value is caseExact false). A remove listing
// [{"value":"SOLO@x.com"}] left the address stored as "solo@x.com", and an
// add of "SOLO@x.com" gave the user the address twice; a caseExact
// sub-attribute (photos.value, a reference) still compares with case.
func TestSubAttributeCaseExact(t *testing.T) {
	// many lists n other addresses, so that an add of them goes through
	// the index (more than indexAbove values) rather than comparing.
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `,{"value":"other%d@x.com"}`, i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, attr, stored, op, want string
	}{
		{"remove listing the value in upper case", "emails",
			`[{"value":"solo@x.com","type":"work"},{"value":"keep@x.com"}]`,
			`{"op":"remove","path":"emails","value":[{"value":"SOLO@x.com"}]}`,
			`[{"value":"keep@x.com"}]`},
		{"remove listing value and display in another case", "emails",
			`[{"value":"solo@x.com","display":"Solo","type":"work"},{"value":"keep@x.com"}]`,
			`{"op":"remove","path":"emails","value":[{"value":"Solo@X.com","display":"SOLO"}]}`,
			`[{"value":"keep@x.com"}]`},
		{"remove listing the whole value in another case", "emails",
			`[{"value":"solo@x.com","type":"work","primary":true},{"value":"keep@x.com"}]`,
			`{"op":"remove","path":"emails","value":[{"value":"SOLO@x.com","type":"work","primary":true}]}`,
			`[{"value":"keep@x.com"}]`},
		{"remove of a caseExact value in another case", "photos",
			`[{"value":"https://x.com/a.png"}]`,
			`{"op":"remove","path":"photos","value":[{"value":"https://x.com/A.png"}]}`,
			`[{"value":"https://x.com/a.png"}]`},
		{"add of a value stored in another case", "emails",
			`[{"value":"solo@x.com","type":"work"}]`,
			`{"op":"add","path":"emails","value":[{"value":"SOLO@x.com","type":"work"}]}`,
			`[{"value":"solo@x.com","type":"work"}]`},
		{"add through the index of a value stored in another case", "emails",
			`[{"value":"solo@x.com","type":"work"}` + many(20) + `]`,
			`{"op":"add","path":"emails","value":[{"value":"SOLO@x.com","type":"work"}` + many(20) + `]}`,
			`[{"value":"solo@x.com","type":"work"}` + many(20) + `]`},
		{"add of a caseExact value in another case", "photos",
			`[{"value":"https://x.com/a.png"}]`,
			`{"op":"add","path":"photos","value":[{"value":"https://x.com/A.png"}]}`,
			`[{"value":"https://x.com/a.png"},{"value":"https://x.com/A.png"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := UserResourceType()
			res, err := normalizeResource(rt, mustJSON(t, `{"schemas":["`+UserURN+`"],"userName":"u","`+tc.attr+`":`+tc.stored+`}`), true)
			if err != nil {
				t.Fatal(err)
			}
			ops, err := ParsePatch([]byte(`{"schemas":["` + PatchOpURN + `"],"Operations":[` + tc.op + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ApplyPatch(rt, res, ops)
			if err != nil {
				t.Fatal(err)
			}
			want, err := normalizeResource(rt, mustJSON(t, `{"schemas":["`+UserURN+`"],"userName":"u","`+tc.attr+`":`+tc.want+`}`), true)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want[tc.attr], got[tc.attr]); d != "" {
				t.Errorf("%s (-want +got):\n%s", tc.attr, d)
			}
		})
	}
}

// sameKey stays a key of sameValue where sub-attributes fold: two values
// differing only in the case of a sub-attribute that is not caseExact have
// one key (the index of an add finds one as the other), and the equivalence
// of matchListed with comparing holds for them.
func TestSameKeyFoldsSubAttributes(t *testing.T) {
	attrs := indexAttrs(t)
	for _, p := range [][2]string{
		{`{"value":"SOLO@x.com","type":"work"}`, `{"value":"solo@x.com","type":"work"}`},
		{`{"value":"a@x","display":"ÄNN"}`, `{"value":"a@x","display":"änn"}`},
		{`{"display":"Ann"}`, `{"display":"ANN"}`},
	} {
		checkSameKey(t, attrs, p[0], p[1])
	}
	emails := UserResourceType().Attribute("emails")
	x, _ := decodeJSON(`{"value":"SOLO@x.com","type":"work"}`)
	y, _ := decodeJSON(`{"value":"solo@x.com","type":"work"}`)
	if !sameValue(emails, x, y) {
		t.Errorf("emails: %v and %v are not the same value", x, y)
	}
	kx, _ := sameKey(emails, x)
	ky, _ := sameKey(emails, y)
	if kx != ky {
		t.Errorf("emails: keys %q and %q differ", kx, ky)
	}
}
