package scim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The operations patchRuns hands on to the next (a run of `sub eq` removes
// made in one pass, the index of a list earlier adds built) give, in each
// case, the result written down here, which is what RFC 7644 §3.5.2 gives
// for the operations made one by one: case-insensitive comparison for
// sub-attributes that are not caseExact and exact for those that are, an
// add and a remove of one value in either order, a replace or a filtered
// change of the list in the middle of a run, the primary rule, a run
// switching sub-attributes, an extension unassigned and assigned again.
// TestApplyPatchReuseMatchesFresh compares the two ways on generated
// PATCHes; these are the cases that comparison would pass if both were
// wrong in the same way.
func TestApplyPatchRunsCases(t *testing.T) {
	const ext = ShiftgateUserURN
	user := `{"schemas":["` + UserURN + `"],"id":"u","userName":"u",
	  "emails":[{"value":"a@x.com","type":"work","primary":true},{"value":"B@x.com","type":"home"}],
	  "photos":[{"value":"http://A"},{"value":"http://a"}],
	  "x509Certificates":[{"value":"QUJD"}],
	  "` + ext + `":{"sites":["Site-1","site-2","si\"te"],"certifications":[{"name":"forklift"},{"name":"Crane"}]}}`
	group := `{"schemas":["` + GroupURN + `"],"id":"g","displayName":"G",
	  "members":[{"value":"u1","display":"x"},{"value":"u2"},{"value":"U3","display":"X"}]}`
	rm := func(path string) string { return `{"op":"remove","path":"` + path + `"}` }
	for _, tc := range []struct {
		name     string
		group    bool
		ops      string // the Operations array's elements
		attr     string // the attribute compared; ext: for the extension's
		want     string // its value, JSON; "" for none
		scimType string // the error instead
	}{
		{name: "members value is not caseExact", group: true,
			ops: rm(`members[value eq \"u3\"]`) + `,` + rm(`members[value eq \"U1\"]`), attr: "members",
			want: `[{"value":"u2"}]`},
		{name: "a run switching sub-attributes", group: true,
			ops: rm(`members[value eq \"u2\"]`) + `,` + rm(`members[display eq \"X\"]`) + `,` + rm(`members[value eq \"nobody\"]`), attr: "members",
			want: ``},
		{name: "add then remove the same member", group: true,
			ops: `{"op":"add","path":"members","value":[{"value":"u9"}]},` + rm(`members[value eq \"u9\"]`), attr: "members",
			want: `[{"value":"u1","display":"x"},{"value":"u2"},{"value":"U3","display":"X"}]`},
		{name: "remove then add the same member", group: true,
			ops: rm(`members[value eq \"u1\"]`) + `,{"op":"add","path":"members","value":[{"value":"u1","display":"back"}]}`, attr: "members",
			want: `[{"value":"u2"},{"value":"U3","display":"X"},{"value":"u1","display":"back"}]`},
		{name: "an add of a member already there keeps the first", group: true,
			ops: `{"op":"add","path":"members","value":[{"value":"u2","display":"new"}]},{"op":"add","path":"members","value":[{"value":"u1","display":"y"},{"value":"u4"}]}`, attr: "members",
			want: `[{"value":"u1","display":"x"},{"value":"u2"},{"value":"U3","display":"X"},{"value":"u4"}]`},
		{name: "a replace in the middle of a run", group: true,
			ops: rm(`members[value eq \"u1\"]`) + `,{"op":"replace","path":"members","value":[{"value":"u1"},{"value":"u4"}]},` + rm(`members[value eq \"u4\"]`), attr: "members",
			want: `[{"value":"u1"}]`},
		{name: "a filtered replace in the middle of a run", group: true,
			ops: rm(`members[value eq \"u1\"]`) + `,{"op":"replace","path":"members[value eq \"u2\"].display","value":"d"},` + rm(`members[value eq \"U3\"]`), attr: "members",
			want: `[{"value":"u2","display":"d"}]`},
		{name: "a filtered replace of a member the run removed", group: true,
			ops: rm(`members[value eq \"u1\"]`) + `,{"op":"replace","path":"members[value eq \"u1\"].display","value":"d"}`, scimType: "noTarget"},
		{name: "a number for a string sub-attribute", group: true,
			ops: rm(`members[value eq \"u1\"]`) + `,` + rm(`members[value eq 1]`), scimType: "invalidFilter"},
		{name: "sites compare ignoring case",
			ops:  rm(ext+`:sites[value eq \"SITE-1\"]`) + `,{"op":"add","path":"` + ext + `:sites","value":["site-1","SITE-2"]},` + rm(ext+`:sites[value eq \"Site-2\"]`),
			attr: "ext:sites", want: `["si\"te","site-1"]`},
		{name: "an escaped quote in the literal",
			ops: rm(ext + `:sites[value eq \"si\\\"te\"]`), attr: "ext:sites", want: `["Site-1","site-2"]`},
		{name: "photos values are caseExact",
			ops: rm(`photos[value eq \"http://a\"]`) + `,` + rm(`photos[value eq \"HTTP://A\"]`), attr: "photos",
			want: `[{"value":"http://A"}]`},
		{name: "emails values are not",
			ops: rm(`emails[value eq \"A@X.COM\"]`) + `,` + rm(`emails[value eq \"b@x.com\"]`), attr: "emails", want: ``},
		{name: "binary values are caseExact", // qujd is not QUJD's bytes
			ops: rm(`x509Certificates[value eq \"qujd\"]`), attr: "x509Certificates", want: `[{"value":"QUJD"}]`},
		{name: "binary values",
			ops: rm(`x509Certificates[value eq \"QUJD\"]`), attr: "x509Certificates", want: ``},
		{name: "an extension's complex values",
			ops: rm(ext + `:certifications[name eq \"crane\"]`), attr: "ext:certifications", want: `[{"name":"forklift"}]`},
		{name: "a value object of removes, then one of the run's values added back",
			ops: `{"op":"replace","value":{"` + ext + `:sites[value eq \"site-1\"]":null,"` + ext + `:sites[value eq \"site-2\"]":null}},` +
				`{"op":"add","path":"` + ext + `:sites","value":["SITE-2"]}`,
			attr: "ext:sites", want: `["si\"te","SITE-2"]`},
		{name: "the extension unassigned in the middle of a run",
			ops: rm(ext+`:sites[value eq \"site-1\"]`) + `,{"op":"replace","value":{"` + ext + `":null}},` + rm(ext+`:sites[value eq \"site-2\"]`) +
				`,{"op":"add","path":"` + ext + `:sites","value":["s3"]},{"op":"add","path":"` + ext + `:sites","value":["S3","s4"]}`,
			attr: "ext:sites", want: `["s3","s4"]`},
		{name: "the extension unassigned between two adds", // the first add's index is of the old extension's list
			ops: `{"op":"add","path":"` + ext + `:sites","value":["s9"]},{"op":"replace","value":{"` + ext + `":null}},` +
				`{"op":"add","path":"` + ext + `:sites","value":["S9","s10"]}`,
			attr: "ext:sites", want: `["S9","s10"]`},
		{name: "the last primary added wins, and a remove does not bring one back",
			ops: `{"op":"add","path":"emails","value":[{"value":"c@x.com","primary":true}]},` +
				`{"op":"add","path":"emails","value":[{"value":"d@x.com"},{"value":"A@x.com"}]},` + rm(`emails[value eq \"c@x.com\"]`),
			attr: "emails", want: `[{"value":"a@x.com","type":"work"},{"value":"B@x.com","type":"home"},{"value":"d@x.com"},{"value":"A@x.com"}]`},
		{name: "a primary set by a filtered replace between adds", // c with primary is not c without
			ops: `{"op":"add","path":"emails","value":[{"value":"c@x.com","primary":true}]},` +
				`{"op":"replace","path":"emails[value eq \"B@x.com\"].primary","value":true},` +
				`{"op":"add","path":"emails","value":[{"value":"c@x.com","primary":true}]}`,
			attr: "emails", want: `[{"value":"a@x.com","type":"work"},{"value":"B@x.com","type":"home"},{"value":"c@x.com"},{"value":"c@x.com","primary":true}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, doc := UserResourceType(), user
			if tc.group {
				rt, doc = GroupResourceType(), group
			}
			res, err := Normalize(rt, mustJSON(t, doc))
			if err != nil {
				t.Fatal(err)
			}
			ops, err := ParsePatch([]byte(`{"schemas":["` + PatchOpURN + `"],"Operations":[` + tc.ops + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			for _, runs := range []bool{true, false} {
				got, err := applyPatch(rt, res, ops, runs)
				if tc.scimType != "" || err != nil {
					if scimTypeOf(err) != tc.scimType {
						t.Fatalf("runs %v: error %v, want scimType %q", runs, err, tc.scimType)
					}
					continue
				}
				v := got[tc.attr]
				if name, ok := cutExt(tc.attr); ok {
					m, _ := got[ext].(map[string]any)
					v = m[name]
				}
				var want any
				if tc.want != "" {
					want = mustJSON(t, `{"v":`+tc.want+`}`)["v"]
				}
				if diff := cmp.Diff(want, v); diff != "" {
					t.Errorf("runs %v: %s (-want +got):\n%s", runs, tc.attr, diff)
				}
			}
		})
	}
}

func cutExt(attr string) (string, bool) {
	if len(attr) > 4 && attr[:4] == "ext:" {
		return attr[4:], true
	}
	return "", false
}
