package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// groupCols selects a group with its members as a sorted JSON array, so a
// group or a page of groups is one statement.
const groupCols = `g.id, g.display_name, g.external_id, g.version, g.created, g.modified,
	(SELECT json_group_array(user_id) FROM
		(SELECT user_id FROM group_members m WHERE m.group_id = g.id ORDER BY user_id))`

// groupColsNoMembers selects a group without its members.
const groupColsNoMembers = `g.id, g.display_name, g.external_id, g.version, g.created, g.modified, '[]'`

func scanGroup(s scanner, extra ...any) (store.Group, error) {
	var (
		g                 store.Group
		members           string
		created, modified int64
	)
	dest := append([]any{&g.ID, &g.DisplayName, &g.ExternalID, &g.Version, &created, &modified, &members}, extra...)
	if err := s.Scan(dest...); err != nil {
		return store.Group{}, err
	}
	g.Created, g.Modified = fromNanos(created), fromNanos(modified)
	if err := fromJSON(members, &g.Members); err != nil {
		return store.Group{}, fmt.Errorf("decode members: %w", err)
	}
	g.Members = normMembers(g.Members)
	return g, nil
}

// normMembers sorts and deduplicates member IDs; no members is nil.
func normMembers(m []string) []string {
	if len(m) == 0 {
		return nil
	}
	m = slices.Clone(m)
	slices.Sort(m)
	return slices.Compact(m)
}

func normGroup(g store.Group) store.Group {
	g.Created, g.Modified = utc(g.Created), utc(g.Modified)
	g.Members = normMembers(g.Members)
	return g
}

// checkMembers returns ErrNotFound, naming the user, if a member does not
// exist. Checking before writing keeps a failed change from leaving half a
// group behind, even inside InTx.
func checkMembers(ctx context.Context, q querier, members string) error {
	var missing string
	err := q.QueryRowContext(ctx, `SELECT j.value FROM json_each(?) j
		WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = j.value) LIMIT 1`, members).Scan(&missing)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("member %s: %w", missing, store.ErrNotFound)
}

// addMembers adds the members in the JSON array to the group.
func addMembers(ctx context.Context, q querier, groupID, members string) error {
	// "WHERE true" resolves the parser ambiguity of INSERT ... SELECT ... ON CONFLICT.
	_, err := q.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id)
		SELECT ?, value FROM json_each(?) WHERE true ON CONFLICT DO NOTHING`, groupID, members)
	return mapErr(err)
}

// bumpUsers moves on the version of the users the query selects, and
// their modification time to at (never back): a user's SCIM resource
// lists its groups, so a change of membership (or of a group's name) is a
// change of the user, and its ETag and meta.lastModified must change
// (RFC 7644 §3.14, RFC 7643 §3.1). The query numbers its parameters
// (?1, ?2, …): at is bound after them.
func bumpUsers(ctx context.Context, q querier, at time.Time, query string, args ...any) error {
	atParam := "?" + strconv.Itoa(len(args)+1)
	_, err := q.ExecContext(ctx, `UPDATE users SET version = version + 1, modified = max(modified, `+atParam+`)
		WHERE id IN (`+query+`)`, append(args, nanos(at))...)
	return err
}

// groupNameTaken is nameTaken for a group's displayName.
func groupNameTaken(ctx context.Context, q querier, name, key, id string) error {
	return nameTaken(ctx, q, groupNameTakenQuery, "displayName", name, key, id)
}

const groupNameTakenQuery = `SELECT id FROM groups WHERE display_name_key = ? AND id != ? LIMIT 1`

func (o ops) CreateGroup(ctx context.Context, g store.Group) (store.Group, error) {
	g.Version = 1
	g = normGroup(g)
	if err := checkTimes(g.Created, g.Modified); err != nil {
		return store.Group{}, fmt.Errorf("create group %s: %w", g.ID, err)
	}
	members, err := jsonText(g.Members)
	if err != nil {
		return store.Group{}, fmt.Errorf("create group %s: %w", g.ID, err)
	}
	err = o.write(ctx, func(q querier) error {
		if g.Members != nil {
			if err := checkMembers(ctx, q, members); err != nil {
				return err
			}
		}
		key := store.FoldName(g.DisplayName)
		if err := groupNameTaken(ctx, q, g.DisplayName, key, g.ID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO groups (id, display_name, display_name_key, external_id, version, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.DisplayName, key, g.ExternalID, g.Version, nanos(g.Created), nanos(g.Modified))
		if err != nil {
			return mapErr(err)
		}
		if g.Members == nil {
			return nil
		}
		if err := addMembers(ctx, q, g.ID, members); err != nil {
			return err
		}
		return bumpUsers(ctx, q, g.Modified, `SELECT value FROM json_each(?1)`, members)
	})
	if err != nil {
		return store.Group{}, fmt.Errorf("create group %s: %w", g.ID, err)
	}
	return g, nil
}

func (o ops) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := getGroup(ctx, o.read, id)
	if err != nil {
		return store.Group{}, fmt.Errorf("get group %s: %w", id, err)
	}
	return g, nil
}

func getGroup(ctx context.Context, q querier, id string) (store.Group, error) {
	g, err := scanGroup(q.QueryRowContext(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.id = ?`, id))
	return g, mapErr(err)
}

