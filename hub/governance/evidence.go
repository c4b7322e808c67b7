package governance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// OutcomeKept is the outcome an evidence row gives a keep decision.
const OutcomeKept = "kept"

// Audit checks of an evidence row: how the item compares with the
// review.decide record of the hash-chained audit trail, the part of the
// evidence nobody can edit unnoticed (the review items are ordinary rows).
const (
	// AuditRecorded: one review.decide record of the item agrees with it
	// (user, entitlement, reviewer, decision, decider, outcome, and the
	// decision time within MaxDecisionSkew of the record's).
	AuditRecorded = "recorded"
	// AuditMissing: the item is decided but no review.decide record of it
	// exists.
	AuditMissing = "missing"
	// AuditMismatch: the record disagrees with the item, there are several
	// records of the item, or a record of a pending item: the item was
	// changed outside the hub. audit_seq names the (newest) record.
	AuditMismatch = "mismatch"
)

// MaxDecisionSkew is how far a decided item's time may be from its
// review.decide record's: the decision's clock is read before its
// transaction starts, the record's inside it.
const MaxDecisionSkew = time.Minute

// EvidenceColumns are the columns of WriteEvidenceCSV, in order: a
// contract for auditors' tools. Add new ones at the end.
var EvidenceColumns = []string{
	"campaign_id", "campaign_name", "scope", "started", "due",
	"item_id", "user_id", "user", "kind", "entitlement", "entitlement_detail",
	"reviewer_id", "reviewer", "reviewer_kind",
	"decision", "decided_by", "decided_at", "on_behalf_of",
	"escalated_from", "escalated_at", "comment", "outcome",
	"audit_seq", "audit_hash", "audit_check",
}

// Evidence is what an auditor asks of a campaign: its scope, dates and
// totals, and per item who held what, who reviewed it, what was decided
// by whom and when, and what came of it, each decision tied to its record
// in the audit trail.
type Evidence struct {
	GeneratedAt time.Time        `json:"generated_at"`
	Campaign    EvidenceCampaign `json:"campaign"`
	Totals      EvidenceTotals   `json:"totals"`
	// AuditHead is the audit chain's head once the evidence was read, as
	// `audit verify` prints it and takes it (--anchor): "SEQ:HEXHASH".
	// Every audit_seq is at most SEQ, so a trail verified up to it holds
	// every record the rows name.
	AuditHead string         `json:"audit_head"`
	Items     []EvidenceItem `json:"items"`
}

// EvidenceCampaign is the campaign of an evidence export.
type EvidenceCampaign struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Scope      store.ReviewScope `json:"scope"`
	ScopeText  string            `json:"scope_text"` // Scope in words, the CSV's scope column
	DefaultKey string            `json:"default_key,omitempty"`
	Started    time.Time         `json:"started"`
	StartedBy  string            `json:"started_by"`
	Due        time.Time         `json:"due"`
	// Completed is when the last item was decided; null while an item is
	// pending, or when the campaign has none.
	Completed *time.Time `json:"completed"`
	// AuditSeq is the seq of the campaign's review.start record; 0 when
	// there is none (a campaign that did not start through the hub).
	AuditSeq int64 `json:"audit_seq"`
}

// EvidenceTotals counts a campaign's items. Kept + Revoked + Gone =
// Decided; Decided + Pending = Items. CompletionRate is Decided/Items,
// null when there are no items.
type EvidenceTotals struct {
	Items          int      `json:"items"`
	Decided        int      `json:"decided"`
	DecidedOnTime  int      `json:"decided_on_time"`
	Kept           int      `json:"kept"`
	Revoked        int      `json:"revoked"` // revoke decisions that removed access
	Gone           int      `json:"gone"`    // revoke decisions of access already gone
	Pending        int      `json:"pending"`
	Escalated      int      `json:"escalated"`
	CompletionRate *float64 `json:"completion_rate"`
	// AuditUnmatched counts the rows whose audit_check is missing or
	// mismatch: 0 is what an auditor expects.
	AuditUnmatched int `json:"audit_unmatched"`
}

