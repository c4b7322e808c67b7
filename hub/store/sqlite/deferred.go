package sqlite

import (
	"bytes"
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
	// indexEvery is how often the deferred indexes catch up. Unless the
	// passes wait (below), it bounds what a query reads from the sources
	// unindexed: at 100 logins a second, about 50 audit records.
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

// Passes wait while the writer is busy. A pass holds the writer for a
// few milliseconds, and the writes that queue behind it wait as long: at
// 3,000 logins a second the passes of each tick took about 20 ms, and the
// p99 of a login was 25.2 ms with them, 21.7 ms with none (medians of eight
// runs each). So a tick in which the others began at least
// busyWrites write transactions runs no pass, until the tail not yet
// indexed reaches maxDeferredRows audit records or the passes have waited
// maxDefer. A login storm (a shift change) is indexed after it: with the
// passes waiting, the p99 went from 23.4 to 19.8 ms and the logins from
// 3,711 to 3,885 a second (medians of eight runs each, old and new in
// turn), for the same CPU once the passes have caught up. Queries
// stay exact meanwhile: they read a longer tail (a query by subject that
// matches none of 250,000 records not yet indexed took 22 ms here).
//
// The passes of a tick stop after tickBudget, so that a backlog (after a
// storm, or past a bound during one) drains at no more than a fifth of the
// writer's time rather than all at once: at about 3 ms a pass of 256 rows,
// some 17,000 records a second, more than twice what the busiest storm
// here writes.
const (
	busyWrites      = 64 // in one indexEvery: 256 a second, some 128 logins
	maxDeferredRows = 250_000
	maxDefer        = time.Minute
	tickBudget      = 50 * time.Millisecond
)

// indexDue says whether a tick runs passes. writes is what the others
// began since the last tick, backlog the audit records not yet indexed,
// waited how long passes have been waiting for a busy writer.
func indexDue(writes, backlog int64, waited time.Duration) bool {
	return writes < busyWrites || backlog >= maxDeferredRows || waited >= maxDefer
}

// indexes runs the passes every indexEvery until ctx ends (see indexDue).
func (db *DB) indexes(ctx context.Context) {
	defer close(db.indexed)
	t := time.NewTicker(indexEvery)
	defer t.Stop()
	var (
		seen    = db.writes.Load()
		waiting time.Time // since when passes wait for a busy writer
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if db.held() {
			db.deferred.Add(1)
			seen = db.writes.Load() // the next tick weighs its own writes
			continue
		}
		now := db.writes.Load()
		writes := now - seen
		var waited time.Duration
		if !waiting.IsZero() {
			waited = time.Since(waiting)
		}
		backlog := int64(0)
		if writes >= busyWrites {
			// An error leaves 0: the bounds do not hold the passes back.
			_ = db.reader.QueryRowContext(ctx, `SELECT COALESCE((SELECT MAX(seq) FROM audit), 0) - COALESCE((SELECT done FROM index_marks WHERE name = 'audit'), 0)`).Scan(&backlog)
		}
		if !indexDue(writes, backlog, waited) {
			if waiting.IsZero() {
				waiting = time.Now()
			}
			db.deferred.Add(1)
			seen = now
			continue
		}
		if writes < busyWrites {
			waiting = time.Time{}
		}
		// An error (the store closing, a full disk) is retried on the next
		// tick; until then queries read more of the tail.
		_ = db.catchUp(ctx, tickBudget)
		// The passes' own write transactions are not the others'.
		seen = db.writes.Load()
	}
}

// HoldIndexes keeps the index passes from starting until release is
// called or max has passed, whichever comes first: for work that needs the
// CPU more than the indexes need to be current (the hub holds them while a
// mass revocation's pushes go out and its writes follow). A pass under way
// finishes. Holds may overlap; release may be called more than once.
func (db *DB) HoldIndexes(max time.Duration) (release func()) {
	key := new(time.Time)
	db.holdMu.Lock()
	if db.holds == nil {
		db.holds = make(map[*time.Time]time.Time)
	}
	db.holds[key] = time.Now().Add(max)
	db.holdMu.Unlock()
	return func() {
		db.holdMu.Lock()
		delete(db.holds, key)
		db.holdMu.Unlock()
	}
}

// held reports whether a hold keeps the passes from starting, and forgets
// the holds whose bound has passed.
func (db *DB) held() bool {
	now := time.Now()
	db.holdMu.Lock()
	defer db.holdMu.Unlock()
	for key, until := range db.holds {
		if now.Before(until) {
			return true
		}
		delete(db.holds, key)
	}
	return false
}

// catchUp runs index passes until the deferred indexes cover every row,
// or for at most budget when it is not 0.
func (db *DB) catchUp(ctx context.Context, budget time.Duration) error {
	start := time.Now()
	for {
		more, err := db.indexPass(ctx)
		if err != nil || !more || budget > 0 && time.Since(start) >= budget {
			return err
		}
	}
}

// queueBounds reads the first and last n of session_history_queue. Each
// is a subquery of its own: SQLite answers a lone MIN or MAX of a rowid
// from one end of the table, but MIN and MAX in one SELECT by a scan of
// every row, and while the passes wait for a busy writer the queue holds
// a minute of sessions, which every pass of the catch-up scanned again.
const queueBounds = `SELECT (SELECT MIN(n) FROM session_history_queue), (SELECT MAX(n) FROM session_history_queue)`

// indexPass copies at most indexChunk rows of each source into its
// deferred indexes, in one write transaction, and reports whether rows
// are left. A mark past the newest record, or at a record that is not
// the one indexed there (markMoved), is brought back to what the records
// give instead (see followCut).
func (db *DB) indexPass(ctx context.Context) (more bool, err error) {
	var (
		cut  *auditCut
		mark auditMark // the record at the mark once the pass is done
	)
	err = db.writeTx(ctx, func(q querier) error {
		more, cut, mark = false, nil, auditMark{}
		var done, head int64
		if err := q.QueryRowContext(ctx, `SELECT done FROM index_marks WHERE name = 'audit'`).Scan(&done); err != nil {
			return err
		}
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit`).Scan(&head); err != nil {
			return err
		}
		if done > head {
			cut = &auditCut{done: done, head: head}
		} else if moved, err := db.markMoved(ctx, q, done); err != nil {
			return err
		} else if moved {
			cut = &auditCut{done: done, head: head}
		} else if hi := min(head, done+indexChunk); hi > done {
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
		if cut == nil {
			if mark, err = markRecord(ctx, q); err != nil {
				return err
			}
		}

		var first, last sql.NullInt64
		if err := q.QueryRowContext(ctx, queueBounds).Scan(&first, &last); err != nil {
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
	if err == nil && cut == nil {
		db.markMu.Lock()
		db.mark = mark
		db.markMu.Unlock()
	}
	if err == nil && cut != nil {
		// The records from the new mark on are left to the next passes.
		more, err = true, db.followCut(ctx, *cut)
	}
	if errors.Is(err, errClosed) {
		return false, nil
	}
	return more, err
}

// auditMark is the audit record at the mark of the deferred audit
// indexes, as a pass left it: its seq and hash.
type auditMark struct {
	seq  int64
	hash []byte
}

// markRecord reads, through q, the record at the audit indexes' mark (the
// zero auditMark when the mark is 0 or names no record).
func markRecord(ctx context.Context, q querier) (auditMark, error) {
	var m auditMark
	err := q.QueryRowContext(ctx, `SELECT a.seq, a.hash FROM index_marks m JOIN audit a ON a.seq = m.done WHERE m.name = 'audit'`).Scan(&m.seq, &m.hash)
	if errors.Is(err, sql.ErrNoRows) {
		return auditMark{}, nil
	}
	return m, err
}

// markMoved tells, through q, whether the record at the mark done (at or
// below the newest record) is no longer the one the passes indexed up
// to: records cut off the end of the trail, and as many appended since by
// the hub before a pass saw the mark past the head (the passes run every
// indexEvery and wait up to maxDefer while the writer is busy). The new
// records took the cut ones' seqs, whose entries are still there, and
// the passes index only past the mark. It is so when the record at done
// does not give its two index entries, or is not the one the last pass of
// this process left there (its hash; a hub started on the file has only
// the entries to go by). No record at done is a gap in the trail, not a
// cut (the records after a cut take the cut ones' seqs in order): the
// chain's verifiers report it, and followCut would find nothing to put
// right, at every pass. Point reads only: every pass asks.
func (db *DB) markMoved(ctx context.Context, q querier, done int64) (bool, error) {
	if done <= 0 {
		return false, nil
	}
	var (
		hash  []byte
		given bool
	)
	err := q.QueryRowContext(ctx, `SELECT a.hash,
		EXISTS (SELECT 1 FROM audit_by_subject i WHERE i.val = a.subject AND i.seq = a.seq)
		AND EXISTS (SELECT 1 FROM audit_by_action i WHERE i.val = a.action AND i.seq = a.seq)
		FROM audit a WHERE a.seq = ?`, done).Scan(&hash, &given)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	db.markMu.Lock()
	last := db.mark
	db.markMu.Unlock()
	return !given || last.seq == done && !bytes.Equal(last.hash, hash), nil
}

// auditCut is what an index pass found: the mark past the newest record,
// or at a replaced one (done, head), and what followCut made of it: the
// mark it set (to) and how many index entries it dropped.
type auditCut struct {
	done, head, to, dropped int64
}

// followCut brings the deferred audit indexes back to the records after a
// pass found their mark (cut.done) past the newest record (cut.head), or
// at a record that replaced the one indexed there (markMoved: the hub
// wrote as many records as were cut before the pass): records were cut
// off the end of the trail (deleted in hub.db, or the file replaced under
// the hub). A pass indexes only the records past the
// mark, so left there it kept every record written from then on, up to
// the mark, out of every search by subject or action, the audit watch's
// own alert on the cut among them. The records written after the cut take
// the cut ones' seqs, which the cut ones' entries still name: searches by
// an old subject would show the new records, and a new record of the same
// subject at the same seq would collide with the old entry's key and stop
// the passes. So the entries go not only past the head but from the first
// one the records do not give, or the first record that lacks its entry,
// whichever comes first (records may have been written between the cut
// and the pass); the mark goes to just below it, and the passes index the
// records past it again. Index entries removed or changed by hand below
// the cut are so put right as well; the warning logged says where the
// mark went.
//
// Finding that first bad entry reads both indexes and the records whole:
// 0.6 to 1.2 s on 100,000 records here. A snapshot of a reader does it,
// so that no write waits for it; the write transaction that follows (the
// two deletes read both indexes whole too, 30 to 45 ms) takes its answer
// only if the mark is still where this pass found it (only followCut
// lowers it, and no pass indexes records while it is past the head) and
// the records up to the new mark are still there (they are only appended
// to, short of another cut, which the next pass finds). Records appended
// meanwhile are past the snapshot's head, so past the new mark, and their
// entries, if any, go with the rest.
func (db *DB) followCut(ctx context.Context, cut auditCut) error {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a read: nothing to undo
	var (
		done, head       int64
		mark, kind, seq  sql.NullInt64
		idx, val, actual sql.NullString
	)
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT done FROM index_marks WHERE name = 'audit'), (SELECT COALESCE(MAX(seq), 0) FROM audit)`).Scan(&done, &head); err != nil {
		return err
	}
	if done != cut.done {
		return nil // moved since: the next pass looks again
	}
	cut.to = min(done, head)
	err = tx.QueryRowContext(ctx, firstBadAuditIndexEntry).Scan(&mark, &kind, &idx, &val, &seq, &actual)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		cut.to = max(min(seq.Int64-1, cut.to), 0)
	}
	if err := tx.Rollback(); err != nil {
		return err
	}
	if db.midCut != nil {
		db.midCut()
	}

	applied := false
	err = db.writeTx(ctx, func(q querier) error {
		applied, cut.dropped = false, 0
		if err := q.QueryRowContext(ctx, `SELECT done FROM index_marks WHERE name = 'audit'`).Scan(&done); err != nil {
			return err
		}
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit`).Scan(&head); err != nil {
			return err
		}
		if done != cut.done || head < cut.to {
			return nil // the next pass looks again
		}
		for _, table := range [...]string{"audit_by_subject", "audit_by_action"} {
			res, err := q.ExecContext(ctx, `DELETE FROM `+table+` WHERE seq > ?`, cut.to)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			cut.dropped += n
		}
		_, err := q.ExecContext(ctx, `UPDATE index_marks SET done = ? WHERE name = 'audit'`, cut.to)
		applied = err == nil
		return err
	})
	if err != nil || !applied {
		return err
	}
	// The record at the new mark is read again by the next pass.
	db.markMu.Lock()
	db.mark = auditMark{}
	db.markMu.Unlock()
	db.log.Warn("audit search indexes: their mark was past the newest record, or the record at it was replaced, so records were cut off the end of the trail (deleted in hub.db, or the database file replaced); dropped their entries past new_mark, and the records after it are indexed again. audit verify and the audit watch report the cut itself",
		"mark", cut.done, "head", cut.head, "new_mark", cut.to, "dropped_entries", cut.dropped)
	return nil
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
