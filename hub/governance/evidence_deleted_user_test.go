package governance_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestEvidenceNamesDeletedUsers: an auditor pulls a quarter's review
// evidence after the quarter, when the leavers it revoked have been
// deleted by the identity provider (SCIM DELETE; Entra ID does so 30 days
// after a soft delete) and a reviewer may have left too. The hub keeps
// their tombstones, userName included, so the evidence still names who
// held the access and who reviewed it; a bare UUID in the user or
// reviewer column is a row the auditor cannot sample.
func TestEvidenceNamesDeletedUsers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0)
	sun := e.user("sun", []string{"north"}, nil) // north's supervisor, the reviewer
	e.group("Supervisor", sun.ID)
	ann := e.user("ann", []string{"north"}, nil)
	e.group("Nurse", ann.ID)
	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "Q1 north", Due: t0.Add(48 * time.Hour), Scope: store.ReviewScope{Sites: []string{"north"}}})
	if err != nil {
		t.Fatal(err)
	}
	var annRole string
	for _, it := range c.Items {
		if it.User == "ann" && it.Kind == "role" {
			annRole = it.ID
		}
	}
	if annRole == "" {
		t.Fatalf("no item of ann's role in %+v", c.Items)
	}
	e.at(t0.Add(time.Hour))
	if _, err := e.gov.Decide(ctx, decider, annRole, governance.DecisionRevoke, "left"); err != nil {
		t.Fatal(err)
	}
	// Both leave, and the identity provider deletes them.
	e.at(t0.Add(30 * 24 * time.Hour))
	for _, id := range []string{ann.ID, sun.ID} {
		if err := e.engine.DeleteUser(ctx, actor, id); err != nil {
			t.Fatal(err)
		}
	}

	ev, err := e.gov.Evidence(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var row *governance.EvidenceItem
	for i := range ev.Items {
		if ev.Items[i].ID == annRole {
			row = &ev.Items[i]
		}
	}
	if row == nil {
		t.Fatalf("no evidence row of item %s", annRole)
	}
	if row.User != "ann" || row.UserID != ann.ID || row.Reviewer != "sun" || row.ReviewerID != sun.ID {
		t.Errorf("row of a deleted user reviewed by a deleted reviewer: user %q (%s), reviewer %q (%s); want ann and sun",
			row.User, row.UserID, row.Reviewer, row.ReviewerID)
	}
	if row.AuditCheck != governance.AuditRecorded || row.OnBehalfOf != "sun" {
		t.Errorf("audit check %q, on behalf of %q; want recorded, sun", row.AuditCheck, row.OnBehalfOf)
	}
	var out bytes.Buffer
	if err := governance.WriteEvidenceCSV(&out, ev); err != nil {
		t.Fatal(err)
	}
	table, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range table[0] {
		col[name] = i
	}
	for _, r := range table[1:] {
		if r[col["item_id"]] == annRole && (r[col["user"]] != "ann" || r[col["reviewer"]] != "sun") {
			t.Errorf("CSV row of the deleted user: user %q, reviewer %q; want ann, sun", r[col["user"]], r[col["reviewer"]])
		}
	}
}
