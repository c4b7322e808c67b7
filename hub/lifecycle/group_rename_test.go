package lifecycle_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// groupUpdateDetail is what a group.update record says of members.
type groupUpdateDetail struct {
	DisplayName    *struct{ Before, After string } `json:"displayName"`
	MembersAdded   []string                        `json:"membersAdded"`
	MembersRemoved []string                        `json:"membersRemoved"`
	MembersKept    []string                        `json:"membersKept"`
}

// TestRenameWithRemovalRecordsWhoLeft: a group update that renames the
// group and removes members in one change (a SCIM PUT, or a PATCH with
// both operations) lists in membersRemoved only the members who left,
// and in membersKept those who stay: before, every member was written as
// removed, and nobody could tell from the trail who left. The revocations
// are unchanged: every member before the rename loses the old role (its
// sessions under it end, a role:OLD revocation, as TestGroupRename in
// package hub asserts end to end), whether it left or stays; sessions
// under other roles stay live, and a stayer stays a member. A change of
// case renames nothing: only those who left lose the role, and no
// membersKept is written.
func TestRenameWithRemovalRecordsWhoLeft(t *testing.T) {
	ctx := t.Context()
	st, log := openStore(t)
	var mu sync.Mutex
	var pushed []store.Revocation
	now := t0.Add(time.Hour)
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return now },
		OnRevoke: func(rs []store.Revocation) { mu.Lock(); pushed = append(pushed, rs...); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateDevice(ctx, store.Device{ID: "dev-1", Name: "kiosk-1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"u-stay", "u-left", "u-new"} {
		if _, err := eng.CreateUser(ctx, actor, store.User{ID: id, UserName: id, Active: true, Sites: []string{"north"}}); err != nil {
			t.Fatal(err)
		}
	}
	nurse, err := eng.CreateGroup(ctx, actor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{"u-stay", "u-left"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateGroup(ctx, actor, store.Group{ID: "g-pharm", DisplayName: "Pharmacist", Members: []string{"u-stay"}}); err != nil {
		t.Fatal(err)
	}
	sessions := map[string]store.Session{
		"stay-nurse": {UserID: "u-stay", Role: "Nurse"},
		"stay-pharm": {UserID: "u-stay", Role: "Pharmacist"},
		"left-nurse": {UserID: "u-left", Role: "Nurse"},
	}
	for id, s := range sessions {
		s.ID, s.DeviceID, s.Started, s.Expires = id, "dev-1", t0, t0.Add(8*time.Hour)
		if _, err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	update := func(fn func(*store.Group)) groupUpdateDetail {
		t.Helper()
		if _, err := eng.UpdateGroup(ctx, actor, nurse.ID, func(g store.Group) (store.Group, error) {
			g.Members = slices.Clone(g.Members)
			fn(&g)
			return g, nil
		}); err != nil {
			t.Fatal(err)
		}
		recs, err := st.ListAudit(ctx, store.AuditQuery{Subject: "group:" + nurse.ID, Action: "group.update"})
		if err != nil || len(recs) == 0 {
			t.Fatalf("group.update records: %v, %v", recs, err)
		}
		var d groupUpdateDetail
		if err := json.Unmarshal(recs[len(recs)-1].Detail, &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	live := func() []string {
		t.Helper()
		var out []string
		for id := range sessions {
			s, err := st.GetSession(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if s.Ended.IsZero() {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}

	d := update(func(g *store.Group) {
		g.DisplayName = "Ward nurse"
		g.Members = []string{"u-stay", "u-new"}
	})
	want := groupUpdateDetail{
		DisplayName:    &struct{ Before, After string }{"Nurse", "Ward nurse"},
		MembersAdded:   []string{"u-new"},
		MembersRemoved: []string{"u-left"},
		MembersKept:    []string{"u-stay"},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("rename with a removal: group.update detail (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"stay-pharm"}, live()); diff != "" {
		t.Errorf("live sessions after the rename (-want +got):\n%s", diff)
	}
	mu.Lock()
	got := map[string]string{}
	for _, r := range pushed {
		got[r.SessionID+"/"+r.UserID] = r.Reason + " " + r.Detail
	}
	mu.Unlock()
	wantRevs := map[string]string{
		"stay-nurse/u-stay": "entitlement_removed role:Nurse",
		"left-nurse/u-left": "entitlement_removed role:Nurse",
	}
	if diff := cmp.Diff(wantRevs, got); diff != "" {
		t.Errorf("revocations pushed for the rename (-want +got):\n%s", diff)
	}
	for _, uid := range []string{"u-stay", "u-left"} {
		recs, err := st.ListAudit(ctx, store.AuditQuery{Subject: "user:" + uid, Action: "user.entitlements_removed"})
		if err != nil || len(recs) != 1 {
			t.Errorf("%s: user.entitlements_removed records %v, %v; want one (the old role)", uid, recs, err)
		}
	}
	if g, err := st.GetGroup(ctx, nurse.ID); err != nil || !slices.Equal(slices.Sorted(slices.Values(g.Members)), []string{"u-new", "u-stay"}) {
		t.Errorf("group after the rename: %+v, %v; want members u-new and u-stay", g, err)
	}

	// A change of case with a removal: the same role.
	d = update(func(g *store.Group) {
		g.DisplayName = "WARD NURSE"
		g.Members = []string{"u-stay"}
	})
	want = groupUpdateDetail{
		DisplayName:    &struct{ Before, After string }{"Ward nurse", "WARD NURSE"},
		MembersRemoved: []string{"u-new"},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("change of case with a removal: group.update detail (-want +got):\n%s", diff)
	}
	if recs, _ := st.ListAudit(ctx, store.AuditQuery{Subject: "user:u-stay", Action: "user.entitlements_removed"}); len(recs) != 1 {
		t.Errorf("a change of case took the role from a member who stays: %d user.entitlements_removed records", len(recs))
	}

	// A rename that keeps nobody still says so: membersKept is an empty
	// list, not absent, which is how readers tell it from an earlier
	// hub's record.
	recs, _ := st.ListAudit(ctx, store.AuditQuery{Subject: "group:" + nurse.ID, Action: "group.update"})
	before := len(recs)
	update(func(g *store.Group) {
		g.DisplayName = "Charge nurse"
		g.Members = nil
	})
	recs, _ = st.ListAudit(ctx, store.AuditQuery{Subject: "group:" + nurse.ID, Action: "group.update"})
	if len(recs) != before+1 {
		t.Fatalf("group.update records: %d, want %d", len(recs), before+1)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(recs[len(recs)-1].Detail, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["membersKept"]) != "[]" || string(raw["membersRemoved"]) != `["u-stay"]` {
		t.Errorf("rename that empties the group: membersKept %s, membersRemoved %s; want [] and [\"u-stay\"]", raw["membersKept"], raw["membersRemoved"])
	}
}