func (o ops) ListGroups(ctx context.Context, gq store.GroupQuery) ([]store.Group, int, error) {
	cols := groupCols
	if gq.WithoutMembers {
		cols = groupColsNoMembers
	}
	where := []string{"true"}
	var args []any
	if gq.ID != "" {
		where, args = append(where, "g.id = ?"), append(args, gq.ID)
	}
	if gq.DisplayName != "" {
		where, args = append(where, "g.display_name_key = ?"), append(args, store.FoldName(gq.DisplayName))
	}
	if gq.ExternalID != "" {
		where, args = append(where, "g.external_id = ?"), append(args, gq.ExternalID)
	}
	if gq.MemberID != "" {
		where = append(where, "g.id IN (SELECT group_id FROM group_members WHERE user_id = ?)")
		args = append(args, gq.MemberID)
	}
	if gq.After != (store.ListKey{}) {
		if err := checkTimes(gq.After.Created); err != nil {
			return nil, 0, fmt.Errorf("list groups: %w", err)
		}
		// A range of groups_created, as for users (listUsers).
		where, args = append(where, "(g.created, g.id) > (?, ?)"), append(args, nanos(gq.After.Created), gq.After.ID)
	}
	cond := strings.Join(where, " AND ")
	clause, pageArgs := page(gq.Offset, gq.Limit)
	var (
		groups []store.Group
		total  int
	)
	err := oneSnapshot(ctx, o.read, countMayFollow(gq.Offset, gq.Limit, gq.NoTotal), func(q querier) error {
		var err error
		groups, err = queryAll(ctx, q, func(s scanner) (store.Group, error) { return scanGroup(s) },
			`SELECT `+cols+` FROM groups g WHERE `+cond+` ORDER BY g.created, g.id`+clause,
			append(args, pageArgs...)...)
		if err != nil {
			return err
		}
		var ok bool
		if gq.NoTotal {
			total = -1
		} else if total, ok = pageTotal(len(groups), gq.Offset, gq.Limit); !ok {
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM groups g WHERE `+cond, args...).Scan(&total); err != nil {
				return fmt.Errorf("count: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	return groups, total, nil
}

func (o ops) GroupNamesOf(ctx context.Context, userID string) ([]string, error) {
	names, err := queryAll(ctx, o.read, func(s scanner) (string, error) {
		var n string
		return n, s.Scan(&n)
	}, `SELECT g.display_name FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE m.user_id = ? ORDER BY g.created, g.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("groups of user %s: %w", userID, err)
	}
	return names, nil
}

func (o ops) UpdateGroup(ctx context.Context, id string, fn func(store.Group) (store.Group, error)) (store.Group, error) {
	var g store.Group
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := getGroup(ctx, q, id)
		if err != nil {
			return err
		}
		if g, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		g.ID, g.Created, g.Version = old.ID, old.Created, old.Version+1
		g = normGroup(g)
		if err := checkTimes(g.Modified); err != nil {
			return err
		}
		members, err := jsonText(g.Members)
		if err != nil {
			return err
		}
		if members == "null" {
			members = "[]"
		}
		if err := checkMembers(ctx, q, members); err != nil {
			return err
		}
		// A group keeps its name when it changes only in case (see
		// UpdateUser); a new name must be free.
		key := store.FoldName(g.DisplayName)
		if key != store.FoldName(old.DisplayName) {
			if err := groupNameTaken(ctx, q, g.DisplayName, key, g.ID); err != nil {
				return err
			}
		}
		_, err = q.ExecContext(ctx, `UPDATE groups SET display_name = ?, display_name_key = ?, external_id = ?,
			version = ?, modified = ? WHERE id = ?`,
			g.DisplayName, key, g.ExternalID, g.Version, nanos(g.Modified), g.ID)
		if err != nil {
			return mapErr(err)
		}
		// The users whose resource changes: every member, old and new,
		// when the name does; else those who join or leave.
		if g.DisplayName != old.DisplayName {
			err = bumpUsers(ctx, q, g.Modified, `SELECT user_id FROM group_members WHERE group_id = ?1
				UNION SELECT value FROM json_each(?2)`, g.ID, members)
		} else {
			err = bumpUsers(ctx, q, g.Modified, `SELECT user_id FROM group_members WHERE group_id = ?1
				AND user_id NOT IN (SELECT value FROM json_each(?2))
				UNION SELECT value FROM json_each(?2)
				WHERE value NOT IN (SELECT user_id FROM group_members WHERE group_id = ?1)`, g.ID, members)
		}
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ?
			AND user_id NOT IN (SELECT value FROM json_each(?))`, g.ID, members)
		if err != nil {
			return err
		}
		return addMembers(ctx, q, g.ID, members)
	})
	if fnErr != nil {
		return store.Group{}, fnErr
	}
	if err != nil {
		return store.Group{}, fmt.Errorf("update group %s: %w", id, err)
	}
	return g, nil
}

func (o ops) DeleteGroup(ctx context.Context, id string, at time.Time) error {
	if err := checkTimes(at); err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	err := o.write(ctx, func(q querier) error {
		if err := bumpUsers(ctx, q, at, `SELECT user_id FROM group_members WHERE group_id = ?1`, id); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `DELETE FROM groups WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	return nil
}

func (o ops) RemoveMemberships(ctx context.Context, userID string, at time.Time) ([]store.Group, error) {
	if err := checkTimes(at); err != nil {
		return nil, fmt.Errorf("remove memberships of %s: %w", userID, err)
	}
	var before []store.Group
	err := o.write(ctx, func(q querier) error {
		var err error
		before, err = queryAll(ctx, q, func(s scanner) (store.Group, error) { return scanGroup(s) },
			`SELECT `+groupCols+` FROM groups g
			WHERE g.id IN (SELECT group_id FROM group_members WHERE user_id = ?)
			ORDER BY g.created, g.id`, userID)
		if err != nil || len(before) == 0 {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE groups SET version = version + 1, modified = ?
			WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?)`, nanos(at), userID)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `DELETE FROM group_members WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		return bumpUsers(ctx, q, at, `SELECT ?1`, userID)
	})
	if err != nil {
		return nil, fmt.Errorf("remove memberships of %s: %w", userID, err)
	}
	return before, nil
}
