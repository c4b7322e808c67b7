// Package sqlite is the hub's default storage backend: one SQLite file in
// WAL mode, behind the store.Store contract.
//
// A DB holds two connection pools on the same file. The writer pool has
// exactly one connection and begins every transaction with BEGIN IMMEDIATE;
// concurrent writes queue for it and are committed in groups (see
// groupcommit.go) instead of failing with SQLITE_BUSY. The reader pool has
// several query-only connections and serves reads made outside a
// transaction; WAL lets them run while a write is in progress. Every method
// is written once against the small querier interface, which both pools'
// transactions and *sql.DB satisfy; see ops.
//
// Times are stored as INTEGER Unix nanoseconds (0 is the zero time) and come
// back in UTC with full nanosecond precision. That covers the years 1678 to
// 2262; a time outside that range is refused rather than silently wrapped.
// The Unix epoch itself cannot be told apart from the zero time.
//
// The schema is created and upgraded on Open by the ordered migrations in
// migrate.go; a file written by a newer build is refused, and so is an
// older one by OpenWith with Options.NoUpgrade.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
)

var _ store.Store = (*DB)(nil)

// DB is a store.Store on one SQLite file. It is safe for concurrent use.
type DB struct {
	ops
	path   string
	writer *sql.DB // one connection; every write and every InTx
	reader *sql.DB // query-only connections for reads outside a transaction
	// writerConn is the writer's connection, to ask SQLite whether a
	// transaction is still open (see detached).
	writerConn *atomic.Pointer[sqlite3.SQLiteConn]
	// checkpointer copies the write-ahead log into the database file in
	// the background, so that the writer never stops for it.
	checkpointer *sql.DB
	// file is the database file, open for fsync only (see checkpoints).
	// It stays open until Close: closing any descriptor of the file would
	// drop the POSIX locks SQLite holds on it.
	file         *os.File
	stop         context.CancelFunc
	done         chan struct{} // closed when the checkpoints stop
	indexed      chan struct{} // closed when the deferred indexes stop
	w            writers       // the group commit (see groupcommit.go)
	maxBatch     int           // maxBatch, but tests change it
	maxBatchTime time.Duration // maxBatchTime, but tests change it
	commitCount  atomic.Int64  // transactions committed, for tests
	writes       atomic.Int64  // write transactions begun (writeTx), for the indexer (see indexDue)
	deferred     atomic.Int64  // index ticks that waited for a busy writer or a hold, for tests
	forced       atomic.Int64  // restarts forced (see restart), for tests
	// midPass, when set, runs in a checkpoint pass that goes on to the
	// writer's checkpoint, just before it: tests that run the passes
	// themselves commit and end reads there, as writers and readers do
	// while a pass runs under load.
	midPass func()
	holdMu  sync.Mutex
	holds   map[*time.Time]time.Time // HoldIndexes not yet released → their bounds
	log     *slog.Logger             // Options.Logger, never nil
	// midCut, when set, runs in followCut between its read and its
	// write: tests write records there, as the hub may meanwhile.
	midCut func()
	// mark is the audit record at the audit indexes' mark as the last
	// index pass left it (markMoved).
	markMu sync.Mutex
	mark   auditMark
}

// checkpointEvery is how often the background checkpoint runs.
const checkpointEvery = 500 * time.Millisecond

