package scim

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const patchHead = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`

func TestParsePatch(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     []Operation
		scimType string
	}{
		{
			name: "Entra Replace with capital op",
			body: patchHead + `[{"op":"Replace","path":"active","value":"False"}]}`,
			want: []Operation{{Op: "replace", Path: "active", Value: "False"}},
		},
		{
			name: "Okta path-less replace",
			body: patchHead + `[{"op":"replace","value":{"active":false}}]}`,
			want: []Operation{{Op: "replace", Value: map[string]any{"active": false}}},
		},
		{
			name: "lower-case operations key and number value",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"op":"add","path":"title","value":12}]}`,
			want: []Operation{{Op: "add", Path: "title", Value: json.Number("12")}},
		},
		{name: "not JSON", body: `{`, scimType: "invalidSyntax"},
		{name: "trailing data", body: patchHead + `[{"op":"remove","path":"title"}]} x`, scimType: "invalidSyntax"},
		{name: "wrong schema", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"remove","path":"title"}]}`, scimType: "invalidSyntax"},
		{name: "no operations", body: patchHead + `[]}`, scimType: "invalidSyntax"},
		{name: "unknown op", body: patchHead + `[{"op":"move","path":"title"}]}`, scimType: "invalidSyntax"},
		{name: "add without value", body: patchHead + `[{"op":"add","path":"title"}]}`, scimType: "invalidSyntax"},
		{
			// RFC 7643 §2.5: null is unassigned; ApplyPatch removes the path.
			name: "replace with a path and null",
			body: patchHead + `[{"op":"replace","path":"title","value":null}]}`,
			want: []Operation{{Op: "replace", Path: "title"}},
		},
		{name: "replace with a path and no value", body: patchHead + `[{"op":"replace","path":"title"}]}`, scimType: "invalidSyntax"},
		{name: "replace without a path, null", body: patchHead + `[{"op":"replace","value":null}]}`, scimType: "invalidSyntax"},
		{name: "add with null", body: patchHead + `[{"op":"add","path":"title","value":null}]}`, scimType: "invalidSyntax"},
		{name: "remove without path", body: patchHead + `[{"op":"remove"}]}`, scimType: "noTarget"},
		{name: "bad path", body: patchHead + `[{"op":"remove","path":"members[value eq]"}]}`, scimType: "invalidPath"},
		{name: "long filter with nested brackets", body: patchHead + `[{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\" or emails[type eq \"x\"]]"}]}`, scimType: "invalidPath"},
		{name: "long filter with text after the brackets", body: patchHead + `[{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\" or value eq \"u3\"]x"}]}`, scimType: "invalidPath"},
		{name: "long filter unclosed", body: patchHead + `[{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\" or value eq \"]\""}]}`, scimType: "invalidPath"},
		{name: "path not a string", body: patchHead + `[{"op":"remove","path":5}]}`, scimType: "invalidSyntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePatch([]byte(tt.body))
			if scimTypeOf(err) != tt.scimType {
				t.Fatalf("ParsePatch error = %v, want scimType %q", err, tt.scimType)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Operation{}), cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".path"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("ParsePatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyPatchUser(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	const sg = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	tests := []struct {
		name     string
		ops      string
		check    func(t *testing.T, got map[string]any)
		scimType string
	}{
		{
			name:  "Entra disable with string boolean",
			ops:   `[{"op":"Replace","path":"active","value":"False"}]`,
			check: wantAt("active", false),
		},
		{
			name:  "Okta disable without path",
			ops:   `[{"op":"replace","value":{"active":false}}]`,
			check: wantAt("active", false),
		},
		{
			name: "Entra multi-valued update",
			ops: `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
			       {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt("emails", []any{
					map[string]any{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true},
					map[string]any{"value": "babs@jensen.org", "type": "home"},
				})(t, got)
				wantAt("name", map[string]any{"givenName": "Barbara", "familyName": "updatedFamilyName"})(t, got)
			},
		},
		{
			name: "Entra value object with dotted and enterprise URN keys",
			ops: `[{"op":"Replace","value":{"active":"True","name.givenName":"Babs","displayName":"Babs J",
			       "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"ICU",
			       "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"new-mgr"}}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt("active", true)(t, got)
				wantAt("name", map[string]any{"givenName": "Babs", "familyName": "Jensen"})(t, got)
				wantAt("displayName", "Babs J")(t, got)
				wantAt(ent, map[string]any{"employeeNumber": "701984", "department": "ICU",
					"manager": map[string]any{"value": "new-mgr", "displayName": "John Smith"}})(t, got)
			},
		},
		{
			name:  "Entra add manager by URN path with a plain string",
			ops:   `[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m2"}]`,
			check: wantAt(ent+".manager", map[string]any{"value": "m2", "displayName": "John Smith"}),
		},
		{
			name:  "remove manager",
			ops:   `[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
			check: wantAt(ent, map[string]any{"employeeNumber": "701984", "department": "Ward 3"}),
		},
		{
			name: "remove a whole extension",
			ops:  `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt(ent, nil)(t, got)
				wantAt("schemas", []any{UserURN, ShiftgateUserURN})(t, got)
			},
		},
		{
			name:  "Entra add work email when none matches creates it",
			ops:   `[{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+49 151 000"}]`,
			check: wantAt("phoneNumbers", []any{map[string]any{"value": "555-555-8377", "type": "work"}, map[string]any{"value": "+49 151 000", "type": "mobile"}}),
		},
		{
			// Entra sends Replace as often as Add for a value the target
			// lacks; the filter says which value is meant.
			name: "Entra replace with a filter that matches nothing creates the value",
			ops:  `[{"op":"Replace","path":"emails[type eq \"other\"].value","value":"b@other.example"},{"op":"Replace","path":"addresses[type eq \"work\"]","value":{"locality":"Berlin"}}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt("emails", []any{
					map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
					map[string]any{"value": "babs@jensen.org", "type": "home"},
					map[string]any{"value": "b@other.example", "type": "other"},
				})(t, got)
				wantAt("addresses", []any{map[string]any{"type": "work", "locality": "Berlin"}})(t, got)
			},
		},
		{
			name:  "add with a filter and a value naming no sub-attribute changes nothing",
			ops:   `[{"op":"add","path":"emails[type eq \"other\"]","value":{"colour":"blue"}}]`,
			check: func(t *testing.T, got map[string]any) { wantAt("emails", sampleUser(t)["emails"])(t, got) },
		},
		{
			name: "replace with null in a value object unassigns",
			ops:  `[{"op":"replace","value":{"name.givenName":null,"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null}}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt("name", map[string]any{"familyName": "Jensen"})(t, got)
				wantAt(sg+".sites", nil)(t, got)
				wantAt(ent, nil)(t, got)
			},
		},
		{
			// The same rules as null in a value object (keyPatcher).
			name: "replace at a path with null unassigns",
			ops: `[{"op":"replace","path":"title","value":"Charge nurse"},{"op":"replace","path":"title","value":null},
			       {"op":"Replace","path":"name.givenName","value":null},
			       {"op":"replace","path":"emails[type eq \"home\"]","value":null},
			       {"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate","value":null},
			       {"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":null}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt("title", nil)(t, got)
				wantAt("name", map[string]any{"familyName": "Jensen"})(t, got)
				wantAt("emails", []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}})(t, got)
				wantAt(sg+".endDate", nil)(t, got)
				wantAt(sg+".employmentType", "contractor")(t, got)
				wantAt(ent, nil)(t, got)
			},
		},
		{
			// The handler keeps the user's state when active is gone, as
			// for a remove of active.
			name:  "replace active with null removes it",
			ops:   `[{"op":"replace","path":"active","value":null}]`,
			check: wantAt("active", nil),
		},
		{
			// A blank dateTime is no value: the expiry is cleared, as a
			// remove of the path clears it. It was dropped, and the old
			// date kept.
			name:  "replace with a filter and a blank dateTime clears the sub-attribute",
			ops:   `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq \"forklift\"].expires","value":""}]`,
			check: wantAt(sg+".certifications", []any{map[string]any{"name": "forklift"}}),
		},
		{
			name:  "replace with a filter, a blank dateTime and no match changes nothing",
			ops:   `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq \"crane\"].expires","value":" "}]`,
			check: wantAt(sg+".certifications", []any{map[string]any{"name": "forklift", "expires": "2027-01-01T00:00:00Z"}}),
		},
		{
			name:  "replace with a filter and null clears the sub-attribute",
			ops:   `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq \"forklift\"].expires","value":null}]`,
			check: wantAt(sg+".certifications", []any{map[string]any{"name": "forklift"}}),
		},
		{
			// A sub-attribute that is neither required nor immutable may be
			// removed, with or without a filter.
			name:  "remove a certification's expiry with a filter",
			ops:   `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq \"forklift\"].expires"}]`,
			check: wantAt(sg+".certifications", []any{map[string]any{"name": "forklift"}}),
		},
		{
			name:  "remove every certification's expiry without a filter",
			ops:   `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications.expires"}]`,
			check: wantAt(sg+".certifications", []any{map[string]any{"name": "forklift"}}),
		},
		{
			name:  "remove a shift's required end with a filter that matches nothing is a no-op",
			ops:   `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:shifts[start eq \"2030-01-01T00:00:00Z\"].end"}]`,
			check: wantAt(sg+".shifts", []any{map[string]any{"start": "2026-03-01T06:00:00Z", "end": "2026-03-01T14:00:00Z"}}),
		},
		{
			name: "remove a whole shift with a filter",
			ops:  `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:shifts[start eq \"2026-03-01T06:00:00Z\"]"}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt(sg+".shifts", nil)(t, got)
				wantAt(sg+".certifications", []any{map[string]any{"name": "forklift", "expires": "2027-01-01T00:00:00Z"}})(t, got)
			},
		},
		// A required sub-attribute of a multi-valued attribute cannot be
		// removed (RFC 7644 §3.5.2); without a filter it was removed from
		// every value, and the hub refused the shifts later as invalidValue.
		{name: "remove a shift's end with a filter", ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:shifts[start eq \"2026-03-01T06:00:00Z\"].end"}]`, scimType: "mutability"},
		{name: "remove every shift's start without a filter", ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:shifts.start"}]`, scimType: "mutability"},
		{name: "replace every certification's name with null in a value object", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications.name":null}}]`, scimType: "mutability"},
		{name: "replace a certification's name with null", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq \"forklift\"].name","value":null}]`, scimType: "mutability"},
		{name: "replace userName with null", ops: `[{"op":"replace","path":"userName","value":null}]`, scimType: "mutability"},
		{name: "replace id with null", ops: `[{"op":"replace","path":"id","value":null}]`, scimType: "mutability"},
		{name: "replace groups with null", ops: `[{"op":"replace","path":"groups","value":null}]`, scimType: "mutability"},
		{name: "replace a required sub-attribute with a blank dateTime", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:shifts[start eq \"2026-03-01T06:00:00Z\"].start","value":""}]`, scimType: "mutability"},
		{
			name: "add appends and skips identical values",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"babs@jensen.org","type":"home"},{"value":"b@ward3.example","type":"other","primary":true}]}]`,
			check: wantAt("emails", []any{
				map[string]any{"value": "bjensen@example.com", "type": "work"},
				map[string]any{"value": "babs@jensen.org", "type": "home"},
				map[string]any{"value": "b@ward3.example", "type": "other", "primary": true},
			}),
		},
		{
			name:  "replace multi-valued without filter",
			ops:   `[{"op":"replace","path":"emails","value":[{"value":"only@x"}]}]`,
			check: wantAt("emails", []any{map[string]any{"value": "only@x"}}),
		},
		{
			name:  "remove with filter",
			ops:   `[{"op":"remove","path":"emails[type eq \"home\"]"}]`,
			check: wantAt("emails", []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}}),
		},
		{
			name:  "remove with filter that matches nothing is a no-op",
			ops:   `[{"op":"remove","path":"emails[type eq \"pager\"]"}]`,
			check: func(t *testing.T, got map[string]any) { wantAt("emails", sampleUser(t)["emails"])(t, got) },
		},
		{
			name: "frontline: add a site, replace end date with a bare date",
			ops:  `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites","value":"munich-03"},{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate","value":"2026-06-30"}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt(sg+".sites", []any{"berlin-01", "Hamburg-02", "munich-03"})(t, got)
				wantAt(sg+".endDate", "2026-06-30")(t, got) // a calendar day, kept as sent
			},
		},
		{
			name:  "frontline: remove one site by value filter",
			ops:   `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites[value eq \"hamburg-02\"]"}]`,
			check: wantAt(sg+".sites", []any{"berlin-01"}),
		},
		{
			name:  "value object keeps an unchanged id (Okta)",
			ops:   `[{"op":"replace","value":{"id":"2819c223-7f76-453a-919d-413861904646","title":"Charge nurse"}}]`,
			check: wantAt("title", "Charge nurse"),
		},
		{
			// Okta and some HR connectors nest core attributes under the
			// core schema URN; ignored, the leaver stayed active.
			name:  "value object with the core schema URN key",
			ops:   `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"active":false}}}]`,
			check: wantAt("active", false),
		},
		{
			name: "core schema URN key in another case, with dotted and complex keys and an extension",
			ops: `[{"op":"replace","value":{"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER":{"Active":"False","name.givenName":"Babs","name":{"familyName":"J"},"schemas":["x"]},
			       "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"ICU"}}}]`,
			check: func(t *testing.T, got map[string]any) {
				wantAt("active", false)(t, got)
				wantAt("name", map[string]any{"givenName": "Babs", "familyName": "J"})(t, got)
				wantAt(ent+".department", "ICU")(t, got)
			},
		},
		{
			name:  "core schema URN key keeps an unchanged id, ignores an unknown attribute beside a known one",
			ops:   `[{"op":"add","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"id":"2819c223-7f76-453a-919d-413861904646","title":"Charge nurse","favouriteColour":"blue"}}}]`,
			check: wantAt("title", "Charge nurse"),
		},
		{
			// An identity provider sends every mapped attribute at once:
			// one the hub does not keep must not refuse a deactivation.
			name:  "unknown URN-qualified attribute beside a known one is ignored",
			ops:   `[{"op":"replace","value":{"active":false,"urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter":"x"}}]`,
			check: wantAt("active", false),
		},
		{name: "core schema URN key changing id", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"id":"other"}}}]`, scimType: "mutability"},
		{name: "core schema URN key with a bad value", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"active":"maybe"}}}]`, scimType: "invalidValue"},
		{name: "core schema URN key with only an unknown attribute", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"activ":false}}}]`, scimType: "invalidPath"},
		{name: "core schema URN key not an object", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":false}}]`, scimType: "invalidSyntax"},
		{name: "Group core schema URN key on a user", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:Group":{"active":false}}}]`, scimType: "invalidPath"},
		{name: "unknown extension URN key", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:acme:2.0:User":{"active":false}}}]`, scimType: "invalidPath"},
		{name: "extension URN nested under the core schema URN", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x"}}}}]`, scimType: "invalidPath"},
		{name: "extension URN key with only an unknown attribute", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"departmnt":"x"}}}]`, scimType: "invalidPath"},
		{name: "value object with only unknown attributes", ops: `[{"op":"replace","value":{"activ":false}}]`, scimType: "invalidPath"},
		{name: "replace with a filter that cannot say which value to create", ops: `[{"op":"replace","path":"emails[value co \"@nowhere\"].value","value":"x"}]`, scimType: "noTarget"},
		{name: "replace with an or filter and no match", ops: `[{"op":"replace","path":"emails[type eq \"pager\" or type eq \"fax\"].value","value":"x"}]`, scimType: "noTarget"},
		{name: "replace id", ops: `[{"op":"replace","path":"id","value":"other"}]`, scimType: "mutability"},
		{name: "change id in value object", ops: `[{"op":"replace","value":{"id":"other"}}]`, scimType: "mutability"},
		{name: "replace meta.created", ops: `[{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]`, scimType: "mutability"},
		{name: "add groups", ops: `[{"op":"add","path":"groups","value":[{"value":"g2"}]}]`, scimType: "mutability"},
		{name: "remove userName", ops: `[{"op":"remove","path":"userName"}]`, scimType: "mutability"},
		{name: "unknown attribute path", ops: `[{"op":"replace","path":"favouriteColour","value":"blue"}]`, scimType: "invalidPath"},
		{name: "sub-attribute of multi-valued without filter", ops: `[{"op":"replace","path":"emails.value","value":"x"}]`, scimType: "invalidPath"},
		{name: "bad value type", ops: `[{"op":"replace","path":"active","value":"maybe"}]`, scimType: "invalidValue"},
		{name: "bad filter in path", ops: `[{"op":"remove","path":"emails[primary gt true]"}]`, scimType: "invalidFilter"},
		{name: "value object not an object", ops: `[{"op":"add","value":"x"}]`, scimType: "invalidSyntax"},
		{name: "all or nothing", ops: `[{"op":"replace","path":"title","value":"x"},{"op":"replace","path":"id","value":"y"}]`, scimType: "mutability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := sampleUser(t)
			before := sampleUser(t)
			ops, err := ParsePatch([]byte(patchHead + tt.ops + `}`))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			got, err := ApplyPatch(UserResourceType(), res, ops)
			if diff := cmp.Diff(before, res); diff != "" {
				t.Errorf("ApplyPatch modified its input (-before +after):\n%s", diff)
			}
			if scimTypeOf(err) != tt.scimType {
				t.Fatalf("ApplyPatch error = %v, want scimType %q", err, tt.scimType)
			}
			if err != nil {
				return
			}
			tt.check(t, got)
			if again, err := Normalize(UserResourceType(), got); err != nil {
				t.Errorf("result does not normalise: %v (%v)", err, again)
			}
		})
	}
}

// wantAt checks the value at a key; "ext.attr" looks inside an extension
// or complex attribute (the URN's own dots are kept).
func wantAt(key string, want any) func(t *testing.T, got map[string]any) {
	return func(t *testing.T, got map[string]any) {
		t.Helper()
		var v any = got
		for _, k := range splitKey(key) {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if diff := cmp.Diff(want, v); diff != "" {
			t.Errorf("%s (-want +got):\n%s", key, diff)
		}
	}
}

func splitKey(key string) []string {
	for _, urn := range []string{EnterpriseUserURN, ShiftgateUserURN} {
		if len(key) > len(urn) && key[:len(urn)] == urn && key[len(urn)] == '.' {
			return []string{urn, key[len(urn)+1:]}
		}
	}
	return []string{key}
}

func TestApplyPatchGroup(t *testing.T) {
	group := func(t *testing.T) map[string]any {
		g, err := Normalize(GroupResourceType(), mustJSON(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
		  "displayName":"Nurses","members":[{"value":"u1","display":"Babs"},{"value":"u2"},{"value":"u3"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		g["id"] = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b"
		return g
	}
	members := func(ids ...string) []any {
		var l []any
		for _, id := range ids {
			l = append(l, map[string]any{"value": id})
		}
		return l
	}
	tests := []struct {
		name     string
		ops      string
		want     any // members
		scimType string
	}{
		{
			name: "Entra add members",
			ops:  `[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u4"},{"$ref":null,"value":"u2"}]}]`,
			want: []any{map[string]any{"value": "u1", "display": "Babs"}, map[string]any{"value": "u2"}, map[string]any{"value": "u3"}, map[string]any{"value": "u4"}},
		},
		{
			name: "Entra remove members with value list",
			ops:  `[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u1"},{"value":"u3"}]}]`,
			want: members("u2"),
		},
		{
			// A member is its value: the other sub-attributes a client
			// sends (a display name, a type in another case, a $ref with
			// another base) do not make the removal miss it.
			name: "remove members listed with other sub-attributes",
			ops:  `[{"op":"remove","path":"members","value":[{"value":"u1","display":"Babs Jensen"},{"value":"u3","type":"user"}]}]`,
			want: members("u2"),
		},
		{
			name: "Okta remove member by filter",
			ops:  `[{"op":"remove","path":"members[value eq \"u2\"]"}]`,
			want: []any{map[string]any{"value": "u1", "display": "Babs"}, map[string]any{"value": "u3"}},
		},
		{
			// RFC 7644's valFilter joins any number of expressions; the
			// parser takes two at most, which left the members in place.
			name: "remove members by a filter of three clauses",
			ops:  `[{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\" or value eq \"u3\"]"}]`,
			want: nil,
		},
		{
			name: "remove members by a grouped filter",
			ops:  `[{"op":"remove","path":"members[(value eq \"u1\" or value eq \"u3\") and not (value eq \"x]\\\"[\")]"}]`,
			want: members("u2"),
		},
		{
			name: "URN-qualified path, filter of three clauses, sub-attribute",
			ops:  `[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq \"u1\" or value eq \"u2\" or value eq \"x\"].display","value":"D"}]`,
			want: []any{map[string]any{"value": "u1", "display": "D"}, map[string]any{"value": "u2", "display": "D"}, map[string]any{"value": "u3"}},
		},
		{
			name: "Okta replace members",
			ops:  `[{"op":"replace","path":"members","value":[{"value":"u9","display":"x@okta.local"}]}]`,
			want: []any{map[string]any{"value": "u9", "display": "x@okta.local"}},
		},
		{
			name: "Okta rename with id in value object",
			ops:  `[{"op":"replace","value":{"id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"Test SCIMv2"}}]`,
			want: []any{map[string]any{"value": "u1", "display": "Babs"}, map[string]any{"value": "u2"}, map[string]any{"value": "u3"}},
		},
		{
			name: "remove all members",
			ops:  `[{"op":"remove","path":"members"}]`,
			want: nil,
		},
		{
			name: "value object with the core Group schema URN key",
			ops:  `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:group":{"displayName":"Charge nurses","members":[{"value":"u2"}]}}}]`,
			want: members("u2"),
		},
		{name: "User core schema URN key on a group", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"displayName":"x"}}}]`, scimType: "invalidPath"},
		{
			name: "remove a member's display with a filter",
			ops:  `[{"op":"remove","path":"members[value eq \"u1\"].display"}]`,
			want: members("u1", "u2", "u3"),
		},
		{
			name: "remove a member's value with a filter that matches nothing is a no-op",
			ops:  `[{"op":"remove","path":"members[value eq \"u9\"].value"},{"op":"replace","path":"members[value eq \"u9\"].value","value":null}]`,
			want: []any{map[string]any{"value": "u1", "display": "Babs"}, map[string]any{"value": "u2"}, map[string]any{"value": "u3"}},
		},
		{name: "member value is immutable", ops: `[{"op":"replace","path":"members[value eq \"u2\"].value","value":"u5"}]`, scimType: "mutability"},
		// An immutable sub-attribute cannot be removed from a value that
		// has it (RFC 7644 §3.5.2): the member was left without its id,
		// and the hub refused the group later as invalidValue.
		{name: "remove a member's value with a filter", ops: `[{"op":"remove","path":"members[value eq \"u1\"].value"}]`, scimType: "mutability"},
		{name: "replace a member's value with null", ops: `[{"op":"replace","path":"members[value eq \"u1\"].value","value":null}]`, scimType: "mutability"},
		{name: "replace a member's value with a blank string", ops: `[{"op":"replace","path":"members[value eq \"u1\"].value","value":""}]`, scimType: "mutability"},
		{name: "value object with a member's value null", ops: `[{"op":"replace","value":{"members[value eq \"u1\"].value":null}}]`, scimType: "mutability"},
		{name: "URN-qualified path, filter of three clauses, member value removed", ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq \"x\" or value eq \"y\" or value eq \"u3\"].value"}]`, scimType: "mutability"},
		{name: "remove every member's value without a filter", ops: `[{"op":"remove","path":"members.value"}]`, scimType: "mutability"},
		{name: "remove a member's type with a filter", ops: `[{"op":"add","path":"members","value":[{"value":"u4","type":"User"}]},{"op":"remove","path":"members[value eq \"u4\"].type"}]`, scimType: "mutability"},
		{name: "displayName cannot be removed", ops: `[{"op":"remove","path":"displayName"}]`, scimType: "mutability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := ParsePatch([]byte(patchHead + tt.ops + `}`))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			got, err := ApplyPatch(GroupResourceType(), group(t), ops)
			if scimTypeOf(err) != tt.scimType {
				t.Fatalf("ApplyPatch error = %v, want scimType %q", err, tt.scimType)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got["members"]); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzApplyPatch(f *testing.F) {
	for _, s := range []string{
		patchHead + `[{"op":"Replace","path":"active","value":"False"}]}`,
		patchHead + `[{"op":"replace","value":{"active":false,"name.givenName":"X","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Y"}}]}`,
		patchHead + `[{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b"}]}`,
		patchHead + `[{"op":"Remove","path":"members","value":[{"value":"id"}]}]}`,
		patchHead + `[{"op":"add","path":"emails[type eq \"x\"]","value":{}}]}`,
		patchHead + `[{"op":"replace","path":"members[value eq \"id\"]","value":{"display":"x"}}]}`,
		patchHead + `[{"op":"replace","value":{"userName":null,"name.givenName":null}}]}`,
		patchHead + `[{"op":"replace","path":"emails[type eq \"work\"].value","value":null}]}`,
		patchHead + `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq \"forklift\"].expires","value":""}]}`,
		patchHead + `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites[value eq \"x\"]"}]}`,
		patchHead + `[{"op":"remove","path":"emails[type eq \"a\" or type eq \"b]\\\"\" or value pr].display"}]}`,
	} {
		f.Add(s)
	}
	users, groups := UserResourceType(), GroupResourceType()
	user := sampleUser(f)
	f.Fuzz(func(t *testing.T, body string) {
		ops, err := ParsePatch([]byte(body))
		if err != nil {
			checkSCIM400(t, err)
			return
		}
		for _, rt := range []*ResourceType{users, groups} {
			if _, err := ApplyPatch(rt, user, ops); err != nil {
				checkSCIM400(t, err)
			}
		}
	})
}

func checkSCIM400(t *testing.T, err error) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) || se.Status < 400 || se.Status > 499 {
		t.Fatalf("error is not a 4xx *Error: %v", err)
	}
}
