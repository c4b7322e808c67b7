package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/shiftgate/shiftgate/hub/store"
)

// userCols are the columns of the users table as the initial schema has
// them, in userArgs order. Columns added later are written next to them:
// user_name_key (schemaNameKeys), and start_day and end_day
// (schemaUserDays), which userSelectCols reads after userCols. So a test
// can still fill a table of an older schema version from userCols and
// userArgs.
const userCols = `id, user_name, external_id, display_name, active, state, sites,
	employment_type, start_date, end_date, shifts, certifications, document,
	version, created, modified, deleted`

// userSelectCols is what scanUser reads: userCols, then the days.
const userSelectCols = userCols + `, start_day, end_day`

// schemaNameKeys makes userName and group displayName unique and looked up
// by store.FoldName, the Unicode case folding SCIM filters and role names
// compare with, instead of SQLite's NOCASE, which folds ASCII only and so
// took "Élodie" and "élodie" for two names. The keys are plain columns
// (user_name_key, display_name_key) that the store writes with each name;
// for an ASCII name the key is lower(name). The backfill calls
// foldNameFunc, which only the writer connection has, but nothing in the
// schema does: another tool can still write the tables.
//
// The keys' indexes are not unique: a file may already hold names that
// differ in non-ASCII case only, and the step must not fail on them. The
// store checks uniqueness in the write transaction instead (every write
// holds SQLite's write lock: see nameTaken). One index on the key serves
// both the live users and the tombstones, which do not hold their names:
// a user changing state leaves it alone.
const schemaNameKeys = `
ALTER TABLE users ADD COLUMN user_name_key TEXT NOT NULL DEFAULT '';
UPDATE users SET user_name_key = ` + foldNameFunc + `(user_name);
DROP INDEX users_user_name_live;
DROP INDEX users_user_name_deleted;
CREATE INDEX users_user_name_key ON users (user_name_key);
ALTER TABLE groups ADD COLUMN display_name_key TEXT NOT NULL DEFAULT '';
UPDATE groups SET display_name_key = ` + foldNameFunc + `(display_name);
DROP INDEX groups_display_name;
CREATE INDEX groups_display_name_key ON groups (display_name_key);
`

// schemaUserDays keeps a user's startDate and endDate as the calendar days
// the identity provider sent (store.User.StartDay, EndDay), next to the
// instants start_date and end_date, which the scheduler's indexes
// (users_state_start, users_state_end) keep serving. Users stored before
// this step get no day: their dates stay the instants they were stored
// as (a bare date was read as that day in UTC) until the identity
// provider sends them again.
const schemaUserDays = `
ALTER TABLE users ADD COLUMN start_day TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN end_day TEXT NOT NULL DEFAULT '';
`

// foldNameFunc is store.FoldName as an SQL function of the writer
// connection (schemaNameKeys, schemaSiteDeviceNameKeys) and the readers',
// a ReadOnly's among them (the site filters); foldNameSQL is its body.
const foldNameFunc = "shiftgate_fold_name"

// foldNameSQL is foldNameFunc's body: store.FoldName of a text (or blob),
// and NULL for anything else. The site filters fold the elements of a
// user's sites with json_each, which gives one row whose value is NULL
// for a user stored with no sites at all (nil Sites is JSON null: a SCIM
// user sent without the Shiftgate extension). Declared with a string
// argument, the function refused that NULL, and the whole read failed
// with it (the supervisors' review worklist answered 500); NULL matches
// no site, as the user has none.
func foldNameSQL(v any) any {
	switch v := v.(type) {
	case string:
		return store.FoldName(v)
	case []byte:
		if v != nil { // the driver hands NULL over as a nil []byte
			return store.FoldName(string(v))
		}
	}
	return nil
}

// nameTaken returns ErrConflict if a row of the query's table other than
// id holds key (the query selects such rows; see userNameTaken and
// groupNameTaken). It runs in the write transaction that is about to store
// the name, so no other write can take it in between.
func nameTaken(ctx context.Context, q querier, query, what, name, key, id string) error {
	var other string
	err := q.QueryRowContext(ctx, query, key, id).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: %s %q is taken, case-insensitively", store.ErrConflict, what, name)
}

// userNameTaken is nameTaken for the userName of a user that is not
// deleted: tombstones do not hold their names.
func userNameTaken(ctx context.Context, q querier, name, key, id string) error {
	return nameTaken(ctx, q, userNameTakenQuery, "userName", name, key, id)
}

const userNameTakenQuery = `SELECT id FROM users WHERE user_name_key = ? AND state != 4 AND id != ? LIMIT 1`

