package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// schemaLiveSessionIndexes replaces the user and device indexes of
// sessions, keyed (…, ended), by partial indexes of live sessions only,
// and keeps a user index for the history.
//
// Keyed (…, ended), a login inserted at the front of its user's and its
// kiosk's ranges and its sign-out moved the entries to the back: two
// leaves per index per user or kiosk, spread over the whole index, and
// each dirty leaf is written whole to the log at commit. Under 64 kiosks
// signing in, a group commit wrote about 68 pages, 36 of them leaves of
// these two indexes. The live indexes hold one entry per open session, a
// few pages in all, and ending a session only deletes from them. Ended
// sessions are read by user only for the console's history of a user,
// and by kiosk never.
const schemaLiveSessionIndexes = `
DROP INDEX sessions_user;
DROP INDEX sessions_device;
CREATE INDEX sessions_user_live ON sessions (user_id, started, id) WHERE ended = 0;
CREATE INDEX sessions_device_live ON sessions (device_id, started, id) WHERE ended = 0;
CREATE INDEX sessions_user_history ON sessions (user_id, started);
`

// liveOfUser is the FROM clause for a user's live sessions. Without table
// statistics the planner cannot tell that the live index is a few pages
// and the history index all of them, and picked the history.
const liveOfUser = "sessions INDEXED BY sessions_user_live"

const sessionCols = `id, user_id, device_id, role, apps, started, expires, ended, end_reason, expiry_reason`

// schemaSessionExpiryReason keeps why a session ends at its expiry
// (store.Session.ExpiryReason), so that the scheduler ends a session of a
// kiosk that is away with the reason the kiosk would have given, and a
// kiosk that reconnects is told it. Sessions stored before have none and
// end as expired, as they did.
const schemaSessionExpiryReason = `
ALTER TABLE sessions ADD COLUMN expiry_reason TEXT NOT NULL DEFAULT '';
`

func scanSession(s scanner) (store.Session, error) {
	var (
		ss                      store.Session
		apps                    string
		started, expires, ended int64
	)
	if err := s.Scan(&ss.ID, &ss.UserID, &ss.DeviceID, &ss.Role, &apps, &started, &expires, &ended, &ss.EndReason, &ss.ExpiryReason); err != nil {
		return store.Session{}, err
	}
	ss.Started, ss.Expires, ss.Ended = fromNanos(started), fromNanos(expires), fromNanos(ended)
	if err := fromJSON(apps, &ss.Apps); err != nil {
		return store.Session{}, fmt.Errorf("decode apps: %w", err)
	}
	return ss, nil
}

