package scim_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// wantSCIMInvalidValue is wantInvalidValue that also wants the answer in
// the SCIM error schema.
func wantSCIMInvalidValue(t *testing.T, what string, r hubtest.Response) {
	t.Helper()
	wantInvalidValue(t, what, r)
	if s := fmt.Sprint(r.JSON()["schemas"]); s != "[urn:ietf:params:scim:api:messages:2.0:Error]" {
		t.Errorf("%s: schemas %s, want the SCIM error schema", what, s)
	}
}

// A list stored longer than its limit (before the limit) is kept until it
// changes, which was decided on its length alone: a PUT or PATCH that
// swapped it for as many other values, sites or roles, was taken, a list
// over the limit that the hub had never held. It is refused as any new
// list over the limit is; the same list sent again, in another order (an
// identity provider's full PUT), is still taken, and so is one that
// loses values.
func TestUserListOverLimitSwap(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})

	t.Run("sites", func(t *testing.T) {
		user := func(sites []string) string {
			return `{"schemas":["` + coreUser + `","` + shiftgateUser + `"],"userName":"sites.swap","` + shiftgateUser +
				`":{"sites":["` + strings.Join(sites, `","`) + `"]}}`
		}
		id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user([]string{"north"})), 201)["id"].(string)
		old, _ := siteNames(0, 1500)
		if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
			u.Sites = old
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		swapped := append(slices.Clone(old[:1499]), "elsewhere")
		wantSCIMInvalidValue(t, "PUT swapping a site of 1,500", h.Do(t, "PUT", "/scim/v2/Users/"+id, user(swapped)))
		_, others := siteNames(5000, 1500)
		wantSCIMInvalidValue(t, "PATCH replacing 1,500 sites with 1,500 others", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
			patchBody(`{"op":"replace","path":"`+shiftgateUser+`:sites","value":`+others+`}`)))
		wantSCIMInvalidValue(t, "PATCH removing a site and adding another", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
			patchBody(`{"op":"remove","path":"`+shiftgateUser+`:sites[value eq \"s0000\"]"},`+
				`{"op":"add","path":"`+shiftgateUser+`:sites","value":["elsewhere"]}`)))
		if u := getUser(t, h, id); !slices.Equal(u.Sites, old) {
			t.Fatalf("after the refused changes: %d sites, want the 1,500 stored", len(u.Sites))
		}

		// The same sites sent again, backwards and in upper case: the
		// sites the hub holds.
		again := slices.Clone(old)
		slices.Reverse(again)
		for i := range again {
			again[i] = strings.ToUpper(again[i])
		}
		wantStatus(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, user(again)), 200)
		wantStatus(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, user(old[1:])), 200)
		if u := getUser(t, h, id); len(u.Sites) != 1499 {
			t.Errorf("after the PUTs of the stored sites: %d sites, want 1,499", len(u.Sites))
		}
	})

	t.Run("roles", func(t *testing.T) {
		role := func(i int) string { return fmt.Sprintf(`{"value":"role%d","type":"work"}`, i) }
		user := func(roles string) string {
			return `{"schemas":["` + coreUser + `"],"userName":"roles.swap","roles":` + roles + `}`
		}
		id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user("[]")), 201)["id"].(string)
		if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
			var doc map[string]any
			if err := json.Unmarshal(u.Document, &doc); err != nil {
				return u, err
			}
			var vals []any
			if err := json.Unmarshal([]byte(valueList(150, role)), &vals); err != nil {
				return u, err
			}
			doc["roles"] = vals
			b, err := json.Marshal(doc)
			u.Document = b
			return u, err
		}); err != nil {
			t.Fatal(err)
		}
		swapped := valueList(150, func(i int) string {
			if i == 149 {
				return role(1000)
			}
			return role(i)
		})
		wantSCIMInvalidValue(t, "PUT swapping a role of 150", h.Do(t, "PUT", "/scim/v2/Users/"+id, user(swapped)))
		wantSCIMInvalidValue(t, "PATCH replacing 150 roles with 150 others", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
			patchBody(`{"op":"replace","path":"roles","value":`+valueList(150, func(i int) string { return role(500 + i) })+`}`)))
		if n := len(storedList(t, h, id, "roles")); n != 150 {
			t.Fatalf("after the refused changes: %d roles, want the 150 stored", n)
		}

		// The same roles again, backwards, their members in another order.
		backwards := valueList(150, func(i int) string { return fmt.Sprintf(`{"type":"work","value":"role%d"}`, 149-i) })
		wantStatus(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, user(backwards)), 200)
		wantStatus(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, user(valueList(140, role))), 200)
		if n := len(storedList(t, h, id, "roles")); n != 140 {
			t.Errorf("after the PUTs of the stored roles: %d roles, want 140", n)
		}
	})
}
