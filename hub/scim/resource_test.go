package scim

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mustJSON decodes a JSON object the way the handler does.
func mustJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON: %v\n%s", err, s)
	}
	return m
}

// scimTypeOf returns the scimType of err, "" for nil, "!" for a non-*Error.
func scimTypeOf(err error) string {
	if err == nil {
		return ""
	}
	var se *Error
	if !errors.As(err, &se) {
		return "!"
	}
	return se.ScimType
}

// sampleUser is a normalised user with every kind of attribute set.
func sampleUser(t testing.TB) map[string]any {
	t.Helper()
	res, err := ApplyPatch(UserResourceType(), mustJSON(t, `{
	  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
	  "id": "2819c223-7f76-453a-919d-413861904646",
	  "externalId": "E-1001",
	  "meta": {"resourceType": "User", "created": "2026-01-02T03:04:05Z", "lastModified": "2026-02-01T00:00:00Z", "version": "W/\"3\""},
	  "userName": "Barbara.Jensen@example.com",
	  "name": {"givenName": "Barbara", "familyName": "Jensen"},
	  "displayName": "Babs Jensen",
	  "active": true,
	  "emails": [
	    {"value": "bjensen@example.com", "type": "work", "primary": true},
	    {"value": "babs@jensen.org", "type": "home"}
	  ],
	  "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
	  "groups": [{"value": "g1", "display": "nurses"}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
	    "employeeNumber": "701984", "department": "Ward 3", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
	  },
	  "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User": {
	    "sites": ["berlin-01", "Hamburg-02"], "employmentType": "contractor",
	    "startDate": "2026-01-05T08:00:00Z", "endDate": "2026-12-31T18:00:00Z",
	    "shifts": [{"start": "2026-03-01T06:00:00Z", "end": "2026-03-01T14:00:00Z"}],
	    "certifications": [{"name": "forklift", "expires": "2027-01-01T00:00:00Z"}]
	  }
	}`), nil)
	if err != nil {
		t.Fatalf("sample user: %v", err)
	}
	return res
}

