package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

// auditIndexesAgree tells, in one statement and so one snapshot beside
// the index passes, the mark of what the deferred audit indexes cover, the
// newest record, and whether each index holds exactly what indexPass
// derives from the records: the (subject, seq) and (action, seq) of every
// record from 1 to the mark. An index holds nothing else when every entry
// names a record in that range with that subject (or action), and then,
// being keyed by (val, seq), at most one entry per record: so it lacks
// none when it holds as many entries as there are records in the range.
// That is one anti-join an index, entries looked up in audit by seq, and
// counts; naming the first bad entry (firstBadAuditIndexEntry) takes the
// other direction too, and is run only when they disagree.
const auditIndexesAgree = `
WITH mark(done) AS (SELECT done FROM index_marks WHERE name = 'audit')
SELECT (SELECT done FROM mark), (SELECT COALESCE(MAX(seq), 0) FROM audit),
	(SELECT COUNT(*) FROM audit WHERE seq >= 1 AND seq <= (SELECT done FROM mark)),
	(SELECT COUNT(*) FROM audit_by_subject), (SELECT COUNT(*) FROM audit_by_action),
	EXISTS (SELECT 1 FROM audit_by_subject i WHERE NOT EXISTS (SELECT 1 FROM audit a
		WHERE a.seq = i.seq AND a.subject = i.val AND a.seq >= 1 AND a.seq <= (SELECT done FROM mark))),
	EXISTS (SELECT 1 FROM audit_by_action i WHERE NOT EXISTS (SELECT 1 FROM audit a
		WHERE a.seq = i.seq AND a.action = i.val AND a.seq >= 1 AND a.seq <= (SELECT done FROM mark)))`

// firstBadAuditIndexEntry finds, in one statement, the first entry (by
// record) that the deferred audit indexes hold and the records up to the
// mark do not give, or that the records give and the indexes lack: an
// anti-join each way for each index. kind 0 is an entry missing from the
// index, 1 one the index holds in excess; actual is, for the latter, the
// subject or action of the record it names (NULL: there is none).
const firstBadAuditIndexEntry = `
WITH mark(done) AS (SELECT done FROM index_marks WHERE name = 'audit')
SELECT (SELECT done FROM mark), kind, idx, val, seq, actual FROM (
	SELECT 0 AS kind, 'audit_by_subject' AS idx, a.subject AS val, a.seq AS seq, NULL AS actual
	FROM audit a WHERE a.seq >= 1 AND a.seq <= (SELECT done FROM mark)
	AND NOT EXISTS (SELECT 1 FROM audit_by_subject i WHERE i.val = a.subject AND i.seq = a.seq)
	UNION ALL
	SELECT 0, 'audit_by_action', a.action, a.seq, NULL
	FROM audit a WHERE a.seq >= 1 AND a.seq <= (SELECT done FROM mark)
	AND NOT EXISTS (SELECT 1 FROM audit_by_action i WHERE i.val = a.action AND i.seq = a.seq)
	UNION ALL
	SELECT 1, 'audit_by_subject', i.val, i.seq, (SELECT a.subject FROM audit a WHERE a.seq = i.seq)
	FROM audit_by_subject i
	WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.seq = i.seq AND a.subject = i.val
		AND a.seq >= 1 AND a.seq <= (SELECT done FROM mark))
	UNION ALL
	SELECT 1, 'audit_by_action', i.val, i.seq, (SELECT a.action FROM audit a WHERE a.seq = i.seq)
	FROM audit_by_action i
	WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.seq = i.seq AND a.action = i.val
		AND a.seq >= 1 AND a.seq <= (SELECT done FROM mark))
	ORDER BY seq, kind, idx LIMIT 1
)`

// CheckAuditIndexes checks the deferred audit indexes (audit_by_subject,
// audit_by_action, and their mark in index_marks) against the records. The
// hash chain covers only the audit table: whoever can write hub.db can
// delete a user's entries, and their records vanish from searches by that
// user (the console's audit trail of a user, the audit page's filter), or
// add one that shows another user's record under them, and audit verify
// still found the chain intact. A mark above the newest record leaves the
// records written up to it out of every search by subject or action; a
// missing one shows every indexed record twice and stops the index passes.
// It looks every index entry up in the records once (auditIndexesAgree):
// on 100,000 records, 0.3 to 0.4 s here, on two cores shared with other
// work, where Verify's walk of the same trail took 0.9 to 2 s.
func (o ops) CheckAuditIndexes(ctx context.Context) error {
	var (
		done                     sql.NullInt64
		head, want, subj, action int64
		extraSubj, extraAction   bool
	)
	if err := o.read.QueryRowContext(ctx, auditIndexesAgree).Scan(&done, &head, &want, &subj, &action, &extraSubj, &extraAction); err != nil {
		return fmt.Errorf("check audit indexes: %w", unavailable(err))
	}
	switch {
	case !done.Valid:
		return &store.AuditIndexError{Index: "index_marks", Reason: "there is no mark of the records the audit indexes cover ('audit'): searches by subject or action show every indexed record twice, and the index passes stop"}
	case done.Int64 > head:
		return &store.AuditIndexError{Index: "index_marks", Reason: fmt.Sprintf("the mark says the records up to %d are indexed, but the newest record is %d: records %d to %d will be left out of every search by subject or action as they are written", done.Int64, head, head+1, done.Int64)}
	case !extraSubj && !extraAction && subj == want && action == want:
		return nil
	}
	// Another snapshot: the passes may have indexed more since, but add
	// only entries past the mark, and move it only up.
	var (
		kind, seq sql.NullInt64
		idx, val  sql.NullString
		actual    sql.NullString
	)
	err := o.read.QueryRowContext(ctx, firstBadAuditIndexEntry).Scan(&done, &kind, &idx, &val, &seq, &actual)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Put right meanwhile: say what was found.
		return &store.AuditIndexError{Index: "audit_by_subject, audit_by_action", Reason: fmt.Sprintf("they held %d and %d entries for the %d records up to the mark", subj, action, want)}
	case err != nil:
		return fmt.Errorf("check audit indexes: %w", unavailable(err))
	}
	e := &store.AuditIndexError{Index: idx.String, Val: val.String, Seq: seq.Int64}
	field := "subject"
	if e.Index == "audit_by_action" {
		field = "action"
	}
	switch {
	case kind.Int64 == 0:
		e.Reason = fmt.Sprintf("lacks (%q, %d): record %d does not show in searches for %s %q", e.Val, e.Seq, e.Seq, field, e.Val)
	case !actual.Valid:
		e.Reason = fmt.Sprintf("holds (%q, %d), but there is no record %d", e.Val, e.Seq, e.Seq)
	case actual.String != e.Val:
		e.Reason = fmt.Sprintf("holds (%q, %d), but record %d's %s is %q: searches for %s %q show it", e.Val, e.Seq, e.Seq, field, actual.String, field, e.Val)
	default:
		// The record gives this entry, but is past the mark: not indexed
		// yet, and read from the records too.
		e.Reason = fmt.Sprintf("holds (%q, %d), but the mark says only records up to %d are indexed: searches show record %d twice, and the index pass that reaches it stops there", e.Val, e.Seq, done.Int64, e.Seq)
	}
	return e
}
