package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorJSON(t *testing.T) {
	err := error(ErrInvalidFilter("the filter is not valid"))
	var se *Error
	if !errors.As(fmt.Errorf("list users: %w", err), &se) || se.StatusCode() != 400 {
		t.Fatalf("errors.As: %v", se)
	}
	b, _ := json.Marshal(se)
	want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"the filter is not valid"}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(Error{Status: 404, Detail: "no such user"})
	if want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"no such user"}`; string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	for _, tt := range []struct {
		err      *Error
		status   int
		scimType string
	}{
		{ErrTooMany("x"), 400, "tooMany"}, {ErrUniqueness("x"), 409, "uniqueness"},
		{ErrMutability("x"), 400, "mutability"}, {ErrInvalidSyntax("x"), 400, "invalidSyntax"},
		{ErrInvalidPath("x"), 400, "invalidPath"}, {ErrNoTarget("x"), 400, "noTarget"},
		{ErrInvalidValue("x"), 400, "invalidValue"}, {ErrInvalidVers("x"), 400, "invalidVers"},
		{ErrSensitive("x"), 403, "sensitive"},
	} {
		if tt.err.Status != tt.status || tt.err.ScimType != tt.scimType {
			t.Errorf("%v: want %d %s", tt.err, tt.status, tt.scimType)
		}
	}
}

func TestSchemaResources(t *testing.T) {
	got := SchemaResources("https://hub.example.com/scim/v2/")
	var ids []string
	for _, s := range got {
		ids = append(ids, s["id"].(string))
	}
	if diff := cmp.Diff([]string{UserURN, EnterpriseUserURN, ShiftgateUserURN, GroupURN}, ids); diff != "" {
		t.Errorf("schema ids (-want +got):\n%s", diff)
	}
	var user map[string]any
	b, _ := json.Marshal(got[0])
	if err := json.Unmarshal(b, &user); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"resourceType": "Schema", "location": "https://hub.example.com/scim/v2/Schemas/" + UserURN}, user["meta"]); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	userName := user["attributes"].([]any)[0]
	want := map[string]any{"name": "userName", "type": "string", "multiValued": false, "required": true, "caseExact": false,
		"mutability": "readWrite", "returned": "default", "uniqueness": "server",
		"description": "Unique identifier for the User, typically used to sign in; compared case-insensitively."}
	if diff := cmp.Diff(want, userName); diff != "" {
		t.Errorf("userName attribute (-want +got):\n%s", diff)
	}
	// Every attribute of every schema is well-formed.
	for _, s := range Schemas() {
		var check func(prefix string, attrs []*Attribute)
		check = func(prefix string, attrs []*Attribute) {
			for _, a := range attrs {
				if a.Name == "" || a.Type == "" || a.Mutability == "" || a.Returned == "" || a.Uniqueness == "" || a.Description == "" {
					t.Errorf("%s%s is incomplete: %+v", prefix, a.Name, a)
				}
				if (a.Type == TypeComplex) != (len(a.SubAttributes) > 0) {
					t.Errorf("%s%s: complex iff it has sub-attributes", prefix, a.Name)
				}
				check(prefix+a.Name+".", a.SubAttributes)
			}
		}
		check(s.ID+":", s.Attributes)
	}
}

func TestResourceTypeResources(t *testing.T) {
	got := ResourceTypeResources("https://hub.example.com/scim/v2")
	b, _ := json.Marshal(got)
	var decoded []any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{"schemas": []any{ResourceTypeURN}, "id": "User", "name": "User", "description": "User Account",
			"endpoint": "/Users", "schema": UserURN,
			"schemaExtensions": []any{map[string]any{"schema": EnterpriseUserURN, "required": false}, map[string]any{"schema": ShiftgateUserURN, "required": false}},
			"meta":             map[string]any{"resourceType": "ResourceType", "location": "https://hub.example.com/scim/v2/ResourceTypes/User"}},
		map[string]any{"schemas": []any{ResourceTypeURN}, "id": "Group", "name": "Group", "description": "Group",
			"endpoint": "/Groups", "schema": GroupURN,
			"meta": map[string]any{"resourceType": "ResourceType", "location": "https://hub.example.com/scim/v2/ResourceTypes/Group"}},
	}
	if diff := cmp.Diff(want, decoded); diff != "" {
		t.Errorf("ResourceTypeResources (-want +got):\n%s", diff)
	}
}

func TestSchemasAreFresh(t *testing.T) {
	rt := UserResourceType()
	rt.Schema.Attribute("userName").Required = false
	if !UserResourceType().Schema.Attribute("userName").Required {
		t.Error("changing one ResourceType changed another")
	}
}