// WAL size bounds. SQLite starts writing the write-ahead log from its
// beginning again only when a write transaction begins after a checkpoint
// has copied every frame into the database; under steady load the
// background checkpoint never catches up with the writer, so the log grew
// without bound (a gigabyte while 10,000 kiosks enrolled), and every commit
// appended to a growing file, which costs the kernel block allocation and
// zeroing on each write. When the log holds walRestartFrames or more after
// a background checkpoint, the writer connection runs one more: it only
// copies what was committed since (the writer's own queue is stopped
// meanwhile, so it completes), and the next write starts the log over.
// walSizeLimit is the journal_size_limit: the file is cut back to it when
// the log starts over.
const (
	walRestartFrames = 4096 // 16 MiB of 4 KiB pages
	// walForceFrames: a log this long means the passive way failed tick
	// after tick (readers always busy), and restart forces it, waiting at
	// most walForceWait for the readers.
	walForceFrames = 4 * walRestartFrames
	walForceWait   = 100 * time.Millisecond
	walSizeLimit   = "67108864" // 64 MiB
	// walPrealloc is how much of the log gets disk blocks up front (the
	// size limit, so every write before the log is cut back lands on
	// allocated blocks). On ext4 an append to the log past its allocated
	// blocks has to reserve a delayed block under the inode's i_data_sem,
	// which the background checkpoint's fsync of the log holds while it
	// allocates the blocks it writes back: traced at up to 87 ms per
	// append with every write queued behind it, on a new database whose
	// log was still growing. Blocks allocated with FALLOC_FL_KEEP_SIZE do
	// not change the log's size, so SQLite's view of it is unchanged.
	walPrealloc = 64 << 20
)

// Connection parameters understood by mattn/go-sqlite3. The busy timeout
// only matters when another process (a CLI) writes to the same file: inside
// this process the writer pool has one connection.
const (
	commonParams = "_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_stmt_cache_size=64"
	busyTimeout  = 5000 * time.Millisecond // as _busy_timeout says
	writerParams = commonParams + "&_journal_mode=WAL&_txlock=immediate"
	readerParams = commonParams + "&_query_only=on"
)

// Open opens the database file at path, creating it with mode 0600 if it does
// not exist, and brings its schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// Options change how OpenWith opens a database.
type Options struct {
	// NoUpgrade refuses a file whose schema is older than this build's
	// with ErrNeedsMigration, before anything is written to it, instead
	// of migrating it: for a process that opens the file beside a hub
	// which may be of the older build (the CLI, after an upgrade, before
	// the hub is restarted), which would go on writing by the old schema
	// (rows without the new columns) or fail. A new file, with no schema
	// yet, is still given one: no hub has written it.
	NoUpgrade bool
	// NoPrealloc leaves the write-ahead log's disk blocks to be allocated
	// as it grows, instead of reserving walPrealloc bytes of them at
	// open: for a short-lived writer (a CLI command), which writes a few
	// pages and gains nothing from the hub's steadier commits. Reserving
	// 64 MiB it never uses would fail it on a nearly full disk (fallocate
	// answers ENOSPC), where a command such as a restore may be what the
	// operator needs to run. A hub opened on the file reserves them
	// itself.
	NoPrealloc bool
	// Logger takes what the background work finds that the operator
	// should hear of (the index passes finding the audit trail cut off
	// below their mark). Nil discards it.
	Logger *slog.Logger
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opts Options) (*DB, error) {
	db, err := openWith(ctx, path, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// ownerOnly takes every permission but the owner's off the file at path,
// if it exists.
func ownerOnly(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return os.Chmod(path, fi.Mode().Perm()&0o700)
}

// open opens the store with no options. tick, when not nil, starts the
// background checkpoint passes in place of a checkpointEvery ticker: a
// test that runs the passes itself gives a channel it never sends on.
func open(ctx context.Context, path string, tick <-chan time.Time) (*DB, error) {
	return openWith(ctx, path, Options{}, tick)
}

func openWith(ctx context.Context, path string, opts Options, tick <-chan time.Time) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || strings.HasPrefix(path, ":memory:") {
		return nil, errors.New("path must be a plain file name without '?' or '#'")
	}
	// SQLite would create the file 0644 (less the umask); the hub's tokens
	// and audit log are nobody else's business. The -wal and -shm files
	// inherit the database file's mode. A file that exists already (a
	// backup restored with cp) is made 0600 too, with its -wal and -shm.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := ownerOnly(p); err != nil {
			return nil, err
		}
	}

	wc := new(atomic.Pointer[sqlite3.SQLiteConn])
	wconnector := newConnector(path+"?"+writerParams, writerInit)
	wconnector.opened = func(c *sqlite3.SQLiteConn) error {
		wc.Store(c)
		if err := c.RegisterFunc(foldNameFunc, foldNameSQL, true); err != nil {
			return err
		}
		if err := c.RegisterFunc(consoleNameKeyFunc, store.ConsoleNameKey, true); err != nil {
			return err
		}
		return c.RegisterFunc(txLostFunc, func() (int64, error) { return 0, errTxLost }, false)
	}
	writer := sql.OpenDB(wconnector)
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := migrate(ctx, writer, opts.NoUpgrade); err != nil {
		writer.Close()
		return nil, err
	}

	// The writer's connection has created the log; give it its blocks
	// now (see walPrealloc), unless the writer is short-lived.
	if !opts.NoPrealloc {
		if err := preallocate(path+"-wal", walPrealloc); err != nil {
			writer.Close()
			return nil, fmt.Errorf("preallocate write-ahead log: %w", err)
		}
	}

	rconnector := newConnector(path+"?"+readerParams, readerInit)
	rconnector.opened = func(c *sqlite3.SQLiteConn) error {
		// Site filters compare names as the rest of the hub does
		// (SearchUsers, ListSiteGrants).
		return c.RegisterFunc(foldNameFunc, foldNameSQL, true)
	}
	reader := sql.OpenDB(rconnector)
	n := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		writer.Close()
		return nil, err
	}

	checkpointer := sql.OpenDB(newConnector(path+"?"+commonParams, "PRAGMA mmap_size = 0"))
	checkpointer.SetMaxOpenConns(1)

	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		checkpointer.Close()
		reader.Close()
		writer.Close()
		return nil, err
	}

	db := &DB{path: path, writer: writer, writerConn: wc, reader: reader, checkpointer: checkpointer, file: file, done: make(chan struct{}), indexed: make(chan struct{}),
		maxBatch: maxBatch, maxBatchTime: maxBatchTime, log: opts.Logger}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	db.w.idle.L = &db.w.mu
	db.ops = ops{read: reader, write: db.writeTx}
	var bg context.Context
	bg, db.stop = context.WithCancel(context.Background())
	go db.checkpoints(bg, tick)
	go db.indexes(bg)
	return db, nil
}

