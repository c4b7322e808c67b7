package sqlite

import (
	"context"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

// Rebuilding the deferred audit indexes, for `shiftgate-hub audit
// reindex`: ResetAuditIndexes empties them and sets their mark to 0, then
// FillAuditIndexes indexes the records past the mark a chunk at a time,
// each chunk one transaction that moves the mark with its entries. Every
// state in between is one the hub's own index passes leave (the indexes
// exact up to the mark, the records past it read from the table), so a
// rebuild killed part-way is simply continued by the hub's passes or by
// running the command again, and searches stay exact meanwhile.

// ResetAuditIndexes empties the deferred audit indexes (audit_by_subject,
// audit_by_action) and sets their mark in index_marks to 0, making it if
// it is missing, in one write transaction, in which fn runs too: the
// audit record of the rebuild is sealed with the reset or not at all. An
// error from fn undoes the reset.
func (db *DB) ResetAuditIndexes(ctx context.Context, fn func(tx store.Ops) error) error {
	err := db.writeTx(ctx, func(q querier) error {
		for _, stmt := range [...]string{
			`DELETE FROM audit_by_subject`,
			`DELETE FROM audit_by_action`,
			`INSERT OR REPLACE INTO index_marks (name, done) VALUES ('audit', 0)`,
		} {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return fn(ops{read: q, write: func(_ context.Context, fn func(querier) error) error {
			return fn(q)
		}})
	})
	if err != nil {
		return fmt.Errorf("reset audit indexes: %w", err)
	}
	// The record the passes last left at the mark is no longer there
	// (see markMoved): the next pass reads the mark afresh.
	db.markMu.Lock()
	db.mark = auditMark{}
	db.markMu.Unlock()
	return nil
}

// FillAuditIndexes indexes, in one write transaction, at most n of the
// audit records past the deferred audit indexes' mark, as an index pass
// does, and moves the mark past them; it returns the mark and the newest
// record as that transaction left them (done == head: every record is
// indexed). A mark past the newest record is left for the index passes
// to bring back (followCut) and the check to report: nothing is indexed.
// Unlike a pass it takes far more than indexChunk records at once: it is
// for a command run with no hub on the file, whose writes nothing waits
// for.
func (db *DB) FillAuditIndexes(ctx context.Context, n int64) (done, head int64, err error) {
	if n <= 0 {
		return 0, 0, fmt.Errorf("fill audit indexes: %d records a chunk: want 1 or more", n)
	}
	var mark auditMark
	err = db.writeTx(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT done FROM index_marks WHERE name = 'audit'`).Scan(&done); err != nil {
			return err
		}
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit`).Scan(&head); err != nil {
			return err
		}
		if hi := min(head, done+n); hi > done {
			// As indexPass fills them: sorted by key, so that each leaf
			// is written once for all its new entries.
			for _, stmt := range [...]string{
				`INSERT INTO audit_by_subject (val, seq) SELECT subject, seq FROM audit WHERE seq > ?1 AND seq <= ?2 ORDER BY subject, seq`,
				`INSERT INTO audit_by_action (val, seq) SELECT action, seq FROM audit WHERE seq > ?1 AND seq <= ?2 ORDER BY action, seq`,
				`UPDATE index_marks SET done = ?2 WHERE name = 'audit'`,
			} {
				if _, err := q.ExecContext(ctx, stmt, done, hi); err != nil {
					return err
				}
			}
			done = hi
		}
		var err error
		mark, err = markRecord(ctx, q)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("fill audit indexes: %w", err)
	}
	if done <= head {
		db.markMu.Lock()
		db.mark = mark
		db.markMu.Unlock()
	}
	return done, head, nil
}
