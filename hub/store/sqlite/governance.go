package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shiftgate/shiftgate/hub/store"
)

const campaignCols = `id, name, scope, default_key, due, created, created_by`

func scanCampaign(s scanner) (store.Campaign, error) {
	var (
		c            store.Campaign
		scope        string
		due, created int64
	)
	if err := s.Scan(&c.ID, &c.Name, &scope, &c.DefaultKey, &due, &created, &c.CreatedBy); err != nil {
		return store.Campaign{}, err
	}
	if err := json.Unmarshal([]byte(scope), &c.Scope); err != nil {
		return store.Campaign{}, fmt.Errorf("decode scope of campaign %s: %w", c.ID, err)
	}
	c.Due, c.Created = fromNanos(due), fromNanos(created)
	return c, nil
}

const reviewItemCols = `id, campaign_id, user_id, kind, entitlement, group_id, detail, reviewer_id,
	reviewer_kind, decision, comment, outcome, decided, decided_by, escalated, escalated_from, created`

func scanReviewItem(s scanner) (store.ReviewItem, error) {
	var (
		it                         store.ReviewItem
		decision                   int64
		decided, escalated, create int64
	)
	if err := s.Scan(&it.ID, &it.CampaignID, &it.UserID, &it.Kind, &it.Entitlement, &it.GroupID, &it.Detail, &it.ReviewerID,
		&it.ReviewerKind, &decision, &it.Comment, &it.Outcome, &decided, &it.DecidedBy, &escalated, &it.EscalatedFrom, &create); err != nil {
		return store.ReviewItem{}, err
	}
	it.Decision = store.ReviewDecision(decision)
	it.Decided, it.Escalated, it.Created = fromNanos(decided), fromNanos(escalated), fromNanos(create)
	return it, nil
}

func reviewItemArgs(it store.ReviewItem) ([]any, error) {
	if err := checkTimes(it.Decided, it.Escalated, it.Created); err != nil {
		return nil, err
	}
	return []any{it.ID, it.CampaignID, it.UserID, it.Kind, it.Entitlement, it.GroupID, it.Detail, it.ReviewerID,
		it.ReviewerKind, int64(it.Decision), it.Comment, it.Outcome, nanos(it.Decided), it.DecidedBy,
		nanos(it.Escalated), it.EscalatedFrom, nanos(it.Created)}, nil
}

func normReviewItem(it store.ReviewItem) store.ReviewItem {
	it.Decided, it.Escalated, it.Created = utc(it.Decided), utc(it.Escalated), utc(it.Created)
	return it
}

