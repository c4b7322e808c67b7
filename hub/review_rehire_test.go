package hub_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewRevokeOfLeaverRoleSticks, end to end: a reviewer revokes the
// Nurse role of a worker the identity provider deactivated while the
// campaign ran. The outcome is "already gone" (no access was live), but
// the membership the leaver kept for a re-hire is removed: when the
// identity provider activates the worker again (active=true and nothing
// else), the Nurse group no longer lists it and its first login holds
// only the role nobody revoked. Before, the revoke removed nothing and the
// re-hire signed in as a Nurse again.
func TestReviewRevokeOfLeaverRoleSticks(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := createUser(t, h, "rae", `{"sites":["north"]}`)
	nurse := createGroup(t, h, "Nurse", id)
	createGroup(t, h, "Picker", id)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	if g := grant(t, first(tap(t, k, registerBadge(t, h, k, "rae")))); g.Role != "Nurse,Picker" && g.Role != "Picker,Nurse" {
		t.Fatalf("first login as %q, want Nurse and Picker", g.Role)
	}

	due := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	c := wantAPI(t, h.API(t, "POST", "/api/v1/reviews", `{"name":"nurses","due":"`+due+`","scope":{"roles":["Nurse"]}}`), http.StatusCreated)
	items, _ := c["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("campaign items = %v, want rae's Nurse role", items)
	}
	item := items[0].(map[string]any)["id"].(string)

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`), 200)
	k.Ack(k.Recv(5 * time.Second)) // the session's revocation
	d := wantAPI(t, h.API(t, "POST", "/api/v1/reviews/"+c["id"].(string)+"/items/"+item, `{"decision":"revoke","comment":"left the ward"}`), 200)
	if d["decision"] != "revoke" || d["outcome"] != "already gone" {
		t.Errorf("revoke of the leaver's role: %v, want revoke, already gone", d)
	}
	if m := want(t, h.Do(t, "GET", "/scim/v2/Groups/"+nurse, nil), 200); m["members"] != nil {
		t.Errorf("Nurse members after the reviewer revoked rae's role: %v, want none", m["members"])
	}

	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`), 200)
	if g := grant(t, first(tap(t, k, registerBadge(t, h, k, "rae")))); g.Role != "Picker" {
		t.Errorf("re-hire signed in as %q, want Picker only: the reviewer revoked Nurse", g.Role)
	}
}

// TestSCIMRenameWithRemovalAudit, end to end: one SCIM PATCH that renames
// a group and removes a member writes one group.update record that lists
// only the member who left as removed, and the member who stays as kept.
// Before, both were listed as removed.
func TestSCIMRenameWithRemovalAudit(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	rae := createUser(t, h, "rae", `{"sites":["north"]}`)
	sam := createUser(t, h, "sam", `{"sites":["north"]}`)
	gid := createGroup(t, h, "Nurse", rae, sam)
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[`+
		`{"op":"replace","path":"displayName","value":"Ward nurse"},`+
		`{"op":"remove","path":"members[value eq \"`+sam+`\"]"}]}`), 204)
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Subject: "group:" + gid, Action: "group.update"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("group.update records: %+v, %v; want one", recs, err)
	}
	var d struct {
		DisplayName                 struct{ Before, After string }
		MembersRemoved, MembersKept []string
	}
	if err := json.Unmarshal(recs[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.DisplayName.Before != "Nurse" || d.DisplayName.After != "Ward nurse" ||
		!slices.Equal(d.MembersRemoved, []string{sam}) || !slices.Equal(d.MembersKept, []string{rae}) {
		t.Errorf("group.update detail %s, want the rename, sam removed and rae kept", recs[0].Detail)
	}
}
