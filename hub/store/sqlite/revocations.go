package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

const revocationCols = `id, user_id, session_id, device_id, reason, detail, created, acked`

func scanRevocation(s scanner) (store.Revocation, error) {
	var (
		r              store.Revocation
		created, acked int64
	)
	if err := s.Scan(&r.ID, &r.UserID, &r.SessionID, &r.DeviceID, &r.Reason, &r.Detail, &created, &acked); err != nil {
		return store.Revocation{}, err
	}
	r.Created, r.Acked = fromNanos(created), fromNanos(acked)
	return r, nil
}

// AddRevocation stores r under a new ID, ignoring r.ID. IDs increase and
// are never reused (AUTOINCREMENT).
func (o ops) AddRevocation(ctx context.Context, r store.Revocation) (store.Revocation, error) {
	r.Created, r.Acked = utc(r.Created), utc(r.Acked)
	if err := checkTimes(r.Created, r.Acked); err != nil {
		return store.Revocation{}, fmt.Errorf("add revocation for %s: %w", r.UserID, err)
	}
	err := o.write(ctx, func(q querier) error {
		// The new row's rowid, not RETURNING id (see endSession).
		res, err := q.ExecContext(ctx, `INSERT INTO revocations (user_id, session_id, device_id, reason, detail, created, acked)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.UserID, r.SessionID, r.DeviceID, r.Reason, r.Detail, nanos(r.Created), nanos(r.Acked))
		if err != nil {
			return err
		}
		r.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return store.Revocation{}, fmt.Errorf("add revocation for %s: %w", r.UserID, err)
	}
	return r, nil
}

func (o ops) AddRevocations(ctx context.Context, rs []store.Revocation) ([]store.Revocation, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	out := make([]store.Revocation, len(rs))
	for i, r := range rs {
		r.Created, r.Acked = utc(r.Created), utc(r.Acked)
		if err := checkTimes(r.Created, r.Acked); err != nil {
			return nil, fmt.Errorf("add %d revocations: %w", len(rs), err)
		}
		out[i] = r
	}
	err := o.write(ctx, func(q querier) error {
		args := make([]any, 0, 7*min(len(out), bulkRows))
		return chunks(len(out), func(lo, hi int) error {
			args = args[:0]
			for _, r := range out[lo:hi] {
				args = append(args, r.UserID, r.SessionID, r.DeviceID, r.Reason, r.Detail, nanos(r.Created), nanos(r.Acked))
			}
			// Rows go in in VALUES order, so AUTOINCREMENT numbers them
			// in that order; RETURNING's order is unspecified, hence the
			// sort.
			ids, err := queryAll(ctx, q, scanID, `INSERT INTO revocations (user_id, session_id, device_id, reason, detail, created, acked)
				VALUES `+placeholders(hi-lo, 7)+` RETURNING id`, args...)
			if err != nil {
				return err
			}
			if len(ids) != hi-lo {
				return fmt.Errorf("inserted %d rows, want %d", len(ids), hi-lo)
			}
			slices.Sort(ids)
			for i, id := range ids {
				out[lo+i].ID = id
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("add %d revocations: %w", len(rs), err)
	}
	return out, nil
}

func scanID(s scanner) (int64, error) {
	var id int64
	return id, s.Scan(&id)
}

func (o ops) ListRevocations(ctx context.Context, rq store.RevocationQuery) ([]store.Revocation, error) {
	where := []string{"id > ?"}
	args := []any{rq.AfterID}
	if rq.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, rq.UserID)
	}
	if rq.SessionID != "" {
		where, args = append(where, "session_id = ?"), append(args, rq.SessionID)
	}
	if rq.DeviceID != "" {
		where, args = append(where, "device_id = ?"), append(args, rq.DeviceID)
	}
	if rq.PendingOnly {
		// Spelled like revocations_pending's condition.
		where = append(where, "acked = 0 AND session_id != ''")
	}
	clause, pageArgs := page(0, rq.Limit)
	rs, err := queryAll(ctx, o.read, scanRevocation, `SELECT `+revocationCols+` FROM revocations
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id`+clause, append(args, pageArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	return rs, nil
}

func (o ops) AckRevocations(ctx context.Context, sessionID, deviceID string, at time.Time) (int, error) {
	n, err := o.mark(ctx, `UPDATE revocations SET acked = ? WHERE session_id = ? AND device_id = ? AND acked = 0`, at, sessionID, deviceID)
	if err != nil {
		return 0, fmt.Errorf("ack revocations of session %s on device %s: %w", sessionID, deviceID, err)
	}
	return n, nil
}

// mark runs update, which sets a "when" column to at in the rows of key
// (the values of its other parameters, in order) where it is still 0 ("not yet"), and returns how many it marked. at must
// be given (checkTime): 0 would mark nothing and report success.
func (o ops) mark(ctx context.Context, update string, at time.Time, key ...any) (int, error) {
	if err := checkTime(at); err != nil {
		return 0, err
	}
	var n int64
	err := o.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, update, append([]any{nanos(at)}, key...)...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
