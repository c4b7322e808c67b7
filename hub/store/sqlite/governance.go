package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
		where, args = append(where, "decision = ?"), append(args, int64(store.ReviewPending))
	}
	if !rq.OverdueAt.IsZero() {
		if err := checkTimes(rq.OverdueAt); err != nil {
			return nil, fmt.Errorf("list review items: %w", err)
		}
		// Spelled like review_items_pending's condition.
		where = append(where, "decision = 1 AND escalated = 0 AND campaign_id IN (SELECT id FROM review_campaigns WHERE due <= ?)")
		args = append(args, nanos(rq.OverdueAt))
	}
	its, err := queryAll(ctx, o.read, scanReviewItem, `SELECT `+reviewItemCols+` FROM review_items
		WHERE `+strings.Join(where, " AND ")+` ORDER BY created, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	return its, nil
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