// EvidenceItem is one review item as evidence. JSON names are the CSV's
// column names.
type EvidenceItem struct {
	ID                string `json:"item_id"`
	UserID            string `json:"user_id"`
	User              string `json:"user"` // userName (a deleted user's from its tombstone); the ID when the store does not know the user
	Kind              string `json:"kind"` // site, role or grant
	Entitlement       string `json:"entitlement"`
	EntitlementDetail string `json:"entitlement_detail"`
	ReviewerID        string `json:"reviewer_id"` // "" for the hub admins
	Reviewer          string `json:"reviewer"`    // userName, or "admins"
	ReviewerKind      string `json:"reviewer_kind"`
	Decision          string `json:"decision"`   // pending, keep or revoke
	DecidedBy         string `json:"decided_by"` // the actor, as the audit trail names it
	// DecidedAt is RFC 3339 in UTC; null while pending.
	DecidedAt *time.Time `json:"decided_at"`
	// OnBehalfOf names the assigned reviewer when someone else decided (an
	// admin deciding a manager's or supervisor's item, an API token): the
	// record's deciding person is not the reviewer. Empty when the
	// reviewer decided, for items assigned to the admins, and when no
	// record says who decided.
	OnBehalfOf    string     `json:"on_behalf_of"`
	EscalatedFrom string     `json:"escalated_from"` // userName, or "admins"; empty if never escalated
	EscalatedAt   *time.Time `json:"escalated_at"`
	Comment       string     `json:"comment"`
	Outcome       string     `json:"outcome"` // kept, revoked, already gone; empty while pending
	// AuditSeq is the seq of the item's review.decide record, 0 when none
	// is found; AuditHash that record's hash in hex, as anchors show it
	// (`audit export` writes it in base64).
	AuditSeq   int64  `json:"audit_seq"`
	AuditHash  string `json:"audit_hash"`
	AuditCheck string `json:"audit_check"` // recorded, missing, mismatch; empty for a pending item without a record
}

// decideRecord is what Evidence reads of a review.decide record.
type decideRecord struct {
	seq     int64
	hash    []byte
	time    time.Time
	actor   string
	subject string
	detail  struct {
		Campaign    string `json:"campaign"`
		Item        string `json:"item"`
		Kind        string `json:"kind"`
		Entitlement string `json:"entitlement"`
		Decision    string `json:"decision"`
		Reviewer    string `json:"reviewer"`
		Outcome     string `json:"outcome"`
		DeciderUser string `json:"deciderUser"`
	}
}

// evidencePage is how many items an evidence export reads at a time: a
// campaign over a large site has tens of thousands, and only a page of
// them and their users are held at once (the campaign's review.decide
// records are held whole: decideRecords).
const evidencePage = 1000

// Evidence returns the evidence of campaign id; store.ErrNotFound if
// there is none. It holds every row: WriteEvidence writes the same, as
// CSV or JSON, holding a page of items at a time.
func (s *Service) Evidence(ctx context.Context, id string) (Evidence, error) {
	var ev Evidence
	err := s.readEvidence(ctx, id, evidencePage, func(r *evidenceRead) error {
		ev = r.head
		ev.Items = []EvidenceItem{}
		var t evidenceTally
		err := r.each(ctx, func(it store.ReviewItem, row EvidenceItem) error {
			t.add(it, row, r.due)
			ev.Items = append(ev.Items, row)
			return nil
		})
		t.finish(&ev)
		return err
	})
	if err != nil {
		return Evidence{}, err
	}
	return ev, nil
}

