package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

// InReadTx runs fn in one read transaction on a reader connection. In WAL
// mode SQLite gives a read transaction the database as it was at its first
// statement and keeps it until the transaction ends, while the writer goes
// on committing: fn's reads agree with each other, and no write waits for
// them. A write through the Ops given to fn fails with ErrReadOnly.
//
// The transaction holds its place in the write-ahead log until fn
// returns, and a checkpoint cannot copy past it meanwhile; fn should be
// as short as the reads it makes.
func (db *DB) InReadTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return readTx(ctx, db.reader, db.path, fn)
}

// InReadTx runs fn in one read transaction, as DB's does: with the
// write-ahead log, it reads one snapshot beside a running hub; a file
// opened without it is immutable (see Unchanged).
func (r *ReadOnly) InReadTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return readTx(ctx, r.reader, r.path, fn)
}

func readTx(ctx context.Context, pool *sql.DB, path string, fn func(tx store.Ops) error) error {
	// BEGIN and COMMIT of a read are marked as its reads are (see
	// unavailable); fn's error is returned unchanged, as the contract
	// says: the reads it made through tx have marked theirs.
	tx, err := pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return unavailable(fmt.Errorf("begin read: %w", err))
	}
	defer tx.Rollback() //nolint:errcheck // a read: nothing to undo; a no-op after Commit
	err = fn(ops{read: tx, write: func(context.Context, func(querier) error) error {
		return fmt.Errorf("%w: %s: a write inside a read transaction", ErrReadOnly, path)
	}})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(fmt.Errorf("end read: %w", err))
	}
	return nil
}