func (o ops) CreateCampaign(ctx context.Context, c store.Campaign, items []store.ReviewItem) (store.Campaign, error) {
	c.Due, c.Created = utc(c.Due), utc(c.Created)
	if err := checkTimes(c.Due, c.Created); err != nil {
		return store.Campaign{}, fmt.Errorf("create campaign %s: %w", c.ID, err)
	}
	scope, err := json.Marshal(c.Scope)
	if err != nil {
		return store.Campaign{}, fmt.Errorf("create campaign %s: %w", c.ID, err)
	}
	rows := make([][]any, len(items))
	for i, it := range items {
		if it.CampaignID != c.ID {
			return store.Campaign{}, fmt.Errorf("create campaign %s: item %s belongs to campaign %q", c.ID, it.ID, it.CampaignID)
		}
		if rows[i], err = reviewItemArgs(it); err != nil {
			return store.Campaign{}, fmt.Errorf("create campaign %s: item %s: %w", c.ID, it.ID, err)
		}
	}
	err = o.write(ctx, func(q querier) error {
		// An item can be refused after the campaign row is in, and inside
		// InTx the caller may carry on after the error and commit: the
		// savepoint makes the refusal leave nothing behind there too.
		return inSavepoint(ctx, q, "create_campaign", func() error {
			if _, err := q.ExecContext(ctx, `INSERT INTO review_campaigns (`+campaignCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				c.ID, c.Name, string(scope), c.DefaultKey, nanos(c.Due), nanos(c.Created), c.CreatedBy); err != nil {
				return mapErr(err)
			}
			for _, args := range rows {
				if _, err := q.ExecContext(ctx, `INSERT INTO review_items (`+reviewItemCols+`)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
					return mapErr(err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return store.Campaign{}, fmt.Errorf("create campaign %s: %w", c.ID, err)
	}
	return c, nil
}

func (o ops) GetCampaign(ctx context.Context, id string) (store.Campaign, error) {
	c, err := scanCampaign(o.read.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM review_campaigns WHERE id = ?`, id))
	if err != nil {
		return store.Campaign{}, fmt.Errorf("get campaign %s: %w", id, mapErr(err))
	}
	return c, nil
}

func (o ops) ListCampaigns(ctx context.Context) ([]store.Campaign, error) {
	cs, err := queryAll(ctx, o.read, scanCampaign, `SELECT `+campaignCols+` FROM review_campaigns ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	return cs, nil
}

func (o ops) GetReviewItem(ctx context.Context, id string) (store.ReviewItem, error) {
	it, err := scanReviewItem(o.read.QueryRowContext(ctx, `SELECT `+reviewItemCols+` FROM review_items WHERE id = ?`, id))
	if err != nil {
		return store.ReviewItem{}, fmt.Errorf("get review item %s: %w", id, mapErr(err))
	}
	return it, nil
}

func (o ops) ListReviewItems(ctx context.Context, rq store.ReviewItemQuery) ([]store.ReviewItem, error) {
	where := []string{"1"}
	var args []any
	if rq.CampaignID != "" {
		where, args = append(where, "campaign_id = ?"), append(args, rq.CampaignID)
	}
	if rq.ReviewerID != "" {
		where, args = append(where, "reviewer_id = ?"), append(args, rq.ReviewerID)
	}
	if rq.PendingOnly {
		// Spelled out, as review_items_pending_kind's condition is: the
		// planner uses a partial index only for a query that says it.
		where = append(where, "decision = 1")
	}
	if rq.ReviewerKind != "" {
		where, args = append(where, "reviewer_kind = ?"), append(args, rq.ReviewerKind)
	}
	if len(rq.Sites) > 0 {
		// Site names compare under store.FoldName, as SearchUsers'.
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(rq.Sites)), ", ")
		where = append(where, `(kind = 'site' AND `+foldNameFunc+`(entitlement) IN (`+marks+`)
			OR kind = 'grant' AND EXISTS (SELECT 1 FROM grants g WHERE g.id = review_items.entitlement AND `+foldNameFunc+`(g.site) IN (`+marks+`))
			OR kind = 'role' AND EXISTS (SELECT 1 FROM users u, json_each(u.sites) j WHERE u.id = review_items.user_id AND `+foldNameFunc+`(j.value) IN (`+marks+`)))`)
		for range 3 {
			for _, s := range rq.Sites {
				args = append(args, store.FoldName(s))
			}
		}
	}
	if rq.AfterID != "" {
		if err := checkTimes(rq.AfterCreated); err != nil {
			return nil, fmt.Errorf("list review items: %w", err)
		}
		where, args = append(where, "(created, id) > (?, ?)"), append(args, nanos(rq.AfterCreated), rq.AfterID)
	}
	if !rq.OverdueAt.IsZero() {
		if err := checkTimes(rq.OverdueAt); err != nil {
			return nil, fmt.Errorf("list review items: %w", err)
		}
		// Spelled like review_items_pending's condition.
		where = append(where, "decision = 1 AND escalated = 0 AND campaign_id IN (SELECT id FROM review_campaigns WHERE due <= ?)")
		args = append(args, nanos(rq.OverdueAt))
	}
	with := ""
	if rq.ReviewerGone {
		// Spelled like review_items_pending_reviewer's condition.
		with = reviewersGone
		where = append(where, "decision = 1 AND escalated = 0 AND reviewer_id IN (SELECT id FROM gone)")
	}
	clause, pageArgs := page(0, rq.Limit)
	its, err := queryAll(ctx, o.read, scanReviewItem, with+`SELECT `+reviewItemCols+` FROM review_items
		WHERE `+strings.Join(where, " AND ")+` ORDER BY created, id`+clause, append(args, pageArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	return its, nil
}

// schemaReviewItemPages indexes a campaign's items by decision in the
// order they are paged (Created, then ID), so that a page of the pending,
// kept or revoked items, or of the decided ones, and their count, read
// the index from the page on rather than every item of the campaign: the
// campaign index alone serves the order but not the filter, and found
// the pending items of a campaign decided up to its last thousand by
// reading the decided tens of thousands before them, row by row.
const schemaReviewItemPages = `
CREATE INDEX review_items_campaign_decision ON review_items (campaign_id, decision, created, id);
CREATE INDEX review_items_campaign_decided ON review_items (campaign_id, created, id) WHERE decision != 1;
`

// schemaReviewItemsPendingKind indexes the pending items by reviewer kind
// in the list's order (Created, then ID), so that a reviewer's worklist
// (the console's My reviews: the admins' items, the site supervisors')
// reads the pending items of its kind a page at a time, rather than
// every pending item of every campaign; decided items, the bulk of a
// hub's history, are not in it.
const schemaReviewItemsPendingKind = `
CREATE INDEX review_items_pending_kind ON review_items (reviewer_kind, created, id) WHERE decision = 1;
`

// schemaReviewItemsPendingReviewer indexes the items still to be decided
// by their reviewer (pending, not escalated), so that the scheduler's
// pass that hands a leaver's items on (ReviewItemQuery.ReviewerGone)
// finds the reviewers holding such items one index step each
// (reviewersGone), rather than reading every pending item of every
// campaign every minute to look up its reviewer.
const schemaReviewItemsPendingReviewer = `
CREATE INDEX review_items_pending_reviewer ON review_items (reviewer_id, created, id) WHERE decision = 1 AND escalated = 0;
`

// reviewersGone lists, as gone, the reviewers of pending items, not
// escalated, that are users no longer active or pending (disabled,
// deleted, or unknown): the distinct reviewers are walked one seek at a
// time over review_items_pending_reviewer (each step the least reviewer
// after the last), so that the pass costs one step per reviewer holding
// items, not one per item, and each is looked up in users by its key.
// The hub admins ("") never leave.
const reviewersGone = `WITH RECURSIVE reviewers(id) AS (
	SELECT (SELECT MIN(reviewer_id) FROM review_items WHERE decision = 1 AND escalated = 0 AND reviewer_id > '')
	UNION ALL
	SELECT (SELECT MIN(reviewer_id) FROM review_items WHERE decision = 1 AND escalated = 0 AND reviewer_id > reviewers.id)
	FROM reviewers WHERE reviewers.id IS NOT NULL
), gone(id) AS (
	SELECT id FROM reviewers WHERE id IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = reviewers.id AND u.state IN (1, 2))
)
`

// campaignItemsWhere returns the condition and arguments that select the
// items q asks for. The decided ones are spelled like
// review_items_campaign_decided's condition, which is what lets the
// planner use it.
func campaignItemsWhere(q store.CampaignItemQuery) (string, []any) {
	switch {
	case q.Decided:
		return "campaign_id = ? AND decision != 1", []any{q.CampaignID}
	case q.Decision != 0:
		return "campaign_id = ? AND decision = ?", []any{q.CampaignID, int64(q.Decision)}
	}
	return "campaign_id = ?", []any{q.CampaignID}
}

// campaignTallies counts a campaign's items by reviewer, and those
// escalated away by the reviewer they were escalated from (the second
// part of the union, its counts other than the last zero), in one pass
// each over the campaign's range of review_items_campaign: named, so that
// the planner does not trade that range for review_items_reviewer, which
// is in GROUP BY's order but holds the items of every campaign. A
// decision is on time when made no later than the campaign's due, to the
// nanosecond, as both are stored.
const campaignTallies = `
SELECT reviewer_id, COUNT(*), SUM(decision = 2), SUM(decision = 3), SUM(decision != 1),
	SUM(decision != 1 AND decided <= (SELECT due FROM review_campaigns WHERE id = ?1)), SUM(escalated != 0), 0
FROM review_items INDEXED BY review_items_campaign WHERE campaign_id = ?1 GROUP BY reviewer_id
UNION ALL
SELECT escalated_from, 0, 0, 0, 0, 0, 0, COUNT(*)
FROM review_items INDEXED BY review_items_campaign WHERE campaign_id = ?1 AND escalated != 0 AND escalated_from != reviewer_id
GROUP BY escalated_from`

func (o ops) ListCampaignItems(ctx context.Context, cq store.CampaignItemQuery) (store.CampaignItems, error) {
	if cq.Decided && cq.Decision != 0 {
		return store.CampaignItems{}, fmt.Errorf("list items of campaign %s: both Decided and Decision %s", cq.CampaignID, cq.Decision)
	}
	cond, args := campaignItemsWhere(cq)
	out := store.CampaignItems{Items: []store.ReviewItem{}}
	err := snapshot(ctx, o.read, func(q querier) error {
		// No LIMIT, no read: page would read every item for a limit of 0.
		if cq.Limit > 0 {
			clause, pageArgs := page(cq.Offset, cq.Limit)
			its, err := queryAll(ctx, q, scanReviewItem, `SELECT `+reviewItemCols+` FROM review_items WHERE `+cond+`
				ORDER BY created, id`+clause, append(args, pageArgs...)...)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, its...)
		}
		var ok bool
		if out.Total, ok = pageTotal(len(out.Items), cq.Offset, cq.Limit); !ok || cq.Limit <= 0 {
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM review_items WHERE `+cond, args...).Scan(&out.Total); err != nil {
				return fmt.Errorf("count: %w", err)
			}
		}
		tallies, err := queryAll(ctx, q, func(s scanner) (store.ReviewTally, error) {
			var t store.ReviewTally
			err := s.Scan(&t.ReviewerID, &t.Items, &t.Kept, &t.Revoked, &t.Decided, &t.DecidedOnTime, &t.Escalated, &t.EscalatedAway)
			return t, err
		}, campaignTallies, cq.CampaignID)
		if err != nil {
			return fmt.Errorf("tally: %w", err)
		}
		out.Tallies = mergeTallies(tallies)
		return nil
	})
	if err != nil {
		return store.CampaignItems{}, fmt.Errorf("list items of campaign %s: %w", cq.CampaignID, err)
	}
	return out, nil
}

