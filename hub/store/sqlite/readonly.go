package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
)

// ErrReadOnly is what a write through a ReadOnly, or inside InReadTx,
// returns.
var ErrReadOnly = errors.New("store opened read-only")

// ErrChanged means a database opened without its write-ahead log changed
// while it was read (see OpenReadOnly): what was read may be inconsistent.
var ErrChanged = errors.New("database changed while it was read")

// OlderSchemaError is OpenReadOnly's refusal of a file whose schema is
// older than this build's (errors.Is ErrNeedsMigration): a read-only open
// does not migrate. Its versions let a caller say what to do where it
// knows more, such as whether a hub of an older build is running on it.
type OlderSchemaError struct {
	Version int // the file's
	Want    int // this build's
}

func (e *OlderSchemaError) Error() string {
	return fmt.Sprintf("database schema version %d is older than this build's (%d), and a read-only open does not migrate: start the hub on it once to upgrade it, or use the build that wrote it", e.Version, e.Want)
}

func (e *OlderSchemaError) Unwrap() error { return ErrNeedsMigration }

// readOnlyParams are a ReadOnly's connection parameters: no journal mode,
// foreign keys or synchronous setting, which are the writer's business.
const readOnlyParams = "mode=ro&_busy_timeout=5000&_query_only=on"

// ReadOnly is a database file opened for reading only, for commands that
// inspect a database that may be evidence, or read one beside a running
// hub (audit verify and export, the list commands, the governance
// reports): it runs no migrations, never checkpoints the write-ahead log
// into the file and never writes the file. It is a store.Store whose
// writes, and InTx, fail with ErrReadOnly, so that code written against
// store.Store can read through it.
type ReadOnly struct {
	ops
	path   string
	reader *sql.DB
	// snapshot is the file as it was when opened without a write-ahead
	// log (immutable), nil when the log was there.
	snapshot fs.FileInfo
}

// OpenReadOnly opens the database file at path read-only (SQLite's
// mode=ro). It refuses a file whose schema is not the one this build
// writes: it cannot migrate an older one.
//
// When the file has its write-ahead log (a hub has it open, or stopped
// without closing it), SQLite reads the log too, beside a running hub.
// The log and its index (-shm) must then exist; the index may be rewritten,
// being shared memory, not data. When there is no log, SQLite would
// create an empty log and index next to the file to read it, and leave
// them: the file is then opened as immutable (no locks, no files made),
// which is only right while nothing writes it. Unchanged tells whether
// something did.
func OpenReadOnly(ctx context.Context, path string) (*ReadOnly, error) {
	r, err := openReadOnly(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open store %s read-only: %w", path, err)
	}
	return r, nil
}

func openReadOnly(ctx context.Context, path string) (*ReadOnly, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || strings.HasPrefix(path, ":memory:") {
		return nil, errors.New("path must be a plain file name without '?' or '#'")
	}
	params := readOnlyParams
	var snapshot fs.FileInfo
	if _, err := os.Lstat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		if snapshot, err = os.Stat(path); err != nil {
			return nil, err
		}
		params += "&immutable=1"
	} else if err != nil {
		return nil, err
	}
	// A file: URI, so that SQLite reads mode and immutable; it decodes
	// %HH escapes in the name.
	dsn := "file:" + strings.ReplaceAll(path, "%", "%25") + "?" + params
	cn := newConnector(dsn, readerInit)
	// The reads that compare site names under store.FoldName call it in
	// SQL, as on the hub's readers (see openWith).
	cn.opened = func(c *sqlite3.SQLiteConn) error {
		return c.RegisterFunc(foldNameFunc, foldNameSQL, true)
	}
	reader := sql.OpenDB(cn)
	reader.SetMaxOpenConns(4)
	reader.SetMaxIdleConns(4)
	version, err := schemaVersion(ctx, reader)
	if err != nil {
		reader.Close()
		return nil, err
	}
	if want := len(migrations()); version != want {
		reader.Close()
		switch {
		case version == 0:
			return nil, errors.New("no hub schema in the file (schema version 0)")
		case version < want:
			return nil, &OlderSchemaError{Version: version, Want: want}
		default:
			return nil, fmt.Errorf("database schema version %d is newer than this build supports (%d): upgrade shiftgate", version, want)
		}
	}
	r := &ReadOnly{path: path, reader: reader, snapshot: snapshot}
	r.ops = ops{read: reader, write: func(context.Context, func(querier) error) error {
		return fmt.Errorf("%w: %s", ErrReadOnly, path)
	}}
	return r, nil
}

// Unchanged returns ErrChanged if the file was opened without its
// write-ahead log and a writer has opened it since (the log is there now),
// or the file itself was written: what was read may then be inconsistent,
// and should be read again. It returns nil for a file opened with its log,
// which SQLite reads consistently beside a writer.
func (r *ReadOnly) Unchanged() error {
	if r.snapshot == nil {
		return nil
	}
	if _, err := os.Lstat(r.path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s: a hub opened it meanwhile", ErrChanged, r.path)
	}
	fi, err := os.Stat(r.path)
	if err != nil || !os.SameFile(fi, r.snapshot) || fi.Size() != r.snapshot.Size() || !fi.ModTime().Equal(r.snapshot.ModTime()) {
		return fmt.Errorf("%w: %s was written meanwhile", ErrChanged, r.path)
	}
	return nil
}

// InTx fails with ErrReadOnly without calling fn: a transaction is for
// writing.
func (r *ReadOnly) InTx(context.Context, func(store.Ops) error) error {
	return fmt.Errorf("%w: %s", ErrReadOnly, r.path)
}

// Close closes the connections.
func (r *ReadOnly) Close() error { return r.reader.Close() }

var _ store.Store = (*ReadOnly)(nil)
