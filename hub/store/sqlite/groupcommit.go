package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
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
// So a write that finds no transaction running becomes the leader: it
// begins a transaction, runs its own writes, then gives the writes that
// queued meanwhile their turns on the same transaction, one after the
// other and each inside a savepoint of its own, and commits once. A write
// that fails rolls back to its savepoint only and returns its error at
// once; the others commit together. Every caller still returns only after
// its own writes are durable in the log as far as synchronous=NORMAL makes
// them (or have failed), so what a caller sees is unchanged: its
// transaction is atomic, and it sees the writes of everyone before it.
// The differences: a failed COMMIT fails every write of the batch, and a
// write's latency includes the other writes of its batch, which maxBatch
// and maxBatchTime bound. When writes arrive one at a time, each runs and
// commits in its caller's goroutine with no hand-over at all (an earlier
// version handed every write to a committer goroutine: the wake-ups cost
// more than the batching saved when there was no queue).
//
// Each write runs in its caller's goroutine, so a panic keeps its stack.
const (
	maxBatch     = 64
	maxBatchTime = 2 * time.Millisecond
)

// errClosed is returned by writes after Close.
var errClosed = errors.New("store is closed")

// writers is the group commit's state, guarded by mu.
type writers struct {
	mu      sync.Mutex
	idle    sync.Cond // signalled when leading turns false
	leading bool      // a leader is running a batch
	queue   []*writeReq
	closed  bool
}

// writeReq is a write waiting for its turn in a leader's batch.
type writeReq struct {
	ctx  context.Context
	turn chan turn  // leader → writer
	ran  chan ran   // writer → leader
	done chan error // leader → writer, once the batch is committed
}

type turn struct {
	tx   *sql.Tx
	conn *sqlite3.SQLiteConn // the writer's (see detached)
	err  error               // the write may not run: return err
	lead bool                // no tx: the writer leads the next batch itself
}

type ran struct {
	ok     bool  // fn succeeded and its savepoint was released: await done
	broken error // the transaction can no longer be used
	cause  error // with broken: fn's error, which may say why SQLite rolled it back
}

// writeTx runs fn in a write transaction (its own, or a savepoint of a
// batch; see above). If fn returns an error, its writes are undone and
// the error is returned unchanged. If fn panics, its writes are undone and
// the panic continues.
//
// fn's statements ignore their context (see detached): once fn has
// started it runs to its end. A ctx that ends while the write waits for
// its turn cancels it.
//
// Every write passes here, so this is where a lock held by another
// process (at BEGIN IMMEDIATE) and a full disk (in fn, in another write
// of its batch, or at COMMIT) become store.ErrBusy and store.ErrFull (see
// unavailable).
func (db *DB) writeTx(ctx context.Context, fn func(q querier) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	db.writes.Add(1)
	w := &db.w
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	if !w.leading {
		w.leading = true
		w.mu.Unlock()
		return unavailable(db.lead(fn))
	}
	r := &writeReq{ctx: ctx, turn: make(chan turn, 1), ran: make(chan ran, 1), done: make(chan error, 1)}
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	return unavailable(db.await(r, fn))
}

// await waits for a queued write's turn and runs fn in it. A write whose
// ctx ended before it could start does not run, also when leadership was
// handed to it meanwhile: it passes leadership on.
func (db *DB) await(r *writeReq, fn func(q querier) error) error {
	w := &db.w
	ctx := r.ctx
	var t turn
	select {
	case t = <-r.turn:
	case <-ctx.Done():
		w.mu.Lock()
		if i := slices.Index(w.queue, r); i >= 0 {
			w.queue = slices.Delete(w.queue, i, i+1)
			w.mu.Unlock()
			return fmt.Errorf("begin transaction: %w", ctx.Err())
		}
		w.mu.Unlock()
		t = <-r.turn // taken off the queue already: the turn is on its way
	}
	switch {
	case t.lead:
		if err := ctx.Err(); err != nil {
			// Handed leadership as ctx ended: a caller that has given up
			// must not find its write done.
			db.handOff()
			return fmt.Errorf("begin transaction: %w", err)
		}
		return db.lead(fn)
	case t.err != nil:
		return t.err
	}
	ok, err := runSavepoint(t.tx, t.conn, fn, r.ran)
	if !ok {
		return err
	}
	return <-r.done
}

