package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Deferred indexes. An index keyed by user (the audit trail by subject, a
// user's session history) takes its new entry at the end of that user's
// range: one leaf page per user, spread over the whole index. A commit
// writes every page it changed to the log whole, so under 64 kiosks
// signing in a group commit of a dozen logins and sign-outs wrote about 46
// pages, 26 of them leaves of audit_subject and sessions_user_history, to
// add a dozen small entries. Those indexes serve the console and tests,
// never a login or a revocation.
//
// So they are kept as tables filled in the background instead: every
// indexEvery, passes of at most indexChunk rows, each one transaction,
// copy what was written since, sorted by key, so that each leaf is written
// once for all the new entries of its users in the pass. Reads stay exact: a query takes the indexed part from the
// table and the rest (written since the last pass, a fraction of a second
// of records) from the source, in one statement and so one snapshot.
//
//   - audit_by_subject and audit_by_action hold (val, seq) for every audit
//     record up to index_marks.done of 'audit'. The audit table is
//     append-only and seq its INTEGER PRIMARY KEY, so the records not yet
//     indexed are those with seq > done.
//   - session_history holds (user_id, started, id) of sessions. A trigger
//     queues each new session in session_history_queue, on the busy end of
//     a small table; a pass moves queued rows into session_history, so a
//     session is in exactly one of the two. (The sessions table's rowid is
//     no alias of a declared column, and VACUUM may renumber it, so it
//     cannot serve as a mark.)
const schemaDeferredIndexes = `
CREATE TABLE index_marks (
	name TEXT PRIMARY KEY,
	done INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit_by_subject (
	val TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (val, seq)
) WITHOUT ROWID;
CREATE TABLE audit_by_action (
	val TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (val, seq)
) WITHOUT ROWID;
INSERT INTO audit_by_subject (val, seq) SELECT subject, seq FROM audit ORDER BY subject, seq;
INSERT INTO audit_by_action (val, seq) SELECT action, seq FROM audit ORDER BY action, seq;
INSERT INTO index_marks (name, done) SELECT 'audit', COALESCE(MAX(seq), 0) FROM audit;
DROP INDEX audit_subject;
DROP INDEX audit_action;

CREATE TABLE session_history (
	user_id TEXT NOT NULL,
	started INTEGER NOT NULL,
	id      TEXT NOT NULL,
	PRIMARY KEY (user_id, started, id)
) WITHOUT ROWID;
CREATE TABLE session_history_queue (
	n       INTEGER PRIMARY KEY,
	user_id TEXT NOT NULL,
	started INTEGER NOT NULL,
	id      TEXT NOT NULL
);
CREATE TRIGGER sessions_queue_history AFTER INSERT ON sessions
BEGIN INSERT INTO session_history_queue (user_id, started, id) VALUES (NEW.user_id, NEW.started, NEW.id); END;
INSERT INTO session_history (user_id, started, id) SELECT user_id, started, id FROM sessions ORDER BY user_id, started, id;
DROP INDEX sessions_user_history;
`

const (
	// indexEvery is how often the deferred indexes catch up. It bounds
	// what a query reads from the sources unindexed: at 3,000 logins a
	// second, about 1,500 audit records and 750 sessions.
	indexEvery = 250 * time.Millisecond
	// indexChunk is the most rows of each source one pass copies, so that
	// no pass holds the writer for long: a write that queues behind a pass
	// (a mass revocation's, say) waits for it. Records of as many different
	// users, each landing on a leaf of its own, took 4 ms a pass here
	// (4,096: 30 ms); records of a few busy users share their leaves and
	// cost much less.
	indexChunk = 256
)

// auditTail is the condition on audit records that the deferred audit
// indexes do not cover yet.
const auditTail = `seq > COALESCE((SELECT done FROM index_marks WHERE name = 'audit'), 0)`

// indexes runs catchUp every indexEvery until ctx ends.
func (db *DB) indexes(ctx context.Context) {
	defer close(db.indexed)
	t := time.NewTicker(indexEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// An error (the store closing, a full disk) is retried on
			// the next tick; until then queries read more of the tail.
			_ = db.catchUp(ctx)
		}
	}
}

