package storetest

import (
	"fmt"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

func campaign(id, key string, h int) store.Campaign {
	return store.Campaign{ID: id, Name: "campaign " + id, DefaultKey: key,
		Scope: store.ReviewScope{Sites: []string{"north"}, Roles: []string{"Nurse"}, Privileged: true, External: true},
		Due:   at(h + 24), Created: at(h), CreatedBy: "cli"}
}

func reviewItem(id, campaignID, user, reviewer string, h int) store.ReviewItem {
	return store.ReviewItem{ID: id, CampaignID: campaignID, UserID: user, Kind: store.ReviewItemRole,
		Entitlement: "Nurse", GroupID: "g1", Detail: "Nurse", ReviewerID: reviewer, ReviewerKind: "manager",
		Decision: store.ReviewPending, Created: at(h)}
}

func itemID(it store.ReviewItem) string { return it.ID }

func testCampaigns(t *testing.T, s store.Store) {
	c1, c2 := campaign("c1", "quarterly:2025-Q1", 1), campaign("c2", "", 0)
	c2.Scope = store.ReviewScope{}
	i1, i2, i3 := reviewItem("i1", "c1", "u1", "m1", 1), reviewItem("i2", "c1", "u2", "", 1), reviewItem("i3", "c2", "u1", "m1", 0)
	i2.Kind, i2.Entitlement, i2.GroupID = store.ReviewItemSite, "north", ""
	got := must[store.Campaign](t, "create c1")(s.CreateCampaign(t.Context(), c1, []store.ReviewItem{i1, i2}))
	diff(t, "created campaign", c1, got)
	checkUTC(t, "created campaign", got.Due, got.Created)
	must[store.Campaign](t, "create c2")(s.CreateCampaign(t.Context(), c2, []store.ReviewItem{i3}))

	// A second default campaign for the same period is refused, and
	// leaves nothing behind: neither the campaign nor its items.
	dup := campaign("c3", "quarterly:2025-Q1", 2)
	_, err := s.CreateCampaign(t.Context(), dup, []store.ReviewItem{reviewItem("i4", "c3", "u1", "", 2)})
	wantErr(t, "create duplicate default key", err, store.ErrConflict)
	_, err = s.GetCampaign(t.Context(), "c3")
	wantErr(t, "get refused campaign", err, store.ErrNotFound)
	_, err = s.GetReviewItem(t.Context(), "i4")
	wantErr(t, "get item of refused campaign", err, store.ErrNotFound)
	// Ad-hoc campaigns (no key) do not collide with each other.
	must[store.Campaign](t, "create c4")(s.CreateCampaign(t.Context(), campaign("c4", "", 3), nil))
	_, err = s.CreateCampaign(t.Context(), campaign("c4", "", 3), nil)
	wantErr(t, "create duplicate ID", err, store.ErrConflict)
	_, err = s.CreateCampaign(t.Context(), campaign("c5", "", 3), []store.ReviewItem{reviewItem("i1", "c5", "u1", "", 3)})
	wantErr(t, "create with a taken item ID", err, store.ErrConflict)
	_, err = s.CreateCampaign(t.Context(), campaign("c6", "", 3), []store.ReviewItem{reviewItem("i9", "other", "u1", "", 3)})
	if err == nil {
		t.Error("create with an item of another campaign: no error")
	}
	_, err = s.GetCampaign(t.Context(), "c6")
	wantErr(t, "get campaign refused for a foreign item", err, store.ErrNotFound)

	diff(t, "got campaign", c1, must[store.Campaign](t, "get")(s.GetCampaign(t.Context(), "c1")))
	_, err = s.GetCampaign(t.Context(), "nope")
	wantErr(t, "get unknown", err, store.ErrNotFound)
	list := must[[]store.Campaign](t, "list")(s.ListCampaigns(t.Context()))
	diff(t, "campaigns by Created", []store.Campaign{c2, c1, campaign("c4", "", 3)}, list)

	got1 := must[store.ReviewItem](t, "get item")(s.GetReviewItem(t.Context(), "i1"))
	diff(t, "got item", i1, got1)
	checkUTC(t, "got item", got1.Created, got1.Decided, got1.Escalated)
	_, err = s.GetReviewItem(t.Context(), "nope")
	wantErr(t, "get unknown item", err, store.ErrNotFound)

	for _, tc := range []struct {
		name string
		q    store.ReviewItemQuery
		want []store.ReviewItem
	}{
		{"all", store.ReviewItemQuery{}, []store.ReviewItem{i3, i1, i2}},
		{"campaign", store.ReviewItemQuery{CampaignID: "c1"}, []store.ReviewItem{i1, i2}},
		{"reviewer", store.ReviewItemQuery{ReviewerID: "m1"}, []store.ReviewItem{i3, i1}},
		{"overdue before any due", store.ReviewItemQuery{OverdueAt: at(23)}, nil},
		{"overdue at c2's due, to the nanosecond", store.ReviewItemQuery{OverdueAt: c2.Due}, []store.ReviewItem{i3}},
		{"overdue later", store.ReviewItemQuery{OverdueAt: at(100)}, []store.ReviewItem{i3, i1, i2}},
		{"none", store.ReviewItemQuery{CampaignID: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff(t, "items", tc.want, must[[]store.ReviewItem](t, "list")(s.ListReviewItems(t.Context(), tc.q)))
		})
	}

	// Update keeps what identifies the item whatever fn returns.
	up := must[store.ReviewItem](t, "update")(s.UpdateReviewItem(t.Context(), "i1", func(it store.ReviewItem) (store.ReviewItem, error) {
		diff(t, "fn sees the current item", i1, it)
		it.ID, it.CampaignID, it.UserID, it.Kind, it.Entitlement, it.Created = "x", "x", "x", "x", "x", at(50)
		it.Decision, it.Decided, it.DecidedBy, it.Comment, it.Outcome = store.ReviewRevoke, at(30), "token:t", "moved to south", "revoked"
		return it, nil
	}))
	want := i1
	want.Decision, want.Decided, want.DecidedBy, want.Comment, want.Outcome = store.ReviewRevoke, at(30), "token:t", "moved to south", "revoked"
	diff(t, "updated item", want, up)
	checkUTC(t, "updated item", up.Created, up.Decided, up.Escalated)
	diff(t, "stored item", want, must[store.ReviewItem](t, "get updated")(s.GetReviewItem(t.Context(), "i1")))
	must[store.ReviewItem](t, "escalate")(s.UpdateReviewItem(t.Context(), "i2", func(it store.ReviewItem) (store.ReviewItem, error) {
		it.Escalated, it.EscalatedFrom, it.ReviewerID, it.ReviewerKind = at(40), it.ReviewerID, "m9", "escalated"
		return it, nil
	}))
	diff(t, "pending", []store.ReviewItem{i3}, must[[]store.ReviewItem](t, "list")(s.ListReviewItems(t.Context(), store.ReviewItemQuery{PendingOnly: true, CampaignID: "c2"})))
	diff(t, "decided and escalated items are not overdue", []store.ReviewItem{i3},
		must[[]store.ReviewItem](t, "list")(s.ListReviewItems(t.Context(), store.ReviewItemQuery{OverdueAt: at(100)})))

	_, err = s.UpdateReviewItem(t.Context(), "i3", func(it store.ReviewItem) (store.ReviewItem, error) { return it, errFn })
	wantErr(t, "update, fn fails", err, errFn)
	diff(t, "item after a failed update", i3, must[store.ReviewItem](t, "get i3")(s.GetReviewItem(t.Context(), "i3")))
	_, err = s.UpdateReviewItem(t.Context(), "nope", func(it store.ReviewItem) (store.ReviewItem, error) { return it, nil })
	wantErr(t, "update unknown", err, store.ErrNotFound)
}

func testCampaignRollback(t *testing.T, s store.Store) {
	err := s.InTx(t.Context(), func(tx store.Ops) error {
		if _, err := tx.CreateCampaign(t.Context(), campaign("c1", "monthly:2025-03", 0), []store.ReviewItem{reviewItem("i1", "c1", "u1", "", 0)}); err != nil {
			return err
		}
		if _, err := tx.UpdateReviewItem(t.Context(), "i1", func(it store.ReviewItem) (store.ReviewItem, error) {
			it.Decision = store.ReviewKeep
			return it, nil
		}); err != nil {
			return err
		}
		return errFn
	})
	wantErr(t, "tx", err, errFn)
	if cs := must[[]store.Campaign](t, "list")(s.ListCampaigns(t.Context())); len(cs) != 0 {
		t.Errorf("campaigns after rollback = %v", cs)
	}
	// The key is free again.
	must[store.Campaign](t, "create after rollback")(s.CreateCampaign(t.Context(), campaign("c2", "monthly:2025-03", 0), nil))
}

func testActiveCredentials(t *testing.T, s store.Store) {
	createUsers(t, s, newUser("u1", "one", 0))
	var want []store.Credential
	for i, st := range []store.CredentialState{store.CredentialActive, store.CredentialSuspended, store.CredentialRevoked, store.CredentialActive} {
		// The second active credential belongs to no user: the store
		// lists it all the same (that is what orphan findings look for).
		c := credential(fmt.Sprintf("c%d", i), "u1", st, 3-i)
		if i == 3 {
			c.UserID = "gone"
		}
		must[store.Credential](t, "create")(s.CreateCredential(t.Context(), c))
		if st == store.CredentialActive {
			want = append([]store.Credential{c}, want...)
		}
	}
	got := must[[]store.Credential](t, "list active")(s.ListActiveCredentials(t.Context()))
	diff(t, "active credentials by Created", want, got)
	for _, c := range got {
		checkUTC(t, "active credential", c.Created, c.LastUsed)
	}
}

// testCampaignItems: ListCampaignItems pages one campaign's items in
// ListReviewItems' order (Created, then ID), filtered by decision, with
// the number the filter selects and the whole campaign's tallies by
// reviewer, whatever the page.
func testCampaignItems(t *testing.T, s store.Store) {
	c := campaign("c1", "", 1) // due at(25)
	item := func(id string, h int, reviewer string, d store.ReviewDecision, decided int) store.ReviewItem {
		it := reviewItem(id, c.ID, "u-"+id, reviewer, h)
		if d != store.ReviewPending {
			it.Decision, it.Decided, it.DecidedBy = d, at(decided), "token:t"
		}
		return it
	}
	a := item("a", 1, "m1", store.ReviewPending, 0)
	b := item("b", 1, "m1", store.ReviewKeep, 25)  // at the due date: on time
	cc := item("c", 2, "", store.ReviewRevoke, 26) // late
	d := item("d", 2, "m2", store.ReviewPending, 0)
	d.Escalated, d.EscalatedFrom = at(30), "m1" // away from m1
	e := item("e", 3, "m1", store.ReviewKeep, 2)
	e.Escalated, e.EscalatedFrom = at(30), "m1" // back to m1 itself
	// Stored out of order: the order is the store's.
	must[store.Campaign](t, "create c1")(s.CreateCampaign(t.Context(), c, []store.ReviewItem{e, d, cc, b, a}))
	must[store.Campaign](t, "create c2")(s.CreateCampaign(t.Context(), campaign("c2", "", 0), []store.ReviewItem{reviewItem("x", "c2", "u1", "m1", 0)}))
	tallies := []store.ReviewTally{
		{ReviewerID: "", Items: 1, Revoked: 1, Decided: 1},
		{ReviewerID: "m1", Items: 3, Kept: 2, Decided: 2, DecidedOnTime: 2, Escalated: 1, EscalatedAway: 1},
		{ReviewerID: "m2", Items: 1, Escalated: 1},
	}
	for _, tc := range []struct {
		name  string
		q     store.CampaignItemQuery
		want  []store.ReviewItem
		total int
	}{
		{"first page", store.CampaignItemQuery{Limit: 2}, []store.ReviewItem{a, b}, 5},
		{"second page", store.CampaignItemQuery{Offset: 2, Limit: 2}, []store.ReviewItem{cc, d}, 5},
		{"last page", store.CampaignItemQuery{Offset: 4, Limit: 2}, []store.ReviewItem{e}, 5},
		{"past the end", store.CampaignItemQuery{Offset: 9, Limit: 2}, nil, 5},
		{"counts only", store.CampaignItemQuery{}, nil, 5},
		{"pending", store.CampaignItemQuery{Decision: store.ReviewPending, Limit: 10}, []store.ReviewItem{a, d}, 2},
		{"kept, second", store.CampaignItemQuery{Decision: store.ReviewKeep, Offset: 1, Limit: 10}, []store.ReviewItem{e}, 2},
		{"decided, first", store.CampaignItemQuery{Decided: true, Limit: 1}, []store.ReviewItem{b}, 3},
		{"revoked, counts only", store.CampaignItemQuery{Decision: store.ReviewRevoke}, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.CampaignID = c.ID
			got := must[store.CampaignItems](t, "list")(s.ListCampaignItems(t.Context(), tc.q))
			diff(t, "items", tc.want, got.Items)
			if got.Total != tc.total {
				t.Errorf("total = %d, want %d", got.Total, tc.total)
			}
			diff(t, "tallies", tallies, got.Tallies)
		})
	}
	got := must[store.CampaignItems](t, "list unknown")(s.ListCampaignItems(t.Context(), store.CampaignItemQuery{CampaignID: "nope", Limit: 10}))
	diff(t, "unknown campaign", store.CampaignItems{}, got)
	if _, err := s.ListCampaignItems(t.Context(), store.CampaignItemQuery{CampaignID: c.ID, Decided: true, Decision: store.ReviewKeep, Limit: 1}); err == nil {
		t.Error("Decided with a Decision: no error")
	}
}