func TestNormalize(t *testing.T) {
	users, groups := UserResourceType(), GroupResourceType()
	tests := []struct {
		name     string
		rt       *ResourceType
		in       string
		want     string // JSON of the result; "" when an error is expected
		scimType string
	}{
		{
			name: "Entra create user",
			rt:   users,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			  "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_ab6490ee@testuser.com","active":true,
			  "emails":[{"primary":true,"type":"work","value":"Test_User_fd0ea19b@testuser.com"}],
			  "meta":{"resourceType":"User"},"name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},
			  "roles":[]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
			  "userName":"Test_User_ab6490ee@testuser.com","active":true,
			  "emails":[{"primary":true,"type":"work","value":"Test_User_fd0ea19b@testuser.com"}],
			  "name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"}}`,
		},
		{
			name: "Okta create user",
			rt:   users,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local",
			  "name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
			  "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local",
			  "name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
			  "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","active":true}`,
		},
		{
			name: "case-insensitive names, readOnly dropped, unknown ignored",
			rt:   users,
			in: `{"SCHEMAS":["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"],"id":"x","USERNAME":"bjensen","Name":{"GivenName":"B"},
			  "meta":{"created":"2020-01-01T00:00:00Z"},"favouriteColour":"blue","groups":[{"value":"g"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen","name":{"givenName":"B"}}`,
		},
		{
			name: "URN-qualified and dotted keys, extension added to schemas",
			rt:   users,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b",
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"42",
			  "urn:ietf:params:scim:schemas:core:2.0:User:title":"Nurse",
			  "name":{"familyName":"J"},"name.givenName":"B"}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			  "userName":"b","title":"Nurse","name":{"familyName":"J","givenName":"B"},
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"42"}}`,
		},
		{
			name: "Entra string booleans and plain-string manager",
			rt:   users,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","active":"False",
			  "emails":[{"value":"b@x","primary":"TRUE"}],
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Manager":"mgr-id"}}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			  "userName":"b","active":false,"emails":[{"value":"b@x","primary":true}],
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"mgr-id"}}}`,
		},
		{
			name: "frontline extension: dates, canonical employmentType, duplicates",
			rt:   users,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"],"userName":"b",
			  "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"sites":["b1","b1","b2"],"employmentType":"Contractor",
			    "startDate":"2026-12-01","endDate":"2027-01-31","shifts":[{"start":"2026-12-01T08:00:00+02:00","end":"2026-12-01T16:00:00"}],
			    "certifications":[{"name":"forklift"}]}}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"],"userName":"b",
			  "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"sites":["b1","b2"],"employmentType":"contractor",
			    "startDate":"2026-12-01","endDate":"2027-01-31",
			    "shifts":[{"start":"2026-12-01T06:00:00Z","end":"2026-12-01T16:00:00Z"}],"certifications":[{"name":"forklift"}]}}`,
		},
		{
			name: "duplicate complex values, keys in any order",
			rt:   users,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b",
			  "emails":[{"value":"b@x","type":"work"},{"type":"work","value":"b@x"},{"value":"c@x","type":"work"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b",
			  "emails":[{"value":"b@x","type":"work"},{"value":"c@x","type":"work"}]}`,
		},
		{
			name: "nulls and empty values are unassigned",
			rt:   users,
			in:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","title":null,"emails":[],"name":{"givenName":null},"addresses":[null]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b"}`,
		},
		{
			name: "blank dates and employmentType are unassigned",
			rt:   users,
			in:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"employmentType":"","startDate":" ","endDate":"","sites":["n"]}}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"sites":["n"]}}`,
		},
		{
			name: "single value for multi-valued attribute",
			rt:   users,
			in:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","emails":{"value":"b@x"}}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","emails":[{"value":"b@x"}]}`,
		},
		{
			name: "group with members",
			rt:   groups,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Nurses",
			  "members":[{"value":"u1","display":"Babs","$ref":null},{"value":"u2","type":"user"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Nurses",
			  "members":[{"value":"u1","display":"Babs"},{"value":"u2","type":"user"}]}`,
		},
		{
			// A bare date is kept as sent, the open-ended 9999-12-31
			// included (its end, in year 10000, has no RFC 3339 form).
			name: "open-ended endDate",
			rt:   users,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":
			  {"startDate":"9999-12-31","endDate":"9999-12-31"}}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"],"userName":"b",
			  "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"startDate":"9999-12-31","endDate":"9999-12-31"}}`,
		},
		{
			name: "dateTime past 9999 in UTC",
			rt:   users,
			in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":
			  {"endDate":"9999-12-31T23:00:00-05:00"}}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"],"userName":"b",
			  "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"endDate":"9999-12-31T23:59:59.999999999Z"}}`,
		},
		{name: "dateTime before year 0 in UTC", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"endDate":"0000-01-01T00:00:00+01:00"}}`, scimType: "invalidValue"},
		{name: "missing schemas", rt: users, in: `{"userName":"b"}`, scimType: "invalidSyntax"},
		{name: "schemas not an array", rt: users, in: `{"schemas":"urn:ietf:params:scim:schemas:core:2.0:User","userName":"b"}`, scimType: "invalidSyntax"},
		{name: "group schema on user", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"userName":"b"}`, scimType: "invalidSyntax"},
		{name: "userName missing", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"b"}`, scimType: "invalidValue"},
		{name: "userName blank", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"  "}`, scimType: "invalidValue"},
		{name: "displayName missing on group", rt: groups, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"members":[]}`, scimType: "invalidValue"},
		{name: "userName not a string", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":7}`, scimType: "invalidValue"},
		{name: "active not boolean", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","active":"yes"}`, scimType: "invalidValue"},
		{name: "name not an object", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","name":"Babs"}`, scimType: "invalidValue"},
		{name: "two primaries", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","emails":[{"value":"a","primary":true},{"value":"b","primary":true}]}`, scimType: "invalidValue"},
		{name: "bad employmentType", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"employmentType":"intern"}}`, scimType: "invalidValue"},
		{name: "bad dateTime", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"startDate":"next monday"}}`, scimType: "invalidValue"},
		{name: "a bare date that is no day", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"endDate":"2026-02-30"}}`, scimType: "invalidValue"},
		{name: "date-only where not allowed", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"shifts":[{"start":"2026-12-01","end":"2026-12-02"}]}}`, scimType: "invalidValue"},
		{name: "shift without end", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"shifts":[{"start":"2026-12-01T00:00:00Z"}]}}`, scimType: "invalidValue"},
		{name: "extension not an object", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}`, scimType: "invalidValue"},
		{name: "bad base64 certificate", rt: users, in: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","x509Certificates":[{"value":"%%%"}]}`, scimType: "invalidValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustJSON(t, tt.in)
			before := mustJSON(t, tt.in)
			got, err := Normalize(tt.rt, in)
			if diff := cmp.Diff(before, in); diff != "" {
				t.Errorf("Normalize modified its input (-before +after):\n%s", diff)
			}
			if scimTypeOf(err) != tt.scimType {
				t.Fatalf("Normalize error = %v, want scimType %q", err, tt.scimType)
			}
			if tt.scimType != "" {
				return
			}
			if diff := cmp.Diff(mustJSON(t, tt.want), jsonRoundTrip(t, got)); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
		})
	}
}

