package sqlite

import (
	"context"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

// pageOf reads one page of a list, query (without ORDER BY's paging)
// with args, and the number of its entries, count with the same args,
// from one snapshot. The count is left out when the page tells it
// (pageTotal): a list that fits one page costs one statement.
func pageOf[T any](ctx context.Context, read querier, scan func(scanner) (T, error), query, count string, p store.ListPage, args ...any) ([]T, int, error) {
	out := []T{}
	total := 0
	err := snapshot(ctx, read, func(q querier) error {
		// No LIMIT, no read: page would read every entry for a limit of 0.
		if p.Limit > 0 {
			clause, pageArgs := page(p.Offset, p.Limit)
			got, err := queryAll(ctx, q, scan, query+clause, append(args[:len(args):len(args)], pageArgs...)...)
			if err != nil {
				return err
			}
			out = append(out, got...)
		}
		var ok bool
		if total, ok = pageTotal(len(out), p.Offset, p.Limit); !ok || p.Limit <= 0 {
			if err := q.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
				return fmt.Errorf("count: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// PageGrants pages as ListGrants orders, over grants_user: the index
// holds the user's grants by start_at, so only grants that start at the
// same instant are sorted by ID, not the user's whole history.
func (o ops) PageGrants(ctx context.Context, userID string, p store.ListPage) ([]store.Grant, int, error) {
	gs, n, err := pageOf(ctx, o.read, scanGrant, `SELECT `+grantCols+` FROM grants WHERE user_id = ? ORDER BY start_at, id`,
		`SELECT COUNT(*) FROM grants WHERE user_id = ?`, p, userID)
	if err != nil {
		return nil, 0, fmt.Errorf("page grants of %s: %w", userID, err)
	}
	return gs, n, nil
}

// PageShiftExtensions pages as ListShiftExtensions orders, over
// shift_extensions_user, as PageGrants over grants_user.
func (o ops) PageShiftExtensions(ctx context.Context, userID string, p store.ListPage) ([]store.ShiftExtension, int, error) {
	xs, n, err := pageOf(ctx, o.read, scanExtension, `SELECT `+extensionCols+` FROM shift_extensions WHERE user_id = ? ORDER BY start_at, id`,
		`SELECT COUNT(*) FROM shift_extensions WHERE user_id = ?`, p, userID)
	if err != nil {
		return nil, 0, fmt.Errorf("page shift extensions of %s: %w", userID, err)
	}
	return xs, n, nil
}

// PageCampaigns pages as ListCampaigns orders, over
// review_campaigns_created, which holds exactly that order.
func (o ops) PageCampaigns(ctx context.Context, p store.ListPage) ([]store.Campaign, int, error) {
	cs, n, err := pageOf(ctx, o.read, scanCampaign, `SELECT `+campaignCols+` FROM review_campaigns ORDER BY created, id`,
		`SELECT COUNT(*) FROM review_campaigns`, p)
	if err != nil {
		return nil, 0, fmt.Errorf("page campaigns: %w", err)
	}
	return cs, n, nil
}

// reviewerTallies is campaignTallies over every campaign: each item's
// decision is on time against its own campaign's due, and, as a read of
// each campaign of ListCampaigns would, it counts the items of stored
// campaigns only.
const reviewerTallies = `
SELECT i.reviewer_id, COUNT(*), SUM(i.decision = 2), SUM(i.decision = 3), SUM(i.decision != 1),
	SUM(i.decision != 1 AND i.decided <= c.due), SUM(i.escalated != 0), 0
FROM review_items i JOIN review_campaigns c ON c.id = i.campaign_id GROUP BY i.reviewer_id
UNION ALL
SELECT i.escalated_from, 0, 0, 0, 0, 0, 0, COUNT(*)
FROM review_items i JOIN review_campaigns c ON c.id = i.campaign_id WHERE i.escalated != 0 AND i.escalated_from != i.reviewer_id
GROUP BY i.escalated_from`

func (o ops) ReviewerTallies(ctx context.Context) ([]store.ReviewTally, error) {
	tallies, err := queryAll(ctx, o.read, func(s scanner) (store.ReviewTally, error) {
		var t store.ReviewTally
		err := s.Scan(&t.ReviewerID, &t.Items, &t.Kept, &t.Revoked, &t.Decided, &t.DecidedOnTime, &t.Escalated, &t.EscalatedAway)
		return t, err
	}, reviewerTallies)
	if err != nil {
		return nil, fmt.Errorf("tally reviewers: %w", err)
	}
	return mergeTallies(tallies), nil
}
