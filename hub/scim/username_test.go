package scim_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A userName that is hard to tell apart or to find is refused with a
// SCIM invalidValue, at creation and when it changes: a right-to-left
// override or a zero-width space (two users who read the same in the
// console and the audit trail), other control characters, spaces around
// it, or one longer than any identity provider sends (it could not be
// found by a filter). A user stored with such a name before keeps it, and
// can still be deactivated.
func TestUserNameChecked(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	create := func(name string) (int, string) {
		b, _ := json.Marshal(map[string]any{"schemas": []string{coreUser}, "userName": name})
		r := h.Do(t, "POST", "/scim/v2/Users", string(b))
		return r.Status, string(r.Body)
	}
	for _, name := range []string{
		"ann\u202Egnp.exe", "ann\u200B", "ann\x00", "ann\nbob", " ann", "ann ", strings.Repeat("a", 257),
	} {
		status, body := create(name)
		if status != 400 || !strings.Contains(body, `"scimType":"invalidValue"`) || !strings.Contains(body, "userName") {
			t.Errorf("userName %q: %d %s, want 400 invalidValue about userName", name, status, body)
		}
	}
	for _, name := range []string{"ann", "Ann.O'Neil@example.com", "Zoë Müller", "张伟", strings.Repeat("a", 256)} {
		if status, body := create(name); status != 201 {
			t.Errorf("userName %q: %d %s, want 201", name, status, body)
		}
	}

	// A rename is checked too.
	m := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"bo"}`), 201)
	id := m["id"].(string)
	if r := h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"userName","value":"b\u202Eo"}]}`); r.Status != 400 {
		t.Errorf("rename to a name with a right-to-left override: %d %s, want 400", r.Status, r.Body)
	}

	// Stored before the checks: the leaver is still deactivated.
	if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
		u.UserName = "bo\u200B"
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"active","value":false}]}`), 200)
	if u, err := h.Store().GetUser(t.Context(), id); err != nil || u.Active {
		t.Errorf("leaver with an old unchecked userName: %+v, %v; want deactivated", u, err)
	}
}
