package scim_test

import (
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A group's displayName is the role's name in the console, the audit trail
// and access reviews. One with a right-to-left override or a zero-width
// space was taken, and read there as another role, or as a role a login
// policy names although it grants none of it. A new or changed name with
// one, or longer than 256 characters, is 400 invalidValue; a group stored
// with one before keeps working and can be renamed.
func TestGroupDisplayNameHidden(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	group := func(name string) string {
		return `{"schemas":["` + coreGroup + `"],"displayName":"` + name + `"}`
	}
	wantInvalid := func(what string, r hubtest.Response) {
		t.Helper()
		if m := wantSCIMError(t, what, r, 400); m["scimType"] != "invalidValue" {
			t.Errorf("%s: scimType %v, want invalidValue", what, m["scimType"])
		}
	}
	for _, name := range []string{`Supervisor\u200b`, `\u202erosivrepuS`, `Super\u0007visor`, strings.Repeat("r", 257)} {
		wantInvalid("POST of "+name[:min(len(name), 20)], h.Do(t, "POST", "/scim/v2/Groups", group(name)))
	}
	// 256 characters of two bytes each are not too long.
	wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", group(strings.Repeat("é", 256))), 201)

	uid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"ann"}`), 201)["id"].(string)
	gid := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", group("Supervisor")), 201)["id"].(string)
	wantInvalid("PATCH renaming", h.Do(t, "PATCH", "/scim/v2/Groups/"+gid,
		patchBody(`{"op":"replace","path":"displayName","value":"Super\u200bvisor"}`)))
	wantInvalid("PATCH renaming without a path", h.Do(t, "PATCH", "/scim/v2/Groups/"+gid,
		patchBody(`{"op":"replace","value":{"displayName":"\u2066Supervisor"}}`)))
	wantInvalid("PUT renaming", h.Do(t, "PUT", "/scim/v2/Groups/"+gid, group(`Supervisor\u200d`)))
	g, err := h.Store().GetGroup(t.Context(), gid)
	if err != nil {
		t.Fatal(err)
	}
	if g.DisplayName != "Supervisor" {
		t.Errorf("after the refused renames: displayName %q, want Supervisor", g.DisplayName)
	}

	// A group named before the rule: its members change, and it is renamed.
	if _, err := h.Store().UpdateGroup(t.Context(), gid, func(g store.Group) (store.Group, error) {
		g.DisplayName = "Super\u200bvisor"
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+uid+`"}]}`)), 204)
	wantStatus(t, h.Do(t, "PUT", "/scim/v2/Groups/"+gid, `{"schemas":["`+coreGroup+`"],"displayName":"Super\u200bvisor","members":[{"value":"`+uid+`"}]}`), 200)
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, patchBody(`{"op":"replace","path":"displayName","value":"Supervisor"}`)), 204)
	if g, err = h.Store().GetGroup(t.Context(), gid); err != nil {
		t.Fatal(err)
	}
	if g.DisplayName != "Supervisor" || len(g.Members) != 1 {
		t.Errorf("group named before the rule: displayName %q, members %v; want Supervisor and ann", g.DisplayName, g.Members)
	}
}