// checkpoints runs a checkpoint pass every checkpointEvery (or on each
// tick, if tick is not nil) until ctx ends.
func (db *DB) checkpoints(ctx context.Context, tick <-chan time.Time) {
	defer close(db.done)
	if tick == nil {
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			db.checkpoint(ctx)
		}
	}
}

// checkpoint runs one pass of the background checkpoints. A PASSIVE
// checkpoint copies what it can without waiting for readers or blocking
// the writer; the writer's own automatic checkpoints are off, since they
// would stall every write queued behind them. When the log has grown past
// walRestartFrames, a short checkpoint on the writer lets the log start
// over (see walRestartFrames and writerCheckpoint).
//
// That writer checkpoint holds every write while it runs, so the work it
// does is kept to what cannot be done elsewhere. A checkpoint fsyncs the
// log before it copies frames and fsyncs the database file after copying
// the last one; each fsync waits for the pages it writes back and for the
// disk to flush its cache. Run straight after a background pass, the
// writer's checkpoint fsynced the database pages that the background pass
// had copied and left dirty in the page cache (the background pass syncs
// the database only when nothing was committed while it copied, which
// under load is never), and the log written meanwhile: 5 to 10 ms every
// tick at 3,000 SCIM creates/s (strace), with every create queued behind
// it. So before it the checkpointer runs a second passive pass (it copies
// only what was committed during the first, so its log fsync is small)
// and fsyncs the database file itself; the writer is left a few
// milliseconds of frames and the pages it copies (its two fsyncs: 0.4 to
// 1.5 ms each). The order of durability is unchanged: SQLite still syncs
// the log before it overwrites database pages, and the database before
// the log starts over.
func (db *DB) checkpoint(ctx context.Context) {
	// Errors are retried on the next tick. SQLITE_BUSY comes from another
	// process's checkpoint, or from a commit in this one that was
	// rewriting the log's index header as the checkpoint read it (about
	// one pass in 400 under steady writes).
	busy, frames, err := db.passive(ctx)
	if err != nil || busy || frames < walRestartFrames {
		return
	}
	// Both only shrink the writer's share, so their errors do not stop
	// it: SQLite's own syncs report a failing disk.
	_, _, _ = db.passive(ctx)
	_ = db.file.Sync()
	if db.midPass != nil {
		db.midPass()
	}
	db.writerCheckpoint(ctx)
}

