package governance_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestEscalatedManagerDeletedHandedToTheirManager: an item escalated to
// a manager who is then deleted (not disabled) goes to the manager their
// kept record names (the tombstone), not to the admins, as the item of a
// deleted reviewer not escalated before does.
func TestEscalatedManagerDeletedHandedToTheirManager(t *testing.T) {
	ctx := t.Context()
	day := 24 * time.Hour
	e := newEnv(t, t0)
	north := []string{"north"}
	top := e.user("top", north, nil)
	boss := e.user("boss", north, managedBy(top))
	mgr := e.user("mgr", north, managedBy(boss))
	ann := e.user("ann", north, managedBy(mgr))
	e.group("Nurse", ann.ID)
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "nurses", Due: t0.Add(7 * day),
		Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil || c.TotalResults != 1 {
		t.Fatalf("campaign %+v, %v; want 1 item", c, err)
	}
	e.at(t0.Add(7*day + time.Minute))
	if n, err := e.gov.Escalate(ctx, actor); err != nil || n != 1 {
		t.Fatalf("escalate: %d, %v", n, err)
	}
	e.at(t0.Add(8 * day))
	if err := e.engine.DeleteUser(ctx, actor, boss.ID); err != nil {
		t.Fatal(err)
	}
	if r, err := e.gov.ReassignLeft(ctx, actor); err != nil || r != 1 {
		t.Fatalf("reassign: %d, %v; want ann's item handed on", r, err)
	}
	p, err := e.gov.CampaignItems(ctx, c.ID, governance.FirstPage())
	if err != nil {
		t.Fatal(err)
	}
	if it := p.Items[0]; it.Reviewer != "top" || it.ReviewerKind != governance.ReviewerEscalated || it.EscalatedFrom != "mgr" {
		t.Errorf("ann's item: reviewer %s (%s), escalated from %s; want top (escalated), from mgr", it.Reviewer, it.ReviewerKind, it.EscalatedFrom)
	}
}