// userColumns is userCols as a slice.
func userColumns() []string {
	return []string{"id", "user_name", "external_id", "display_name", "active", "state", "sites",
		"employment_type", "start_date", "end_date", "shifts", "certifications", "document",
		"version", "created", "modified", "deleted"}
}

// userDayColumns are the columns of u's days, written after userCols.
func userDayColumns() []string { return []string{"start_day", "end_day"} }

// userDayArgs returns u's days in userDayColumns order, or an error if
// one is not a store.DayLayout date.
func userDayArgs(u store.User) ([]any, error) {
	for _, d := range []struct{ name, day string }{{"start day", u.StartDay}, {"end day", u.EndDay}} {
		if d.day != "" && !store.ValidDay(d.day) {
			return nil, fmt.Errorf("%s %q is not a date like 2026-12-01", d.name, d.day)
		}
	}
	return []any{u.StartDay, u.EndDay}, nil
}

// userArgs returns u's column values in userCols order.
func userArgs(u store.User) ([]any, error) {
	if err := checkTimes(u.StartDate, u.EndDate, u.Created, u.Modified, u.Deleted); err != nil {
		return nil, err
	}
	sites, err := jsonText(u.Sites)
	if err != nil {
		return nil, err
	}
	shifts, err := jsonText(u.Shifts)
	if err != nil {
		return nil, err
	}
	for _, c := range u.Certifications {
		// An expiry day is kept verbatim in the certifications JSON
		// and checked as the start and end days are (userDayArgs): a
		// login could read no other.
		if c.ExpiresDay != "" && !store.ValidDay(c.ExpiresDay) {
			return nil, fmt.Errorf("certification %s: expiry day %q is not a date like 2026-12-31", c.Name, c.ExpiresDay)
		}
	}
	certs, err := jsonText(u.Certifications)
	if err != nil {
		return nil, err
	}
	return []any{
		u.ID, u.UserName, u.ExternalID, u.DisplayName, u.Active, int64(u.State), sites,
		u.EmploymentType, nanos(u.StartDate), nanos(u.EndDate), shifts, certs, []byte(u.Document),
		u.Version, nanos(u.Created), nanos(u.Modified), nanos(u.Deleted),
	}, nil
}

// normUser returns u as it reads back from the database: every time in UTC.
func normUser(u store.User) store.User {
	u.StartDate, u.EndDate = utc(u.StartDate), utc(u.EndDate)
	u.Created, u.Modified, u.Deleted = utc(u.Created), utc(u.Modified), utc(u.Deleted)
	if u.Shifts != nil {
		shifts := make([]store.Shift, len(u.Shifts))
		for i, s := range u.Shifts {
			shifts[i] = store.Shift{Start: utc(s.Start), End: utc(s.End)}
		}
		u.Shifts = shifts
	}
	if u.Certifications != nil {
		certs := make([]store.Certification, len(u.Certifications))
		for i, c := range u.Certifications {
			certs[i] = store.Certification{Name: c.Name, Expires: utc(c.Expires), ExpiresDay: c.ExpiresDay}
		}
		u.Certifications = certs
	}
	return u
}

// userRow is the destination of one scanned users row: one allocation for
// every column instead of one per column, on the path of every SCIM lookup.
type userRow struct {
	u                                   store.User
	state                               int64
	sites, shifts, certs                string
	doc                                 []byte
	start, end, created, modified, dead int64
	dest                                [20]any // userSelectCols and room for one extra column
}

// scanUser reads a row of userSelectCols, then any extra columns into extra.
func scanUser(s scanner, extra ...any) (store.User, error) {
	r := new(userRow)
	dest := append(r.dest[:0],
		&r.u.ID, &r.u.UserName, &r.u.ExternalID, &r.u.DisplayName, &r.u.Active, &r.state, &r.sites,
		&r.u.EmploymentType, &r.start, &r.end, &r.shifts, &r.certs, &r.doc,
		&r.u.Version, &r.created, &r.modified, &r.dead, &r.u.StartDay, &r.u.EndDay)
	dest = append(dest, extra...)
	if err := s.Scan(dest...); err != nil {
		return store.User{}, err
	}
	u := r.u
	u.State = store.UserState(r.state)
	if r.doc != nil {
		u.Document = r.doc
	}
	u.StartDate, u.EndDate = fromNanos(r.start), fromNanos(r.end)
	u.Created, u.Modified, u.Deleted = fromNanos(r.created), fromNanos(r.modified), fromNanos(r.dead)
	if err := fromJSON(r.sites, &u.Sites); err != nil {
		return store.User{}, fmt.Errorf("decode sites: %w", err)
	}
	if err := fromJSON(r.shifts, &u.Shifts); err != nil {
		return store.User{}, fmt.Errorf("decode shifts: %w", err)
	}
	if err := fromJSON(r.certs, &u.Certifications); err != nil {
		return store.User{}, fmt.Errorf("decode certifications: %w", err)
	}
	// JSON keeps each time's offset; the store hands out UTC.
	return normUser(u), nil
}