// writerCheckpoint runs a PASSIVE checkpoint on the writer connection: it
// only copies what was committed since the background passes, and the
// writer's queue is stopped meanwhile, so it completes unless a reader
// still uses an older snapshot; then the next write starts the log over.
// If the log it counts is walForceFrames or longer, the passive way has
// failed tick after tick, and restart forces it.
//
// The count that decides is the writer's, taken with every write held, not
// the one the background pass began with: under load the background
// passes take up to hundreds of milliseconds, and the log grows by
// thousands of frames meanwhile. Deciding on the older count left a log
// already past walForceFrames to the passive way, which a busy reader
// spoils, until a later tick: with readers always busy on two loaded
// cores, a log found at 16,567 frames by the writer was forced at 34,378
// (135 MiB) two ticks later.
func (db *DB) writerCheckpoint(ctx context.Context) {
	c, err := db.writer.Conn(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	var busy, frames, copied int
	if err := c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil || frames < walForceFrames {
		return
	}
	db.restart(ctx, c)
}

// restart makes the log start over when readers that never pause kept the
// passive way from doing it: a RESTART checkpoint on the writer's
// connection c waits for the readers that still use the log to finish, at
// most walForceWait, and meanwhile holds back writers (they queue for the
// writer connection anyway). A reader busy for longer makes it give up
// until the next tick.
func (db *DB) restart(ctx context.Context, c *sql.Conn) {
	db.forced.Add(1)
	if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", walForceWait.Milliseconds())); err != nil {
		return
	}
	_, _ = c.ExecContext(ctx, "PRAGMA wal_checkpoint(RESTART)")
	_, _ = c.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds()))
}

// passive runs one PASSIVE checkpoint on the checkpointer connection and
// returns whether it was blocked and how many frames the log holds.
func (db *DB) passive(ctx context.Context) (busy bool, frames int, err error) {
	var b, copied int
	err = db.checkpointer.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&b, &frames, &copied)
	return b != 0, frames, err
}

// Close stops the checkpoints and the deferred indexes, and closes the pools.
func (db *DB) Close() error {
	db.closeWrites()
	db.stop()
	<-db.done
	<-db.indexed
	// The file goes last: closing it while SQLite still has the
	// database open would drop SQLite's locks. sql.DB.Close closes only
	// idle connections; one still streaming a read is closed when it is
	// released, so wait for that (for at most closeReadsWait).
	err := errors.Join(db.checkpointer.Close(), db.reader.Close(), db.writer.Close())
	for deadline := time.Now().Add(closeReadsWait); db.reader.Stats().OpenConnections > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return errors.Join(err, db.file.Close())
}

// closeReadsWait bounds how long Close waits for reads still running.
const closeReadsWait = 5 * time.Second

// InTx runs fn in one transaction on the writer connection (a savepoint in
// a group commit: see groupcommit.go). If fn returns an error, its writes
// are rolled back and that error is returned unchanged. If fn panics, its
// writes are rolled back and the panic continues up the stack: a panic is
// a bug, not an outcome to report.
//
// Every write of the process queues behind fn, so fn should be short and
// must use only the tx it is given: a write through db from inside fn waits
// for a turn that comes only after fn's.
func (db *DB) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return db.writeTx(ctx, func(q querier) error {
		return fn(ops{read: q, write: func(_ context.Context, fn func(querier) error) error {
			return fn(q)
		}})
	})
}

