package scim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A variation selector (U+FE0F, U+180B, U+E0100 ...) renders as nothing
// after a letter: a group "Supervisor" followed by U+FE0F was taken beside
// "Supervisor", and the two read the same in the console and the audit
// trail, as did a displayName, a userName or a site with one. Each is 400
// invalidValue; a group stored with one before keeps working and can be
// renamed.
func TestVariationSelectorsRefused(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	group := func(name string) string {
		return `{"schemas":["` + coreGroup + `"],"displayName":"` + name + `"}`
	}
	user := func(name, attrs string) string {
		return `{"schemas":["` + coreUser + `","` + shiftgateUser + `"],"userName":"` + name + `"` + attrs + `}`
	}
	wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", group("Supervisor")), 201)
	for _, name := range []string{`Supervisor\ufe0f`, `Super\u180bvisor`, `Supervisor\udb40\udd00`} {
		wantInvalidValue(t, "POST of group "+name, h.Do(t, "POST", "/scim/v2/Groups", group(name)))
	}
	for i, tc := range []struct{ name, attrs string }{
		{"displayName with U+FE0F", `,"displayName":"Ann Ruiz\ufe0f"`},
		{"displayName with U+E01EF", `,"displayName":"Ann\udb40\uddefRuiz"`},
		{"site with U+FE00", `,"` + shiftgateUser + `":{"sites":["north\ufe00"]}`},
	} {
		wantInvalidValue(t, "POST of a user with a "+tc.name, h.Do(t, "POST", "/scim/v2/Users", user(fmt.Sprintf("vs%d", i), tc.attrs)))
	}
	wantInvalidValue(t, "POST of userName with U+FE0F", h.Do(t, "POST", "/scim/v2/Users", user(`ann\ufe0f`, "")))

	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user("ann", `,"displayName":"Ann Ruiz"`)), 201)["id"].(string)
	wantInvalidValue(t, "PATCH of displayName with U+FE0F", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"replace","path":"displayName","value":"Ann Ruiz\ufe0f"}`)))
	if u := getUser(t, h, id); u.DisplayName != "Ann Ruiz" {
		t.Errorf("after the refused PATCH: displayName %q, want Ann Ruiz", u.DisplayName)
	}

	// A group named with one before the rule keeps working and is renamed.
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", group("Lead")), 201)["id"].(string)
	if _, err := h.Store().UpdateGroup(t.Context(), gid, func(g store.Group) (store.Group, error) {
		g.DisplayName = "Lead\ufe0f"
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+id+`"}]}`)), 204)
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(`{"op":"replace","path":"displayName","value":"Shift lead"}`)), 204)
}

// A site had no length limit: a user with one site of 300,000 characters
// was 201, and the console's user list, access reviews and revocation
// records show each site. A new site longer than 256 characters is 400
// invalidValue on POST, PUT and PATCH; 256 characters of two bytes each
// are taken, and a user stored with a longer site before keeps it, can
// still be changed otherwise and deactivated.
func TestUserSiteLength(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	user := func(name, sites string) string {
		return `{"schemas":["` + coreUser + `","` + shiftgateUser + `"],"userName":"` + name + `","` + shiftgateUser + `":{"sites":` + sites + `}}`
	}
	huge, long, atLimit := strings.Repeat("s", 300_000), strings.Repeat("é", 257), strings.Repeat("é", 256)
	wantInvalidValue(t, "POST with a 300,000-character site", h.Do(t, "POST", "/scim/v2/Users", user("huge", `["`+huge+`"]`)))
	wantInvalidValue(t, "POST with a 257-character site", h.Do(t, "POST", "/scim/v2/Users", user("long", `["north","`+long+`"]`)))
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user("ann", `["`+atLimit+`"]`)), 201)["id"].(string)
	wantInvalidValue(t, "PATCH adding a 257-character site", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"add","path":"`+shiftgateUser+`:sites","value":["`+long+`"]}`)))
	wantInvalidValue(t, "PUT with a 257-character site", h.Do(t, "PUT", "/scim/v2/Users/"+id, user("ann", `["`+atLimit+`","`+long+`"]`)))
	if u := getUser(t, h, id); len(u.Sites) != 1 || u.Sites[0] != atLimit {
		t.Errorf("after the refused changes: sites %d, want the one of 256 characters", len(u.Sites))
	}

	// A user given a longer site before the rule.
	old := strings.Repeat("o", 300)
	if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
		u.Sites = []string{old}
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, user("ann", `["`+old+`","south"]`)), 200)
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)), 200)
	if u := getUser(t, h, id); u.Active || len(u.Sites) != 2 || u.Sites[0] != old {
		t.Errorf("user stored with a 300-character site: active %v, %d sites; want inactive, the old site kept and south", u.Active, len(u.Sites))
	}
}
