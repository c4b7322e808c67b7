package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

const grantCols = `id, user_id, role, site, reason, approver, start_at, end_at, revoked, created`

func scanGrant(s scanner) (store.Grant, error) {
	var (
		g                            store.Grant
		start, end, revoked, created int64
	)
	if err := s.Scan(&g.ID, &g.UserID, &g.Role, &g.Site, &g.Reason, &g.Approver, &start, &end, &revoked, &created); err != nil {
		return store.Grant{}, err
	}
	g.Start, g.End, g.Revoked, g.Created = fromNanos(start), fromNanos(end), fromNanos(revoked), fromNanos(created)
	return g, nil
}

func (o ops) CreateGrant(ctx context.Context, g store.Grant) (store.Grant, error) {
	g.Start, g.End, g.Revoked, g.Created = utc(g.Start), utc(g.End), utc(g.Revoked), utc(g.Created)
	if err := checkTimes(g.Start, g.End, g.Revoked, g.Created); err != nil {
		return store.Grant{}, fmt.Errorf("create grant %s: %w", g.ID, err)
	}
	err := o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO grants (`+grantCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.UserID, g.Role, g.Site, g.Reason, g.Approver,
			nanos(g.Start), nanos(g.End), nanos(g.Revoked), nanos(g.Created))
		return mapErr(err)
	})
	if err != nil {
		return store.Grant{}, fmt.Errorf("create grant %s: %w", g.ID, err)
	}
	return g, nil
}

func (o ops) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(o.read.QueryRowContext(ctx, `SELECT `+grantCols+` FROM grants WHERE id = ?`, id))
	if err != nil {
		return store.Grant{}, fmt.Errorf("get grant %s: %w", id, mapErr(err))
	}
	return g, nil
}

func (o ops) RevokeGrant(ctx context.Context, id string, at time.Time) (store.Grant, error) {
	if err := checkTime(at); err != nil {
		return store.Grant{}, fmt.Errorf("revoke grant %s: %w", id, err)
	}
	var g store.Grant
	err := o.write(ctx, func(q querier) error {
		var err error
		g, err = scanGrant(q.QueryRowContext(ctx, `UPDATE grants SET revoked = ?1
			WHERE id = ?2 AND revoked = 0 AND (end_at = 0 OR end_at > ?1)
			RETURNING `+grantCols, nanos(at), id))
		return mapErr(err)
	})
	if err != nil {
		return store.Grant{}, fmt.Errorf("revoke grant %s: %w", id, err)
	}
	return g, nil
}

// ListGrants returns the user's grants ordered by Start, then ID.
func (o ops) ListGrants(ctx context.Context, userID string) ([]store.Grant, error) {
	gs, err := queryAll(ctx, o.read, scanGrant,
		`SELECT `+grantCols+` FROM grants WHERE user_id = ? ORDER BY start_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list grants of %s: %w", userID, err)
	}
	return gs, nil
}

// schemaActiveGrants indexes the grants that are not revoked by user and
// end, so that a login reads the grants in force (ListActiveGrants) from
// the few that end after now, not from grants_user: every grant a worker
// has ever had started before now, so its range there is the whole
// history, a grant a week for years. A revocation takes the grant out.
const schemaActiveGrants = `
CREATE INDEX grants_active ON grants (user_id, end_at) WHERE revoked = 0;
`

// ListActiveGrants returns the user's grants in force at at, over
// grants_active, named so that the planner does not take grants_user for
// the order it gives: that would read the whole history to skip it. The
// few grants read are sorted.
func (o ops) ListActiveGrants(ctx context.Context, userID string, at time.Time) ([]store.Grant, error) {
	gs, err := queryAll(ctx, o.read, scanGrant,
		`SELECT `+grantCols+` FROM grants INDEXED BY grants_active
		WHERE user_id = ?1 AND revoked = 0 AND end_at > ?2 AND start_at <= ?2 ORDER BY start_at, id`, userID, nanos(at))
	if err != nil {
		return nil, fmt.Errorf("list active grants of %s: %w", userID, err)
	}
	return gs, nil
}

// RevokeGrants revokes the user's grants that are neither revoked nor over
// (a zero End never ends), future ones included.
func (o ops) RevokeGrants(ctx context.Context, userID string, at time.Time) ([]store.Grant, error) {
	if err := checkTime(at); err != nil {
		return nil, fmt.Errorf("revoke grants of %s: %w", userID, err)
	}
	var gs []store.Grant
	err := o.write(ctx, func(q querier) error {
		var err error
		gs, err = queryAll(ctx, q, scanGrant, `UPDATE grants SET revoked = ?1
			WHERE user_id = ?2 AND revoked = 0 AND (end_at = 0 OR end_at > ?1)
			RETURNING `+grantCols, nanos(at), userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("revoke grants of %s: %w", userID, err)
	}
	slices.SortFunc(gs, func(a, b store.Grant) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return gs, nil
}