// Settings the DSN cannot carry, run on every new connection.
//
// Readers map up to 1 GiB of the file instead of read(2)ing pages into
// each connection's private cache: the pages are shared between them and a
// lookup makes no system call. The writer does not map the file (remapping
// as checkpoints grow it costs more than it saves) and does not checkpoint:
// the background checkpointer does, so a write never waits for a
// checkpoint (they made the p99 of SCIM creates tens of milliseconds).
//
// The writer's page cache is 64 MiB instead of SQLite's 2 MiB: a mass
// revoke touches a random index page per session in several indexes
// (10,000 sessions: tens of MiB), and with the small cache the transaction
// spilled dirty pages to the log mid-way and read pages back with pread,
// which took most of its time. The cache fills only as pages are used.
//
// Every connection keeps its temporary files in memory (temp_store):
// the writer's savepoint journals, and a reader's sort that outgrows its
// page cache (an ORDER BY, DISTINCT or GROUP BY no index serves). On
// disk they went to SQLITE_TMPDIR, TMPDIR or /var/tmp, which the hub's
// unit makes private on the root file system, often not the data
// directory's: when that one was full, a read failed with SQLITE_FULL
// and was answered as a full database (store.ErrFull: free space where
// the data is), for space it did not need.
const (
	readerInit = "PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY"
	writerInit = "PRAGMA mmap_size = 0; PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA journal_size_limit = " + walSizeLimit
)

// connector opens connections with a DSN and runs init on each. It avoids
// sql.Register, which would be process-global state.
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
	// opened, when set, is told of each connection made; an error fails
	// the connection.
	opened func(*sqlite3.SQLiteConn) error
}

func newConnector(dsn, init string) *connector {
	cn := &connector{dsn: dsn}
	cn.drv = &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			if err := enableQPSG(c); err != nil {
				return err
			}
			if _, err := c.Exec(init, nil); err != nil {
				return err
			}
			if cn.opened != nil {
				return cn.opened(c)
			}
			return nil
		},
	}
	return cn
}

func (c *connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c *connector) Driver() driver.Driver                        { return c.drv }

// querier is what the ops need from a connection: *sql.DB and *sql.Tx both
// satisfy it.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops implements store.Ops once, for both a DB and a transaction. read
// serves plain reads; write runs fn atomically and hands it the querier to
// use for the read-modify-write (a fresh write transaction on a DB, the
// transaction itself inside InTx).
type ops struct {
	read  querier
	write func(ctx context.Context, fn func(q querier) error) error
}

var _ store.Ops = ops{}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// mapErr turns SQLite constraint violations into the store's sentinels,
// keeping the driver error in the chain.
func mapErr(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case sqlite3.ErrConstraintForeignKey:
			return fmt.Errorf("%w: %w", store.ErrNotFound, err)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return unavailable(err)
}

// unavailable marks the SQLite errors that are no request's fault with
// the store's sentinels, keeping the driver error in the chain, so that
// the hub answers them as such (503, 507) rather than as a bug (500):
// SQLITE_BUSY, which a write gets when another process (a CLI command, a
// backup, the sqlite3 shell) held the write lock past the busy timeout,
// and a read when another process held the one lock a reader in WAL mode
// waits for (that of the write-ahead log's index, while the process
// rebuilds it after a commit cut short by a crash); SQLITE_PROTOCOL, which
// a connection gets when it lost the race for the write-ahead log's locks
// to other connections again and again for seconds (SQLite retries it
// itself meanwhile, and documents it as safe to retry: nothing was
// written), so another busy lock; and SQLITE_FULL, when the file could
// not grow (disk, quota, or max_page_count). Other errors,
// and ones marked already, are returned as they are. Every write passes
// it in writeTx; reads pass it in queryAll, oneSnapshot, readTx and
// mapErr, or call it themselves.
func unavailable(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) || errors.Is(err, store.ErrBusy) || errors.Is(err, store.ErrFull) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrBusy, sqlite3.ErrProtocol:
		return fmt.Errorf("%w: %w", store.ErrBusy, err)
	case sqlite3.ErrFull:
		return fmt.Errorf("%w: %w", store.ErrFull, err)
	}
	return err
}