// lead runs fn and then the queued writes in one transaction and commits
// it; it returns fn's outcome. Leadership passes on (or ends) when it
// returns, a panic of fn included.
func (db *DB) lead(fn func(q querier) error) (err error) {
	defer db.handOff()
	start := time.Now()
	tx, err := db.writer.BeginTx(context.Background(), nil)
	if err != nil {
		err = unavailable(fmt.Errorf("begin transaction: %w", err))
		if errors.Is(err, store.ErrBusy) {
			// Another process held the write lock for the whole busy
			// timeout. The writes queued meanwhile waited for the same
			// lock: they fail with this one's error, instead of each
			// waiting a busy timeout of its own in turn (a client's
			// write behind three others answered after 20 s, not 5).
			for r := db.next(); r != nil; r = db.next() {
				r.turn <- turn{err: err}
			}
		}
		return err
	}
	finished := false
	defer func() {
		if !finished {
			_ = tx.Rollback() // fn failed or panicked; nothing else ran
		}
	}()
	// The leader's write needs no savepoint: it is the first.
	if err := fn(detached{tx, db.writerConn.Load()}); err != nil {
		return err
	}
	var pending []*writeReq // succeeded, await the commit
	for n := 1; n < db.maxBatch && time.Since(start) < db.maxBatchTime; n++ {
		r := db.next()
		if r == nil {
			break
		}
		if err := r.ctx.Err(); err != nil {
			r.turn <- turn{err: fmt.Errorf("begin transaction: %w", err)}
			continue
		}
		if (detached{tx, db.writerConn.Load()}).lost() {
			// The leader's write went on after its transaction was gone
			// (see detached) without returning the error.
			err := fmt.Errorf("transaction rolled back: %w", errTxLost)
			r.turn <- turn{err: err}
			fail(pending, err)
			return err
		}
		r.turn <- turn{tx: tx, conn: db.writerConn.Load()}
		out := <-r.ran
		if out.ok {
			pending = append(pending, r)
		}
		if out.broken != nil {
			// SQLite rolls back the whole transaction on some errors:
			// the batch's writes are lost, the leader's included.
			err := fmt.Errorf("transaction rolled back: %w", out.broken)
			if full := unavailable(out.cause); errors.Is(full, store.ErrFull) {
				// The disk filled in that write: the others are lost
				// for want of space too, and are answered as such
				// (507), not as a bug. out.broken only says that the
				// savepoint is gone ("no such savepoint").
				err = fmt.Errorf("transaction rolled back: %w", full)
			}
			fail(pending, err)
			return err
		}
	}
	finished = true
	db.commitCount.Add(1)
	if err := tx.Commit(); err != nil {
		err = fmt.Errorf("commit: %w", err)
		fail(pending, err)
		return err
	}
	for _, p := range pending {
		p.done <- nil
	}
	return nil
}

// next takes the first queued write, or nil.
func (db *DB) next() *writeReq {
	w := &db.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return nil
	}
	r := w.queue[0]
	w.queue = slices.Delete(w.queue, 0, 1)
	return r
}

// handOff ends a leader's turn: the first queued write leads the next
// batch, or nobody leads.
func (db *DB) handOff() {
	w := &db.w
	w.mu.Lock()
	if len(w.queue) > 0 {
		r := w.queue[0]
		w.queue = slices.Delete(w.queue, 0, 1)
		w.mu.Unlock()
		r.turn <- turn{lead: true}
		return
	}
	w.leading = false
	w.idle.Broadcast()
	w.mu.Unlock()
}

// closeWrites refuses new writes and waits for the running batches,
// queued writes included, to finish.
func (db *DB) closeWrites() {
	w := &db.w
	w.mu.Lock()
	w.closed = true
	for w.leading {
		w.idle.Wait()
	}
	w.mu.Unlock()
}

func fail(rs []*writeReq, err error) {
	for _, r := range rs {
		r.done <- err
	}
}

// runSavepoint runs fn inside a savepoint of tx and reports the outcome on
// ran, also when fn panics (the panic then continues).
func runSavepoint(tx *sql.Tx, conn *sqlite3.SQLiteConn, fn func(q querier) error, report chan<- ran) (ok bool, err error) {
	bg := context.Background()
	if _, err := tx.ExecContext(bg, "SAVEPOINT w"); err != nil {
		report <- ran{broken: err}
		return false, fmt.Errorf("begin transaction: %w", err)
	}
	finished := false
	defer func() {
		if !finished {
			// fn panicked: undo its writes, let the batch go on, and
			// let the panic continue.
			report <- ran{broken: undo(tx)}
		}
	}()
	err = fn(detached{tx, conn})
	finished = true
	if err != nil {
		report <- ran{broken: undo(tx), cause: err}
		return false, err
	}
	if _, err := tx.ExecContext(bg, "RELEASE w"); err != nil {
		report <- ran{broken: err}
		return false, fmt.Errorf("commit: %w", err)
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

// detached runs the statements of a write without the caller's context: a
// cancelled statement would interrupt the connection, and SQLite then
// rolls back the whole transaction, other callers' writes included. (It
// also spares each statement the goroutine that watches a context.)
//
// It also refuses every statement once the transaction is gone. Some
// errors make SQLite roll the whole transaction back by itself (a full
// disk, an I/O error, a conflict clause OR ROLLBACK); a write that went
// on after one, having taken the error for one it could handle, would
// run its next statements in autocommit mode, each committed at once on
// its own, and the batch's COMMIT would then fail with some of them kept.
// conn is the writer's connection, which SQLite asks.
type detached struct {
	tx   *sql.Tx
	conn *sqlite3.SQLiteConn
}

// errTxLost is what Exec and Query get once the transaction is gone. A
// QueryRow's Scan gets an error with its text instead (an *sql.Row cannot
// carry a Go error; see txLostFunc), which errors.Is does not match.
var errTxLost = errors.New("the write transaction was rolled back by an earlier error; nothing more runs in it")

// txLostFunc is an SQL function that fails with errTxLost, for the
// statements that can only report an error when scanned (QueryRow).
const txLostFunc = "shiftgate_transaction_lost"

// lost reports whether the transaction is gone: the connection is back
// in autocommit mode.
func (d detached) lost() bool { return d.conn != nil && d.conn.AutoCommit() }

func (d detached) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if d.lost() {
		return nil, errTxLost
	}
	return d.tx.ExecContext(context.Background(), query, args...)
}

func (d detached) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	if d.lost() {
		return nil, errTxLost
	}
	return d.tx.QueryContext(context.Background(), query, args...)
}

func (d detached) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	if d.lost() {
		return d.tx.QueryRowContext(context.Background(), "SELECT "+txLostFunc+"()")
	}
	return d.tx.QueryRowContext(context.Background(), query, args...)
}