func (o ops) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	u.Version = 1
	args, err := userArgs(u)
	if err != nil {
		return store.User{}, fmt.Errorf("create user %s: %w", u.ID, err)
	}
	days, err := userDayArgs(u)
	if err != nil {
		return store.User{}, fmt.Errorf("create user %s: %w", u.ID, err)
	}
	key := store.FoldName(u.UserName)
	err = o.write(ctx, func(q querier) error {
		if u.State != store.UserDeleted {
			if err := userNameTaken(ctx, q, u.UserName, key, u.ID); err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, `INSERT INTO users (`+userCols+`, start_day, end_day, user_name_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(append(args, days...), key)...)
		return mapErr(err)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return normUser(u), nil
}

func (o ops) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := getUser(ctx, o.read, id)
	if err != nil {
		return store.User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

func getUser(ctx context.Context, q querier, id string) (store.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userSelectCols+` FROM users WHERE id = ?`, id))
	return u, mapErr(err)
}

func (o ops) ListUsers(ctx context.Context, uq store.UserQuery) ([]store.User, int, error) {
	users, _, total, err := o.listUsers(ctx, uq, false)
	return users, total, err
}

func (o ops) ListUsersWithGroups(ctx context.Context, uq store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	return o.listUsers(ctx, uq, true)
}

// userGroupsCol selects, as one more column of a users row, the groups the
// user is a member of, in ListGroups' order; ” for none. Each group is its
// ID, display name and external ID in hex (of their UTF-8 text, so that no
// value can hold a separator), then its version, created and modified,
// separated by ':'; groups are separated by ','. Decoding that costs a
// fifth of decoding the same groups as JSON, which the SCIM lookup path
// notices. It is one index lookup in group_members per user.
const userGroupsCol = `COALESCE((SELECT group_concat(hex(g.id) || ':' || hex(g.display_name) || ':' ||
		hex(g.external_id) || ':' || g.version || ':' || g.created || ':' || g.modified, ','
		ORDER BY g.created, g.id)
	FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = users.id), '')`

// userQueries holds listUsers' statements by their parts. The parts come
// from a fixed set of conditions with placeholders (never values), so it
// stays small; building the long statement anew on every lookup did not.
var userQueries sync.Map // userQueryKey → string

type userQueryKey struct {
	groups       bool // with userGroupsCol
	cond, clause string
}

func userQuery(groups bool, cond, clause string) string {
	k := userQueryKey{groups, cond, clause}
	if q, ok := userQueries.Load(k); ok {
		return q.(string)
	}
	cols := userSelectCols
	if groups {
		cols += ", " + userGroupsCol
	}
	q := `SELECT ` + cols + ` FROM users WHERE ` + cond + ` ORDER BY created, id` + clause
	userQueries.Store(k, q)
	return q
}

// parseUserGroups decodes a userGroupsCol value.
func parseUserGroups(s string) ([]store.Group, error) {
	if s == "" {
		return nil, nil
	}
	var gs []store.Group
	for enc := range strings.SplitSeq(s, ",") {
		f := strings.Split(enc, ":")
		if len(f) != 6 {
			return nil, fmt.Errorf("group %q: %d fields, want 6", enc, len(f))
		}
		var text [3][]byte
		for i := range text {
			var err error
			if text[i], err = hex.DecodeString(f[i]); err != nil {
				return nil, fmt.Errorf("group %q: field %d: %w", enc, i+1, err)
			}
		}
		var num [3]int64
		for i := range num {
			var err error
			if num[i], err = strconv.ParseInt(f[3+i], 10, 64); err != nil {
				return nil, fmt.Errorf("group %q: field %d: %w", enc, 4+i, err)
			}
		}
		gs = append(gs, store.Group{ID: string(text[0]), DisplayName: string(text[1]), ExternalID: string(text[2]),
			Version: num[0], Created: fromNanos(num[1]), Modified: fromNanos(num[2])})
	}
	return gs, nil
}

// listUsers is ListUsers, and with withGroups the groups of the users
// listed, read by the same statement.
func (o ops) listUsers(ctx context.Context, uq store.UserQuery, withGroups bool) ([]store.User, map[string][]store.Group, int, error) {
	var (
		where []string
		args  []any
	)
	if uq.ID != "" {
		where, args = append(where, "id = ?"), append(args, uq.ID)
	}
	// Conditions are spelled like the partial indexes' WHERE clauses, which
	// is what lets the planner use them.
	deleted := slices.Contains(uq.States, store.UserDeleted)
	if uq.UserName != "" {
		where, args = append(where, "user_name_key = ?"), append(args, store.FoldName(uq.UserName))
	}
	if uq.ExternalID != "" {
		where, args = append(where, "external_id != '' AND external_id = ?"), append(args, uq.ExternalID)
	}
	if !deleted {
		where = append(where, "state != 4")
	}
	if len(uq.States) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(uq.States)-1)+")")
		for _, s := range uq.States {
			args = append(args, int64(s))
		}
	}
	if !uq.StartBy.IsZero() {
		if err := checkTimes(uq.StartBy); err != nil {
			return nil, nil, 0, fmt.Errorf("list users: %w", err)
		}
		where, args = append(where, "start_date != 0 AND start_date <= ?"), append(args, nanos(uq.StartBy))
	}
	if !uq.EndBy.IsZero() {
		if err := checkTimes(uq.EndBy); err != nil {
			return nil, nil, 0, fmt.Errorf("list users: %w", err)
		}
		where, args = append(where, "end_date != 0 AND end_date <= ?"), append(args, nanos(uq.EndBy))
	}
	if uq.After != (store.ListKey{}) {
		if err := checkTimes(uq.After.Created); err != nil {
			return nil, nil, 0, fmt.Errorf("list users: %w", err)
		}
		// A row value, which the planner reads as a range of
		// users_created, the index of the list order: the batch starts
		// where the last one ended instead of reading that far again.
		where, args = append(where, "(created, id) > (?, ?)"), append(args, nanos(uq.After.Created), uq.After.ID)
	}
	cond := strings.Join(where, " AND ")
	clause, pageArgs := page(uq.Offset, uq.Limit)
	scan := func(s scanner) (store.User, error) { return scanUser(s) }
	var groups map[string][]store.Group
	if withGroups {
		scan = func(s scanner) (store.User, error) {
			var enc string
			u, err := scanUser(s, &enc)
			if err != nil || enc == "" {
				return u, err
			}
			gs, err := parseUserGroups(enc)
			if err != nil {
				return store.User{}, fmt.Errorf("decode groups of user %s: %w", u.ID, err)
			}
			if groups == nil {
				groups = map[string][]store.Group{}
			}
			groups[u.ID] = gs
			return u, nil
		}
	}
	var (
		users []store.User
		total int
	)
	err := oneSnapshot(ctx, o.read, countMayFollow(uq.Offset, uq.Limit, uq.NoTotal), func(q querier) error {
		var err error
		users, err = queryAll(ctx, q, scan, userQuery(withGroups, cond, clause), append(args, pageArgs...)...)
		if err != nil {
			return err
		}
		var ok bool
		if uq.NoTotal {
			total = -1
		} else if total, ok = pageTotal(len(users), uq.Offset, uq.Limit); !ok {
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+cond, args...).Scan(&total); err != nil {
				return fmt.Errorf("count: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, groups, total, nil
}

func (o ops) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	var u store.User
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := getUser(ctx, q, id)
		if err != nil {
			return err
		}
		if u, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		u.ID, u.Created, u.Version = old.ID, old.Created, old.Version+1
		was, err := userArgs(old)
		if err != nil {
			return err
		}
		now, err := userArgs(u)
		if err != nil {
			return err
		}
		wasDays := []any{old.StartDay, old.EndDay} // compared, not written: not checked
		days, err := userDayArgs(u)
		if err != nil {
			return err
		}
		// A user keeps its name when it changes only in case, or stays a
		// tombstone; it takes it when renamed or brought back to life. A
		// name shared with another live user before the names were folded
		// (see schemaNameKeys) stays as it is until one of them is renamed.
		wasKey, key := store.FoldName(old.UserName), store.FoldName(u.UserName)
		if u.State != store.UserDeleted && (key != wasKey || old.State == store.UserDeleted) {
			if err := userNameTaken(ctx, q, u.UserName, key, u.ID); err != nil {
				return err
			}
		}
		// Set only what changed: SQLite then leaves alone every index whose
		// columns are not set, and a typical SCIM PATCH touches none.
		cols := append(append(userColumns(), userDayColumns()...), "user_name_key")
		set, args := changed(cols, append(append(was, wasDays...), wasKey), append(append(now, days...), key))
		_, err = q.ExecContext(ctx, `UPDATE users SET `+set+` WHERE id = ?`, append(args, u.ID)...)
		return mapErr(err)
	})
	if fnErr != nil {
		return store.User{}, fnErr // unchanged, as the contract says
	}
	if err != nil {
		return store.User{}, fmt.Errorf("update user %s: %w", id, err)
	}
	return normUser(u), nil
}