// WriteEvidence writes the evidence of campaign id to w as format: "csv"
// as WriteEvidenceCSV writes it, "json" as Evidence indented by two
// spaces (what the console serves), byte for byte. It reads the items a
// page at a time and keeps none: JSON, whose totals come before the
// items, reads them twice, from the same snapshot. It returns the
// evidence without its items (Items nil), totals counted;
// store.ErrNotFound, with nothing written, if there is no campaign id.
// A read that fails part-way returns its error with the rows before it
// written: w holds a cut file, which the caller must not pass on as the
// evidence (the console writes into a buffer and serves nothing then;
// `review show` into a temporary file, and writes nothing then).
func (s *Service) WriteEvidence(ctx context.Context, w io.Writer, id, format string) (Evidence, error) {
	return s.writeEvidence(ctx, w, id, format, evidencePage)
}

// writeEvidence is WriteEvidence reading page items at a time: tests read
// pages smaller than evidencePage.
func (s *Service) writeEvidence(ctx context.Context, w io.Writer, id, format string, page int) (Evidence, error) {
	if format != "csv" && format != "json" {
		return Evidence{}, invalid("evidence format %q: want csv or json", clipQuote(format))
	}
	var ev Evidence
	err := s.readEvidence(ctx, id, page, func(r *evidenceRead) error {
		ev = r.head
		var t evidenceTally
		if format == "csv" {
			cw := csv.NewWriter(w)
			cw.Write(EvidenceColumns)
			err := r.each(ctx, func(it store.ReviewItem, row EvidenceItem) error {
				t.add(it, row, r.due)
				return cw.Write(evidenceCSVRow(ev.Campaign, row))
			})
			if err != nil {
				return err
			}
			t.finish(&ev)
			cw.Flush()
			return cw.Error()
		}
		if err := r.each(ctx, func(it store.ReviewItem, row EvidenceItem) error { t.add(it, row, r.due); return nil }); err != nil {
			return err
		}
		t.finish(&ev)
		return writeEvidenceJSON(ctx, w, ev, r)
	})
	if err != nil {
		return Evidence{}, err
	}
	return ev, nil
}