// catchUp runs index passes until the deferred indexes cover every row.
func (db *DB) catchUp(ctx context.Context) error {
	for {
		more, err := db.indexPass(ctx)
		if err != nil || !more {
			return err
		}
	}
}

// indexPass copies at most indexChunk rows of each source into its
// deferred indexes, in one write transaction, and reports whether rows
// are left.
func (db *DB) indexPass(ctx context.Context) (more bool, err error) {
	err = db.writeTx(ctx, func(q querier) error {
		more = false
		var done, head int64
		if err := q.QueryRowContext(ctx, `SELECT done FROM index_marks WHERE name = 'audit'`).Scan(&done); err != nil {
			return err
		}
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit`).Scan(&head); err != nil {
			return err
		}
		if hi := min(head, done+indexChunk); hi > done {
			for _, stmt := range [...]string{
				`INSERT INTO audit_by_subject (val, seq) SELECT subject, seq FROM audit WHERE seq > ?1 AND seq <= ?2 ORDER BY subject, seq`,
				`INSERT INTO audit_by_action (val, seq) SELECT action, seq FROM audit WHERE seq > ?1 AND seq <= ?2 ORDER BY action, seq`,
				`UPDATE index_marks SET done = ?2 WHERE name = 'audit'`,
			} {
				if _, err := q.ExecContext(ctx, stmt, done, hi); err != nil {
					return err
				}
			}
			more = hi < head
		}

		var first, last sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT MIN(n), MAX(n) FROM session_history_queue`).Scan(&first, &last); err != nil {
			return err
		}
		if first.Valid {
			hi := min(last.Int64, first.Int64+indexChunk-1)
			if _, err := q.ExecContext(ctx, `INSERT INTO session_history (user_id, started, id)
				SELECT user_id, started, id FROM session_history_queue WHERE n <= ? ORDER BY user_id, started, id`, hi); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `DELETE FROM session_history_queue WHERE n <= ?`, hi); err != nil {
				return err
			}
			more = more || hi < last.Int64
		}
		return nil
	})
	if errors.Is(err, errClosed) {
		return false, nil
	}
	return more, err
}

// auditSelect returns a query for the audit records that match where
// (conditions on audit's own columns, joined by AND, with args in order),
// ordered by seq (descending if desc), then clause (a LIMIT). With keys, it
// matches only records whose field ("subject" or "action") is one of them,
// and finds them through the field's deferred index and the tail the index
// does not cover yet. A compound SELECT ordered by seq is merged from its
// two parts, each read in order, so a LIMIT stops both early.
func auditSelect(field string, keys []string, where []string, args []any, desc bool, clause string, pageArgs []any) (string, []any) {
	order := " ORDER BY seq"
	if desc {
		order += " DESC"
	}
	if len(keys) == 0 {
		if len(where) == 0 {
			where = []string{"1 = 1"}
		}
		return `SELECT ` + auditCols + ` FROM audit WHERE ` + strings.Join(where, " AND ") + order + clause, append(args, pageArgs...)
	}
	in := "(" + placeholders(len(keys), 0) + ")"
	keyArgs := make([]any, len(keys))
	for i, k := range keys {
		keyArgs[i] = k
	}
	rest := ""
	if len(where) > 0 {
		rest = " AND " + strings.Join(where, " AND ")
	}
	query := `SELECT ` + auditCols + ` FROM audit_by_` + field + ` JOIN audit USING (seq) WHERE val IN ` + in + rest +
		` UNION ALL SELECT ` + auditCols + ` FROM audit WHERE ` + auditTail + ` AND ` + field + ` IN ` + in + rest + order + clause
	all := make([]any, 0, 2*(len(keys)+len(args))+len(pageArgs))
	all = append(all, keyArgs...)
	all = append(all, args...)
	all = append(all, keyArgs...)
	all = append(all, args...)
	return query, append(all, pageArgs...)
}