// mergeTallies adds up the rows of campaignTallies by reviewer: a
// reviewer with items and some escalated away has one of each. Ordered by
// reviewer ID.
func mergeTallies(rows []store.ReviewTally) []store.ReviewTally {
	slices.SortStableFunc(rows, func(a, b store.ReviewTally) int { return strings.Compare(a.ReviewerID, b.ReviewerID) })
	out := make([]store.ReviewTally, 0, len(rows))
	for _, r := range rows {
		if n := len(out); n > 0 && out[n-1].ReviewerID == r.ReviewerID {
			t := &out[n-1]
			t.Items, t.Kept, t.Revoked, t.Decided = t.Items+r.Items, t.Kept+r.Kept, t.Revoked+r.Revoked, t.Decided+r.Decided
			t.DecidedOnTime, t.Escalated, t.EscalatedAway = t.DecidedOnTime+r.DecidedOnTime, t.Escalated+r.Escalated, t.EscalatedAway+r.EscalatedAway
			continue
		}
		out = append(out, r)
	}
	return out
}

func (o ops) UpdateReviewItem(ctx context.Context, id string, fn func(store.ReviewItem) (store.ReviewItem, error)) (store.ReviewItem, error) {
	var it store.ReviewItem
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := scanReviewItem(q.QueryRowContext(ctx, `SELECT `+reviewItemCols+` FROM review_items WHERE id = ?`, id))
		if err != nil {
			return mapErr(err)
		}
		if it, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		it.ID, it.CampaignID, it.UserID, it.Kind, it.Entitlement, it.Created = old.ID, old.CampaignID, old.UserID, old.Kind, old.Entitlement, old.Created
		args, err := reviewItemArgs(it)
		if err != nil {
			return err
		}
		// args are in reviewItemCols order: set columns 6 to 16, match on 1.
		_, err = q.ExecContext(ctx, `UPDATE review_items SET group_id = ?, detail = ?, reviewer_id = ?,
			reviewer_kind = ?, decision = ?, comment = ?, outcome = ?, decided = ?, decided_by = ?,
			escalated = ?, escalated_from = ? WHERE id = ?`, append(args[5:16:16], args[0])...)
		return mapErr(err)
	})
	if fnErr != nil {
		return store.ReviewItem{}, fnErr
	}
	if err != nil {
		return store.ReviewItem{}, fmt.Errorf("update review item %s: %w", id, err)
	}
	return normReviewItem(it), nil
}

func (o ops) ListActiveCredentials(ctx context.Context) ([]store.Credential, error) {
	// Spelled like credentials_active's condition.
	cs, err := queryAll(ctx, o.read, scanCredential,
		`SELECT `+credentialCols+` FROM credentials WHERE state = 1 ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list active credentials: %w", err)
	}
	return cs, nil
}

// inSavepoint runs fn, which writes through q, inside a savepoint named
// name, and undoes fn's writes if it fails: for an operation of several
// statements whose later ones can be refused (a conflict), so that it is
// one step even inside InTx, where the caller may go on after the error.
// name must differ from the group commit's own savepoint ("w").
func inSavepoint(ctx context.Context, q querier, name string, fn func() error) error {
	if _, err := q.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rerr := q.ExecContext(ctx, "ROLLBACK TO "+name); rerr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint %s: %w", name, rerr))
		}
		if _, rerr := q.ExecContext(ctx, "RELEASE "+name); rerr != nil {
			return errors.Join(err, fmt.Errorf("release savepoint %s: %w", name, rerr))
		}
		return err
	}
	if _, err := q.ExecContext(ctx, "RELEASE "+name); err != nil {
		return fmt.Errorf("release savepoint %s: %w", name, err)
	}
	return nil
}
