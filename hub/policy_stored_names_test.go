package hub_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestShiftGraceRestartKeepsStoredNames: a policy stored with a role name
// that a later rule refuses in an admin's edit (here one ending in a
// variation selector, which store.Hidden came to report) still loads, and
// a hub restarted with the --shift-grace the policy already holds starts:
// applying the flag made a new version, held to the edit rule, and the
// hub refused to start on it. Nothing new is stored.
func TestShiftGraceRestartKeepsStoredNames(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{ShiftGrace: 20 * time.Minute})
	doc := []byte(`{"max_session":"12h","shift_grace":"20m","roles":[{"name":"Lead\ufe0f","apps":["wms"]}],"other":{"apps":[]}}`)
	if _, err := h.Store().UpdatePolicy(t.Context(), func(store.PolicyVersion) (store.PolicyVersion, error) {
		return store.PolicyVersion{Document: doc, ChangedBy: "console:kim", Changed: time.Now()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	want := storedVersion(t, h)
	dir := h.DataDir
	h.Stop()
	h = hubtest.Start(t, hubtest.Options{DataDir: dir, ShiftGrace: 20 * time.Minute})
	if _, ok := h.Engine().Rules().Roles["Lead\ufe0f"]; !ok || storedVersion(t, h) != want {
		t.Errorf("after the restart: roles %v, version %d; want the stored role, version %d", h.Engine().Rules().Roles, storedVersion(t, h), want)
	}
}