// jsonRoundTrip makes v comparable with a decoded JSON literal.
func jsonRoundTrip(t testing.TB, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return mustJSON(t, string(b))
}

func TestNormalizeDoesNotShareWithInput(t *testing.T) {
	in := mustJSON(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","emails":[{"value":"a"}]}`)
	got, err := Normalize(UserResourceType(), in)
	if err != nil {
		t.Fatal(err)
	}
	got["emails"].([]any)[0].(map[string]any)["value"] = "changed"
	if v := in["emails"].([]any)[0].(map[string]any)["value"]; v != "a" {
		t.Errorf("input changed through the result: %v", v)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","active":"True","emails":[{"value":"a","primary":true}]}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"startDate":"2026-12-01","shifts":[{"start":"2026-12-01T00:00:00Z","end":"2026-12-01T08:00:00Z"}]}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"m","name.givenName":"x"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g","members":[{"value":"1"}]}`,
	} {
		f.Add(s)
	}
	users, groups := UserResourceType(), GroupResourceType()
	f.Fuzz(func(t *testing.T, s string) {
		var in map[string]any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if d.Decode(&in) != nil || in == nil {
			return
		}
		for _, rt := range []*ResourceType{users, groups} {
			out, err := Normalize(rt, in)
			if err != nil {
				var se *Error
				if !errors.As(err, &se) || se.Status != 400 {
					t.Fatalf("error is not a SCIM 400: %v", err)
				}
				continue
			}
			// Normalising a normalised resource changes nothing.
			again, err := Normalize(rt, out)
			if err != nil {
				t.Fatalf("normalised resource does not normalise again: %v", err)
			}
			if diff := cmp.Diff(out, again); diff != "" {
				t.Fatalf("Normalize is not idempotent (-first +second):\n%s", diff)
			}
		}
	})
}

func TestGoTypedSlices(t *testing.T) {
	res := map[string]any{
		"schemas":  []string{UserURN},
		"userName": "b",
		"emails":   []map[string]any{{"value": "a@x", "type": "work"}},
	}
	got, err := Normalize(UserResourceType(), res)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"schemas": []any{UserURN}, "userName": "b", "emails": []any{map[string]any{"value": "a@x", "type": "work"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
	f, err := ParseFilter(UserResourceType(), `emails[type eq "work"] and schemas eq "`+UserURN+`"`)
	if err != nil || !f.Match(res) {
		t.Errorf("Match on Go-typed slices = false, %v", err)
	}
}

// Unknown extension URNs in schemas are ignored, as Entra lists its own
// ADSCIM Group schema on every group it creates.
func TestNormalizeIgnoresUnknownSchemaURN(t *testing.T) {
	res, err := Normalize(GroupResourceType(), map[string]any{
		"schemas":     []any{GroupURN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"displayName": "Nurse",
	})
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	if diff := cmp.Diff([]any{GroupURN}, res["schemas"]); diff != "" {
		t.Errorf("schemas (-want +got):\n%s", diff)
	}
}
