package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

const extensionCols = `id, user_id, site, start_at, end_at, reason, approver, created, expired`

// schemaExtensionSite gives each shift extension the site where it counts
// (store.ShiftExtension.Site). An extension recorded before had none and
// counted at every site of its worker, which let a supervisor of one site
// lengthen a worker's access at another. The step places the extensions
// still in force (not yet marked expired) of workers with exactly one
// site at that site, which is all they could have meant; the rest keep no
// site and count at none from now on. Such an extension lasts 12 hours at
// most; the sessions it already lengthened keep their expiry until the
// worker's shifts next change.
const schemaExtensionSite = `
ALTER TABLE shift_extensions ADD COLUMN site TEXT NOT NULL DEFAULT '';
UPDATE shift_extensions SET site = COALESCE((
	SELECT CASE WHEN json_array_length(s.j) = 1 AND json_type(s.j, '$[0]') = 'text' THEN json_extract(s.j, '$[0]') END
	FROM (SELECT CASE WHEN json_valid(u.sites) THEN u.sites ELSE '[]' END AS j
		FROM users u WHERE u.id = shift_extensions.user_id) s), '')
WHERE expired = 0;
`

func scanExtension(s scanner) (store.ShiftExtension, error) {
	var (
		x                            store.ShiftExtension
		start, end, created, expired int64
	)
	if err := s.Scan(&x.ID, &x.UserID, &x.Site, &start, &end, &x.Reason, &x.Approver, &created, &expired); err != nil {
		return store.ShiftExtension{}, err
	}
	x.Start, x.End, x.Created, x.Expired = fromNanos(start), fromNanos(end), fromNanos(created), fromNanos(expired)
	return x, nil
}

func (o ops) CreateShiftExtension(ctx context.Context, x store.ShiftExtension) (store.ShiftExtension, error) {
	x.Start, x.End, x.Created, x.Expired = utc(x.Start), utc(x.End), utc(x.Created), utc(x.Expired)
	if err := checkTimes(x.Start, x.End, x.Created, x.Expired); err != nil {
		return store.ShiftExtension{}, fmt.Errorf("create shift extension %s: %w", x.ID, err)
	}
	err := o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO shift_extensions (`+extensionCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.UserID, x.Site, nanos(x.Start), nanos(x.End), x.Reason, x.Approver, nanos(x.Created), nanos(x.Expired))
		return mapErr(err)
	})
	if err != nil {
		return store.ShiftExtension{}, fmt.Errorf("create shift extension %s: %w", x.ID, err)
	}
	return x, nil
}

func (o ops) ListShiftExtensions(ctx context.Context, userID string) ([]store.ShiftExtension, error) {
	xs, err := queryAll(ctx, o.read, scanExtension,
		`SELECT `+extensionCols+` FROM shift_extensions WHERE user_id = ? ORDER BY start_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list shift extensions of %s: %w", userID, err)
	}
	return xs, nil
}

func (o ops) ListDueShiftExtensions(ctx context.Context, by time.Time, limit int) ([]store.ShiftExtension, error) {
	if err := checkTimes(by); err != nil {
		return nil, fmt.Errorf("list due shift extensions: %w", err)
	}
	lim, largs := page(0, limit)
	xs, err := queryAll(ctx, o.read, scanExtension, `SELECT `+extensionCols+` FROM shift_extensions
		WHERE expired = 0 AND end_at <= ? ORDER BY end_at, id`+lim, append([]any{nanos(by)}, largs...)...)
	if err != nil {
		return nil, fmt.Errorf("list due shift extensions: %w", err)
	}
	return xs, nil
}

func (o ops) ExpireShiftExtension(ctx context.Context, id string, at time.Time) (store.ShiftExtension, error) {
	if err := checkTime(at); err != nil {
		return store.ShiftExtension{}, fmt.Errorf("expire shift extension %s: %w", id, err)
	}
	var x store.ShiftExtension
	err := o.write(ctx, func(q querier) error {
		var err error
		x, err = scanExtension(q.QueryRowContext(ctx, `UPDATE shift_extensions SET expired = ?1
			WHERE id = ?2 AND expired = 0 AND end_at <= ?1 RETURNING `+extensionCols, nanos(at), id))
		return mapErr(err)
	})
	if err != nil {
		return store.ShiftExtension{}, fmt.Errorf("expire shift extension %s: %w", id, err)
	}
	return x, nil
}

func (o ops) ListDueGrants(ctx context.Context, by time.Time, limit int) ([]store.Grant, error) {
	if err := checkTimes(by); err != nil {
		return nil, fmt.Errorf("list due grants: %w", err)
	}
	lim, largs := page(0, limit)
	gs, err := queryAll(ctx, o.read, scanGrant, `SELECT `+grantCols+` FROM grants
		WHERE revoked = 0 AND expired = 0 AND end_at <= ? ORDER BY end_at, id`+lim, append([]any{nanos(by)}, largs...)...)
	if err != nil {
		return nil, fmt.Errorf("list due grants: %w", err)
	}
	return gs, nil
}

func (o ops) ExpireGrant(ctx context.Context, id string, at time.Time) (store.Grant, error) {
	if err := checkTime(at); err != nil {
		return store.Grant{}, fmt.Errorf("expire grant %s: %w", id, err)
	}
	var g store.Grant
	err := o.write(ctx, func(q querier) error {
		var err error
		g, err = scanGrant(q.QueryRowContext(ctx, `UPDATE grants SET expired = ?1
			WHERE id = ?2 AND revoked = 0 AND expired = 0 AND end_at <= ?1 RETURNING `+grantCols, nanos(at), id))
		return mapErr(err)
	})
	if err != nil {
		return store.Grant{}, fmt.Errorf("expire grant %s: %w", id, err)
	}
	return g, nil
}

func (o ops) SetSessionExpiry(ctx context.Context, id string, expires time.Time) (store.Session, error) {
	return o.SetSessionExpiryFor(ctx, id, expires, "")
}

func (o ops) SetSessionExpiryFor(ctx context.Context, id string, expires time.Time, reason string) (store.Session, error) {
	if err := checkTime(expires); err != nil {
		return store.Session{}, fmt.Errorf("set expiry of session %s: %w", id, err)
	}
	var s store.Session
	err := o.write(ctx, func(q querier) error {
		var err error
		s, err = scanSession(q.QueryRowContext(ctx, `UPDATE sessions SET expires = ?, expiry_reason = ?
			WHERE id = ? AND ended = 0 RETURNING `+sessionCols, nanos(expires), reason, id))
		return mapErr(err)
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("set expiry of session %s: %w", id, err)
	}
	return s, nil
}

// checkTime refuses a zero time or one that does not fit in int64
// nanoseconds. The ops that mark a row used, ended, revoked or
// acknowledged need it: they store the time in a column where 0 means
// "not yet", so a zero time would report success and change nothing.
func checkTime(t time.Time) error {
	if t.IsZero() || t.UnixNano() == 0 {
		// The Unix epoch is stored as 0 too, which means "not yet".
		return errors.New("no time given")
	}
	return checkTimes(t)
}
