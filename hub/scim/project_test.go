package scim

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProject(t *testing.T) {
	user := sampleUser(t)
	user["password"] = "must-never-show" // as if a caller put it there
	core := []any{UserURN, EnterpriseUserURN, ShiftgateUserURN}
	const id = "2819c223-7f76-453a-919d-413861904646"
	tests := []struct {
		name          string
		attrs, exclud []string
		want          map[string]any // nil: check only keys
		keys          []string
	}{
		{
			name:  "attributes=userName keeps id and schemas",
			attrs: []string{"userName"},
			want:  map[string]any{"id": id, "schemas": core, "userName": "Barbara.Jensen@example.com"},
		},
		{
			name:  "dotted, case-insensitive, multi-valued sub-attribute",
			attrs: []string{"NAME.givenName", "emails.value"},
			want: map[string]any{"id": id, "schemas": core, "name": map[string]any{"givenName": "Barbara"},
				"emails": []any{map[string]any{"value": "bjensen@example.com"}, map[string]any{"value": "babs@jensen.org"}}},
		},
		{
			name:  "URN-qualified attribute and whole extension",
			attrs: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", ShiftgateUserURN + ""},
			keys:  []string{"id", "schemas", EnterpriseUserURN, ShiftgateUserURN},
		},
		{
			name:   "excludedAttributes (Entra: members-style) and never-shown password",
			exclud: []string{"emails", "groups", "name.familyName", "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User", "id"},
			keys:   []string{"id", "schemas", "externalId", "meta", "userName", "name", "displayName", "active", "phoneNumbers", EnterpriseUserURN},
		},
		{
			name:  "unknown names ignored",
			attrs: []string{"favouriteColour"},
			want:  map[string]any{"id": id, "schemas": core},
		},
		{
			name:   "both lists",
			attrs:  []string{"name", "emails"},
			exclud: []string{"name.givenName", "emails.type"},
			want: map[string]any{"id": id, "schemas": core, "name": map[string]any{"familyName": "Jensen"},
				"emails": []any{map[string]any{"value": "bjensen@example.com", "primary": true}, map[string]any{"value": "babs@jensen.org"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Project(UserResourceType(), user, tt.attrs, tt.exclud)
			// projectOwned must give the same answer from a copy it may take over.
			if diff := cmp.Diff(got, projectOwned(UserResourceType(), deepCopy(user).(map[string]any), tt.attrs, tt.exclud)); diff != "" {
				t.Errorf("projectOwned differs from Project (-Project +projectOwned):\n%s", diff)
			}
			if _, ok := got["password"]; ok {
				t.Error("password shown")
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Project (-want +got):\n%s", diff)
				}
				return
			}
			var keys []string
			for _, k := range tt.keys {
				if _, ok := got[k]; !ok {
					t.Errorf("missing %s", k)
				}
				keys = append(keys, k)
			}
			if len(got) != len(keys) {
				t.Errorf("got keys %v, want %v", sortedKeys(got), keys)
			}
		})
	}
	if name := Project(UserResourceType(), user, nil, []string{"name.familyName"})["name"]; cmp.Diff(map[string]any{"givenName": "Barbara"}, name) != "" {
		t.Errorf("excluding a sub-attribute: got %v", name)
	}
	// The result shares nothing with the resource.
	got := Project(UserResourceType(), user, nil, nil)
	got["name"].(map[string]any)["givenName"] = "changed"
	if user["name"].(map[string]any)["givenName"] != "Barbara" {
		t.Error("Project result shares maps with its input")
	}
}

// TestDecodeDocument: pooled decoders give what a fresh json.Decoder with
// UseNumber gives, whatever the document before left behind.
func TestDecodeDocument(t *testing.T) {
	docs := []string{
		`{"a":1,"b":[1.5,"x"]}`,
		`{"broken":`,
		`{"n":12345678901234567890}`,
		`{"t":true}  `,
		`{"after":"trailing space"}`,
		`[1,2]`,
		`{"x":1} {"y":2}`,
		`{"z":null}`,
	}
	for range 3 { // around again, with decoders the pool kept
		for _, d := range docs {
			var got, want any
			gotErr := decodeDocument([]byte(d), &got)
			ref := json.NewDecoder(strings.NewReader(d))
			ref.UseNumber()
			wantErr := ref.Decode(&want)
			if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("decodeDocument(%q) = %v, %v; json.Decoder: %v, %v", d, got, gotErr, want, wantErr)
			}
		}
	}
}

// FuzzDecodeDocument: two documents decoded one after the other with the
// pooled decoders give what fresh decoders give: nothing of the first
// leaks into the second.
func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(`{"a":1}`), []byte(`{"b":2}`))
	f.Add([]byte(`{"x":1} {"y":2}`), []byte(`{"z":3}`))
	f.Add([]byte(`{"t":`), []byte(`[1]`))
	f.Add([]byte(`7 `), []byte(`"s"`))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		for _, d := range [][]byte{first, second, first} {
			var got, want any
			gotErr := decodeDocument(d, &got)
			ref := json.NewDecoder(strings.NewReader(string(d)))
			ref.UseNumber()
			wantErr := ref.Decode(&want)
			if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("decodeDocument(%q) = %v, %v; json.Decoder: %v, %v", d, got, gotErr, want, wantErr)
			}
		}
	})
}