// sortSessions orders sessions by Started, then ID.
func sortSessions(ss []store.Session) {
	slices.SortFunc(ss, func(a, b store.Session) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func (o ops) CreateSession(ctx context.Context, s store.Session) (store.Session, error) {
	return o.insertSession(ctx, "create", s, false)
}

func (o ops) StartSession(ctx context.Context, s store.Session) (store.Session, error) {
	return o.insertSession(ctx, "start", s, true)
}

// insertSession stores s; with activeDevice only if s.DeviceID is an active
// device, checked by the INSERT itself (ErrNotFound otherwise).
func (o ops) insertSession(ctx context.Context, verb string, s store.Session, activeDevice bool) (store.Session, error) {
	s.Started, s.Expires, s.Ended = utc(s.Started), utc(s.Expires), utc(s.Ended)
	if err := checkTimes(s.Started, s.Expires, s.Ended); err != nil {
		return store.Session{}, fmt.Errorf("%s session %s: %w", verb, s.ID, err)
	}
	apps, err := jsonText(s.Apps)
	if err != nil {
		return store.Session{}, fmt.Errorf("%s session %s: %w", verb, s.ID, err)
	}
	query := `INSERT INTO sessions (` + sessionCols + `) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10`
	args := []any{s.ID, s.UserID, s.DeviceID, s.Role, apps, nanos(s.Started), nanos(s.Expires), nanos(s.Ended), s.EndReason, s.ExpiryReason}
	if activeDevice {
		query += ` WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?3 AND state = ?11)`
		args = append(args, store.DeviceActive)
	}
	err = o.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("device %s is not active: %w", s.DeviceID, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("%s session %s: %w", verb, s.ID, err)
	}
	return s, nil
}

func (o ops) GetSession(ctx context.Context, id string) (store.Session, error) {
	s, err := scanSession(o.read.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return store.Session{}, fmt.Errorf("get session %s: %w", id, mapErr(err))
	}
	return s, nil
}

func (o ops) ListSessions(ctx context.Context, sq store.SessionQuery) ([]store.Session, error) {
	where := []string{"true"}
	var args []any
	if sq.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, sq.UserID)
		if !sq.LiveOnly {
			// The user's history is in session_history, but for the
			// sessions a pass has not moved there yet (see deferred.go).
			where = append(where, `id IN (SELECT id FROM session_history WHERE user_id = ?
				UNION ALL SELECT id FROM session_history_queue WHERE user_id = ?)`)
			args = append(args, sq.UserID, sq.UserID)
		}
	}
	if sq.DeviceID != "" {
		where, args = append(where, "device_id = ?"), append(args, sq.DeviceID)
	}
	if sq.LiveOnly {
		where = append(where, "ended = 0")
	}
	if !sq.ExpiresBy.IsZero() {
		if err := checkTimes(sq.ExpiresBy); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		where, args = append(where, "expires <= ?"), append(args, nanos(sq.ExpiresBy))
	}
	from := "sessions"
	if sq.UserID != "" && sq.LiveOnly {
		from = liveOfUser
	}
	ss, err := queryAll(ctx, o.read, scanSession, `SELECT `+sessionCols+` FROM `+from+`
		WHERE `+strings.Join(where, " AND ")+` ORDER BY started, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return ss, nil
}

func (o ops) EachLiveSession(ctx context.Context, fn func(store.LiveSession) error) error {
	rows, err := o.read.QueryContext(ctx, `SELECT id, user_id, device_id, role FROM sessions
		WHERE ended = 0 ORDER BY started, id`)
	if err != nil {
		return fmt.Errorf("list live sessions: %w", unavailable(err))
	}
	defer rows.Close()
	for rows.Next() {
		var s store.LiveSession
		if err := rows.Scan(&s.ID, &s.UserID, &s.DeviceID, &s.Role); err != nil {
			return fmt.Errorf("list live sessions: %w", err)
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list live sessions: %w", unavailable(err))
	}
	return nil
}

func (o ops) EndSessions(ctx context.Context, userID, reason string, at time.Time) ([]store.Session, error) {
	if err := checkTime(at); err != nil {
		return nil, fmt.Errorf("end sessions of %s: %w", userID, err)
	}
	var ss []store.Session
	err := o.write(ctx, func(q querier) error {
		// Read, then update by ID: an UPDATE that changes ended cannot
		// find its rows through sessions_user_live, whose WHERE tests
		// ended, and went through the user's whole history instead.
		var err error
		ss, err = queryAll(ctx, q, scanSession, `SELECT `+sessionCols+` FROM `+liveOfUser+` WHERE user_id = ? AND ended = 0`, userID)
		if err != nil || len(ss) == 0 {
			return err
		}
		for i := range ss {
			if _, err := q.ExecContext(ctx, `UPDATE sessions SET ended = ?, end_reason = ? WHERE id = ?`, nanos(at), reason, ss[i].ID); err != nil {
				return err
			}
			ss[i].Ended, ss[i].EndReason = fromNanos(nanos(at)), reason
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("end sessions of %s: %w", userID, err)
	}
	sortSessions(ss)
	return ss, nil
}

func (o ops) EndSessionsByID(ctx context.Context, ids []string, reason string, at time.Time) ([]string, error) {
	if err := checkTime(at); err != nil {
		return nil, fmt.Errorf("end %d sessions: %w", len(ids), err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// One statement over a JSON array of the IDs: unlike the bulk inserts
	// (see bulkRows), a list of plain strings costs json_each little, and
	// measured faster than chunks of IN (?, …).
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	var got []string
	err = o.write(ctx, func(q querier) error {
		var err error
		got, err = queryAll(ctx, q, scanString, `UPDATE sessions SET ended = ?, end_reason = ?
			WHERE ended = 0 AND id IN (SELECT value FROM json_each(?)) RETURNING id`, nanos(at), reason, string(list))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("end %d sessions: %w", len(ids), err)
	}
	ended := make(map[string]bool, len(got))
	for _, id := range got {
		ended[id] = true
	}
	out := got[:0]
	for _, id := range ids {
		if ended[id] {
			out = append(out, id)
			delete(ended, id) // an ID given twice is returned once
		}
	}
	return out, nil
}

func scanString(s scanner) (string, error) {
	var v string
	return v, s.Scan(&v)
}

func (o ops) EndSessionOn(ctx context.Context, id, deviceID, reason string, at time.Time) (store.Session, error) {
	s, err := o.endSession(ctx, id, deviceID, reason, at)
	if err != nil {
		return store.Session{}, fmt.Errorf("end session %s on %s: %w", id, deviceID, err)
	}
	return s, nil
}

func (o ops) EndSession(ctx context.Context, id, reason string, at time.Time) (store.Session, error) {
	s, err := o.endSession(ctx, id, "", reason, at)
	if err != nil {
		return store.Session{}, fmt.Errorf("end session %s: %w", id, err)
	}
	return s, nil
}

// endSession ends the live session id, only on deviceID when it is set.
func (o ops) endSession(ctx context.Context, id, deviceID, reason string, at time.Time) (store.Session, error) {
	if err := checkTime(at); err != nil {
		return store.Session{}, err
	}
	query := `SELECT ` + sessionCols + ` FROM sessions WHERE id = ? AND ended = 0`
	args := []any{id}
	if deviceID != "" {
		query += ` AND device_id = ?`
		args = append(args, deviceID)
	}
	var s store.Session
	err := o.write(ctx, func(q querier) error {
		// A read, then a plain UPDATE in the same write transaction rather
		// than UPDATE … RETURNING: as safe, and measured a third of the
		// cost (RETURNING adds about 25 µs to every execution, whatever
		// the number of rows). Every sign-out comes here.
		var err error
		if s, err = scanSession(q.QueryRowContext(ctx, query, args...)); err != nil {
			return mapErr(err)
		}
		if _, err := q.ExecContext(ctx, `UPDATE sessions SET ended = ?, end_reason = ? WHERE id = ?`, nanos(at), reason, id); err != nil {
			return err
		}
		s.Ended, s.EndReason = fromNanos(nanos(at)), reason
		return nil
	})
	return s, err
}
