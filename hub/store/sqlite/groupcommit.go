package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Group commit. Every write transaction of the process runs on the one
// writer connection, one after another, and most of what a small
// transaction costs is its commit: SQLite appends every page the
// transaction changed to the log, with a checksum over each, and the
// pages of the tables' and indexes' busy ends are the same from one
// transaction to the next. Under load (64 kiosks signing in: a credential
// counter, a session row with four indexes and an audit record each), the
// commits took a third of the hub's CPU.
//
// So writes queue for one goroutine, the committer, which lets whatever
// is queued when it is free run in one SQLite transaction, one after the
// other and each inside a savepoint of its own, and commits once. A write that
// fails rolls back to its savepoint only and returns its error at once;
// the others commit together. Every caller still returns only after its
// own writes are durable in the log as far as synchronous=NORMAL makes
// them (or have failed), so what a caller sees is unchanged: its
// transaction is atomic, and it sees the writes of everyone before it.
// The difference is that a failed COMMIT fails every write of the batch,
// and that a write's latency includes the other writes of its batch,
// which maxBatch and maxBatchTime bound. When writes arrive one at a
// time, every batch holds one.
const (
	maxBatch     = 64
	maxBatchTime = 2 * time.Millisecond
)

// errClosed is returned by writes after Close.
var errClosed = errors.New("store is closed")

// writeReq is one write transaction queued for the committer. The
// committer gives the caller its turn on the batch's transaction; the
// caller runs fn in its own goroutine (so a panic keeps its stack) and
// reports how it went; after the commit the committer answers done.
type writeReq struct {
	ctx  context.Context
	turn chan turn  // committer → caller
	ran  chan ran   // caller → committer
	done chan error // committer → caller, once the batch is committed
}

type turn struct {
	tx  *sql.Tx
	err error // the write may not run: answer with err
	// alone: the write is the first of its batch and runs without a
	// savepoint; if it fails, the committer rolls the transaction back.
	alone bool
}

type ran struct {
	ok     bool  // fn succeeded (and its savepoint was released): await done
	broken error // the transaction can no longer be used
}

// errAlone is how the first write of a batch reports its failure: it has
// no savepoint, so the transaction is rolled back (it holds nothing else).
var errAlone = errors.New("first write of the batch failed")

// writeTx runs fn in a write transaction (a savepoint of a batch; see
// above). If fn returns an error, its writes are undone and the error is
// returned unchanged. If fn panics, its writes are undone and the panic
// continues.
//
// fn's statements ignore their context (see detached): once fn has
// started it runs to its end. A ctx that ends before fn starts cancels
// the write.
func (db *DB) writeTx(ctx context.Context, fn func(q querier) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	r := &writeReq{ctx: ctx, turn: make(chan turn, 1), ran: make(chan ran, 1), done: make(chan error, 1)}
	select {
	case db.writes <- r:
	case <-ctx.Done():
		return fmt.Errorf("begin transaction: %w", ctx.Err())
	case <-db.closing:
		return errClosed
	}
	// Once queued, the write gets its turn or an answer whatever ctx
	// does from then on.
	t := <-r.turn
	if t.err != nil {
		return t.err
	}
	ok, err := runSavepoint(t.tx, !t.alone, fn, r.ran)
	if !ok {
		return err
	}
	return <-r.done
}

// runSavepoint runs fn on tx, inside a savepoint when sp is set, and
// reports the outcome on ran, also when fn panics (the panic then
// continues). Without a savepoint, a failure reports errAlone and the
// committer rolls the transaction back.
func runSavepoint(tx *sql.Tx, sp bool, fn func(q querier) error, report chan<- ran) (ok bool, err error) {
	bg := context.Background()
	if sp {
		if _, err := tx.ExecContext(bg, "SAVEPOINT w"); err != nil {
			report <- ran{broken: err}
			return false, fmt.Errorf("begin transaction: %w", err)
		}
	}
	undoFn := func() error {
		if !sp {
			return errAlone
		}
		return undo(tx)
	}
	finished := false
	defer func() {
		if finished {
			return
		}
		// fn panicked: undo its writes, let the batch go on, and let
		// the panic continue.
		report <- ran{broken: undoFn()}
	}()
	err = fn(detached{tx})
	finished = true
	if err != nil {
		report <- ran{broken: undoFn()}
		return false, err
	}
	if sp {
		if _, err := tx.ExecContext(bg, "RELEASE w"); err != nil {
			report <- ran{broken: err}
			return false, fmt.Errorf("commit: %w", err)
		}
	}
	report <- ran{ok: true}
	return true, nil
}

// undo rolls the savepoint back; an error means the transaction is gone.
func undo(tx *sql.Tx) error {
	bg := context.Background()
	if _, err := tx.ExecContext(bg, "ROLLBACK TO w"); err != nil {
		return err
	}
	_, err := tx.ExecContext(bg, "RELEASE w")
	return err
}

// commits is the committer goroutine; it returns when closing closes,
// after answering every write already queued.
func (db *DB) commits() {
	defer close(db.committed)
	for {
		select {
		case r := <-db.writes:
			db.batch(r)
		case <-db.closing:
			for {
				select {
				case r := <-db.writes:
					db.batch(r)
				default:
					return
				}
			}
		}
	}
}

// batch gives first and whatever else is queued, up to maxBatch writes or
// maxBatchTime, their turns on one transaction and commits it.
func (db *DB) batch(first *writeReq) {
	start := time.Now()
	tx, err := db.writer.BeginTx(context.Background(), nil)
	if err != nil {
		first.turn <- turn{err: fmt.Errorf("begin transaction: %w", err)}
		return
	}
	var pending []*writeReq // succeeded, await the commit
	r := first
	for n := 1; ; n++ {
		if err := r.ctx.Err(); err != nil {
			r.turn <- turn{err: fmt.Errorf("begin transaction: %w", err)}
		} else {
			r.turn <- turn{tx: tx, alone: len(pending) == 0}
			out := <-r.ran
			if out.ok {
				pending = append(pending, r)
			}
			if errors.Is(out.broken, errAlone) {
				// Nothing else ran in it: roll back, and let the next
				// write begin a batch of its own.
				_ = tx.Rollback()
				return
			}
			if out.broken != nil {
				// SQLite rolls back the whole transaction on some
				// errors: the batch's earlier writes are lost.
				_ = tx.Rollback()
				fail(pending, fmt.Errorf("transaction rolled back: %w", out.broken))
				return
			}
		}
		if n == db.maxBatch || time.Since(start) >= db.maxBatchTime {
			break
		}
		select {
		case r = <-db.writes:
			continue
		default:
		}
		break
	}
	if len(pending) == 0 {
		_ = tx.Rollback()
		return
	}
	db.commitCount.Add(1)
	if err := tx.Commit(); err != nil {
		fail(pending, fmt.Errorf("commit: %w", err))
		return
	}
	for _, p := range pending {
		p.done <- nil
	}
}

func fail(rs []*writeReq, err error) {
	for _, r := range rs {
		r.done <- err
	}
}

// detached runs the statements of a write without the caller's context: a
// cancelled statement would interrupt the connection, and SQLite then
// rolls back the whole transaction, other callers' writes included. (It
// also spares each statement the goroutine that watches a context.)
type detached struct{ tx *sql.Tx }

func (d detached) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	return d.tx.ExecContext(context.Background(), query, args...)
}

func (d detached) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.tx.QueryContext(context.Background(), query, args...)
}

func (d detached) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	return d.tx.QueryRowContext(context.Background(), query, args...)
}