// queryAll runs a query and scans every row with scan. Its errors are
// marked by unavailable: a read on the reader pool passes no writeTx, and
// a lock another process holds past the busy timeout (see unavailable) is
// no more a bug when a list meets it than when a write does.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// page returns the LIMIT/OFFSET clause for an offset and a limit (0: no
// cap) with its arguments. Without paging there is no clause at all: a
// bound LIMIT costs a point lookup more than it saves.
func page(offset, limit int) (string, []any) {
	switch {
	case limit > 0:
		return " LIMIT ? OFFSET ?", []any{limit, max(offset, 0)}
	case offset > 0:
		return " LIMIT -1 OFFSET ?", []any{offset}
	}
	return "", nil
}

// pageTotal returns the number of all matches when a page of n rows tells
// it: a first page that the limit did not cut short. Otherwise ok is false
// and the caller counts. Counting only then keeps the common lookup (one
// match, no paging) to a single statement.
func pageTotal(n, offset, limit int) (total int, ok bool) {
	if offset <= 0 && (limit <= 0 || n < limit) {
		return n, true
	}
	if n > 0 && limit > 0 && n < limit {
		return max(offset, 0) + n, true // a last page
	}
	return 0, false
}

// countMayFollow reports whether a list read of a page at offset and
// limit may count all its matches after the page (pageTotal): when it
// pages, unless noTotal says the count is not wanted.
func countMayFollow(offset, limit int, noTotal bool) bool {
	return !noTotal && (offset > 0 || limit > 0)
}

// oneSnapshot runs fn, which reads a page and, when count is set, may
// count all matches after it (countMayFollow), so that the page and the
// count read one snapshot of the database. On the reader pool each
// statement reads the database as it is when the statement starts: a count
// read after its page counts what was created or deleted in between, and
// a SCIM list then answered a totalResults that disagrees with its
// Resources (fewer than it holds, say). So when a count may follow, fn
// runs in one read transaction. A lookup that does not page, and a batch
// of a scan that wants no total, stay one statement, and inside InTx q is
// one transaction already.
//
// Its errors, the count's among them, are marked by unavailable, as
// queryAll's are.
func oneSnapshot(ctx context.Context, q querier, count bool, fn func(q querier) error) error {
	if !count {
		return unavailable(fn(q))
	}
	return snapshot(ctx, q, fn)
}

// snapshot runs fn, which reads through q in several statements, so that
// they all read one snapshot of the database: in one read transaction on
// the reader pool, and in q itself when q is a transaction already. Its
// errors are marked by unavailable, as oneSnapshot's are.
func snapshot(ctx context.Context, q querier, fn func(q querier) error) error {
	pool, ok := q.(*sql.DB)
	if !ok {
		return unavailable(fn(q))
	}
	tx, err := pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return unavailable(fmt.Errorf("begin read: %w", err))
	}
	defer tx.Rollback() //nolint:errcheck // a read: nothing to undo; a no-op after Commit
	if err := fn(tx); err != nil {
		return unavailable(err)
	}
	return unavailable(tx.Commit())
}

// changed returns a SET clause for the columns whose value differs between
// was and now, with the new values as its arguments.
func changed(cols []string, was, now []any) (string, []any) {
	var (
		set  strings.Builder
		args []any
	)
	for i, col := range cols {
		if same(was[i], now[i]) {
			continue
		}
		if set.Len() > 0 {
			set.WriteString(", ")
		}
		set.WriteString(col + " = ?")
		args = append(args, now[i])
	}
	return set.String(), args
}

// same reports whether two column values are equal, nil and empty byte
// strings apart.
func same(a, b any) bool {
	if x, ok := a.([]byte); ok {
		y, ok := b.([]byte)
		return ok && (x == nil) == (y == nil) && bytes.Equal(x, y)
	}
	return a == b
}