// writeEvidenceJSON writes ev, its rows read from r, as a json.Encoder
// indenting by two spaces writes Evidence: the rest of ev is encoded so,
// with no items, and the items, each indented as the encoder would at
// that depth, go between the brackets of its "items".
func writeEvidenceJSON(ctx context.Context, w io.Writer, ev Evidence, r *evidenceRead) error {
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	ev.Items = []EvidenceItem{}
	if err := enc.Encode(ev); err != nil {
		return err
	}
	const empty = "[]\n}\n" // "items", last of Evidence's fields, empty
	if !bytes.HasSuffix(head.Bytes(), []byte(empty)) {
		return fmt.Errorf("evidence of campaign %s: unexpected JSON ending %q", ev.Campaign.ID, head.Bytes()[max(head.Len()-len(empty), 0):])
	}
	bw := bufio.NewWriter(w)
	bw.Write(head.Bytes()[:head.Len()-len(empty)])
	n := 0
	err := r.each(ctx, func(_ store.ReviewItem, row EvidenceItem) error {
		b, err := json.MarshalIndent(row, "    ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n    "
		if n == 0 {
			sep = "[\n    "
		}
		n++
		bw.WriteString(sep)
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		bw.WriteString(empty)
	} else {
		bw.WriteString("\n  ]\n}\n")
	}
	return bw.Flush()
}

// evidenceRead is the evidence of one campaign being read in one read
// transaction: its head (Evidence without items or totals) and what its
// rows are checked with, the items then read a page at a time (each),
// with their users.
type evidenceRead struct {
	ops     store.Ops
	id      string
	due     time.Time
	head    Evidence
	before  int64
	records map[string][]decideRecord // the campaign's review.decide records by item (decideRecords)
	page    int                       // items read at a time: evidencePage, but in tests
}

// readEvidence reads the head of campaign id's evidence and runs fn with
// it, all in one read transaction: the rows fn reads (each, once or
// twice, page items at a time) are of the same snapshot as the head and
// the totals.
//
// The audit head is read before the items and after them; in one
// snapshot they agree, and a record newer than the first of an item the
// items show pending (of a decision made while the evidence was read, on
// a store whose reads are not one snapshot) is left out.
func (s *Service) readEvidence(ctx context.Context, id string, page int, fn func(r *evidenceRead) error) error {
	return s.cfg.Store.InReadTx(ctx, func(st store.Ops) error {
		c, err := st.GetCampaign(ctx, id)
		if err != nil {
			return err
		}
		before, _, err := st.AuditHead(ctx)
		if err != nil {
			return fmt.Errorf("evidence of campaign %s: %w", id, err)
		}
		starts, err := st.SearchAudit(ctx, store.AuditSearch{Subjects: []string{"review:" + id}, Action: actionReviewStart})
		if err != nil {
			return fmt.Errorf("evidence of campaign %s: review.start record: %w", id, err)
		}
		headSeq, headHash, err := st.AuditHead(ctx)
		if err != nil {
			return fmt.Errorf("evidence of campaign %s: %w", id, err)
		}
		records, err := decideRecords(ctx, st, id)
		if err != nil {
			return err
		}
		r := &evidenceRead{ops: st, id: id, due: c.Due, before: before, records: records, page: page, head: Evidence{
			GeneratedAt: s.now(),
			Campaign: EvidenceCampaign{ID: c.ID, Name: c.Name, Scope: c.Scope, ScopeText: ScopeText(c.Scope), DefaultKey: c.DefaultKey,
				Started: c.Created.UTC(), StartedBy: c.CreatedBy, Due: c.Due.UTC()},
			AuditHead: audit.Anchor{Seq: headSeq, Hash: headHash}.String(),
		}}
		starts = slices.DeleteFunc(starts, func(r store.AuditRecord) bool { return r.Seq < 1 }) // see decideRecords
		if len(starts) > 0 {
			r.head.Campaign.AuditSeq = starts[len(starts)-1].Seq // newest first: the oldest
		}
		return fn(r)
	})
}

// each calls fn with every item of the campaign and its row, in the
// campaign's order (Created, then ID), reading r.page items at a time by
// keyset, and with each page only its users (every user and group of the
// hub, read to name a page's few, grew with the hub).
func (r *evidenceRead) each(ctx context.Context, fn func(it store.ReviewItem, row EvidenceItem) error) error {
	q := store.ReviewItemQuery{CampaignID: r.id, Limit: r.page}
	for {
		items, err := r.ops.ListReviewItems(ctx, q)
		if err != nil {
			return fmt.Errorf("evidence of campaign %s: %w", r.id, err)
		}
		// Evidence is often pulled after the quarter, when the leavers it
		// revoked (and maybe a reviewer) were deleted: usersOnly names
		// them from their tombstones. Each once: it reads a deleted user
		// again for each mention.
		ids := itemUserIDs(items, true)
		slices.Sort(ids)
		d, err := usersOnly(ctx, r.ops, slices.Compact(ids)...)
		if err != nil {
			return fmt.Errorf("evidence of campaign %s: %w", r.id, err)
		}
		for _, it := range items {
			if err := fn(it, evidenceItem(d, it, r.records[it.ID], r.before)); err != nil {
				return err
			}
		}
		if len(items) < r.page {
			return nil
		}
		last := items[len(items)-1]
		q.AfterCreated, q.AfterID = last.Created, last.ID
	}
}

// evidenceTally counts the totals of an evidence's rows.
type evidenceTally struct {
	p                        Progress
	last                     time.Time
	gone, revoked, unmatched int
}

// add counts item it, whose row is row, of a campaign due then.
func (t *evidenceTally) add(it store.ReviewItem, row EvidenceItem, due time.Time) {
	t.p.add(it, due)
	if it.Decided.After(t.last) {
		t.last = it.Decided
	}
	switch {
	case it.Decision == store.ReviewRevoke && it.Outcome == OutcomeGone:
		t.gone++
	case it.Decision == store.ReviewRevoke:
		t.revoked++
	}
	if row.AuditCheck == AuditMissing || row.AuditCheck == AuditMismatch {
		t.unmatched++
	}
}

// finish sets ev's totals, and its campaign's completion, to the count.
func (t *evidenceTally) finish(ev *Evidence) {
	p := t.p
	p.finish()
	ev.Totals = EvidenceTotals{Items: p.Total, Decided: p.Decided, DecidedOnTime: p.DecidedOnTime, Kept: p.Kept, Revoked: t.revoked,
		Gone: t.gone, Pending: p.Pending, Escalated: p.Escalated, CompletionRate: p.CompletionRate, AuditUnmatched: t.unmatched}
	ev.Campaign.Completed = nil
	if p.Total > 0 && p.Pending == 0 {
		ev.Campaign.Completed = timePtr(t.last.UTC())
	}
}

// decideRecords returns the review.decide records of campaign id by item,
// oldest first, read once for the export in one pass over the records of
// that action (its index). They are held for the whole export: a page of
// items at a time would have to find its records by the subjects of its
// users, whose records are mostly session starts and ends (thousands a
// year each), a read far longer than the campaign's own records are big.
func decideRecords(ctx context.Context, st store.Ops, id string) (map[string][]decideRecord, error) {
	recs, err := st.SearchAudit(ctx, store.AuditSearch{Action: actionReviewDecide, Mentions: []string{id}})
	if err != nil {
		return nil, fmt.Errorf("evidence of campaign %s: review.decide records: %w", id, err)
	}
	out := map[string][]decideRecord{}
	for i := len(recs) - 1; i >= 0; i-- { // newest first: turn it round
		r := recs[i]
		if r.Seq < 1 {
			// None the hub sealed: the trail begins at 1, and audit
			// verify reports such a row. It backs no decision.
			continue
		}
		dr := decideRecord{seq: r.Seq, hash: r.Hash, time: r.Time, actor: r.Actor, subject: r.Subject}
		if err := json.Unmarshal(r.Detail, &dr.detail); err != nil {
			return nil, fmt.Errorf("evidence of campaign %s: audit record %d: %w", id, r.Seq, err)
		}
		// Mentions matches the ID anywhere, a comment included.
		if dr.detail.Campaign != id || dr.detail.Item == "" {
			continue
		}
		out[dr.detail.Item] = append(out[dr.detail.Item], dr)
	}
	return out, nil
}

// evidenceItem makes it a row and checks it against its records (oldest
// first); records newer than the audit head seq before, of an item still
// pending, are of decisions made after the items were read. d holds the
// items' users, deleted ones included (readDeleted).
func evidenceItem(d *directory, it store.ReviewItem, recs []decideRecord, before int64) EvidenceItem {
	row := EvidenceItem{ID: it.ID, UserID: it.UserID, User: d.userName(it.UserID), Kind: it.Kind, Entitlement: it.Entitlement,
		EntitlementDetail: it.Detail, ReviewerID: it.ReviewerID, Reviewer: d.userName(it.ReviewerID), ReviewerKind: it.ReviewerKind,
		Decision: it.Decision.String(), Comment: it.Comment, EscalatedAt: timePtr(it.Escalated.UTC())}
	if !it.Escalated.IsZero() {
		row.EscalatedFrom = d.userName(it.EscalatedFrom)
	}
	pending := it.Decision == store.ReviewPending
	if !pending {
		row.DecidedBy, row.DecidedAt = it.DecidedBy, timePtr(it.Decided.UTC())
		row.Outcome = it.Outcome
		if it.Decision == store.ReviewKeep {
			row.Outcome = OutcomeKept
		}
	}
	if pending {
		for len(recs) > 0 && recs[len(recs)-1].seq > before {
			recs = recs[:len(recs)-1]
		}
	}
	switch {
	case len(recs) == 0 && pending:
	case len(recs) == 0:
		row.AuditCheck = AuditMissing
	default:
		r := recs[len(recs)-1]
		row.AuditSeq, row.AuditHash = r.seq, hex.EncodeToString(r.hash)
		row.AuditCheck = AuditMismatch
		if len(recs) == 1 && !pending && agrees(it, r) {
			row.AuditCheck = AuditRecorded
			if it.ReviewerKind != ReviewerAdmins && it.ReviewerID != "" && r.detail.DeciderUser != it.ReviewerID {
				row.OnBehalfOf = row.Reviewer
			}
		}
	}
	return row
}

// agrees reports whether decided item it is what record r says was
// decided. The log stores text as valid UTF-8, so the item's is made so.
func agrees(it store.ReviewItem, r decideRecord) bool {
	u := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	skew := it.Decided.Sub(r.time)
	return r.subject == "user:"+u(it.UserID) && r.actor == u(it.DecidedBy) && r.detail.Kind == u(it.Kind) &&
		r.detail.Entitlement == u(it.Entitlement) && r.detail.Reviewer == u(it.ReviewerID) &&
		r.detail.Decision == it.Decision.String() && r.detail.Outcome == u(it.Outcome) &&
		skew <= MaxDecisionSkew && skew >= -MaxDecisionSkew
}

// ScopeText says what a campaign covers, in words: "everything", or its
// parts ("sites north, south; roles Nurse; privileged roles; external
// identities"). Each site and role is written by NameText: one SCIM named
// "north, south" reads as `sites "north, south"`, not as two sites.
func ScopeText(s store.ReviewScope) string {
	var parts []string
	if len(s.Sites) > 0 {
		parts = append(parts, "sites "+JoinNames(s.Sites))
	}
	if len(s.Roles) > 0 {
		parts = append(parts, "roles "+JoinNames(s.Roles))
	}
	if s.Privileged {
		parts = append(parts, "privileged roles")
	}
	if s.External {
		parts = append(parts, "external identities")
	}
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, "; ")
}

// WriteEvidenceCSV writes ev as one table (RFC 4180, UTF-8, no byte order
// mark): a header row of EvidenceColumns, then one row per item with the
// campaign's columns repeated, so every row stands on its own in a
// spreadsheet or an audit tool. The totals are in the JSON form only: a
// summary under the table would be read as rows. Times are RFC 3339 in
// UTC; a missing time or record is an empty cell. Text from the identity
// provider and from reviewers goes through textCell (CSV injection).
func WriteEvidenceCSV(w io.Writer, ev Evidence) error {
	cw := csv.NewWriter(w)
	cw.Write(EvidenceColumns)
	for _, it := range ev.Items {
		if err := cw.Write(evidenceCSVRow(ev.Campaign, it)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// evidenceCSVRow is the row of item it of campaign c (WriteEvidenceCSV).
func evidenceCSVRow(c EvidenceCampaign, it EvidenceItem) []string {
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	started, due := c.Started, c.Due
	seq, hash := "", ""
	if it.AuditSeq > 0 {
		seq, hash = strconv.FormatInt(it.AuditSeq, 10), it.AuditHash
	}
	row := []string{c.ID, c.Name, c.ScopeText, at(&started), at(&due),
		it.ID, it.UserID, it.User, it.Kind, it.Entitlement, it.EntitlementDetail,
		it.ReviewerID, it.Reviewer, it.ReviewerKind,
		it.Decision, it.DecidedBy, at(it.DecidedAt), it.OnBehalfOf,
		it.EscalatedFrom, at(it.EscalatedAt), it.Comment, it.Outcome,
		seq, hash, it.AuditCheck}
	for i := range row {
		row[i] = textCell(strings.ToValidUTF8(row[i], "\uFFFD"))
	}
	return row
}
