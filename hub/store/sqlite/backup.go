package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// VacuumInto writes the database, as it is at one moment, to the file at
// path with SQLite's VACUUM INTO, for `shiftgate-hub backup`. path must be
// absolute, and the file must be missing or empty; VACUUM INTO gives it
// the mode it has (make it 0600 first), and writes a rollback journal
// beside it (path + "-journal") while it runs, which it removes unless it
// is killed.
//
// The copy is read in one read transaction: consistent however much a
// running hub writes meanwhile, and it always finishes. (SQLite's online
// backup API starts over whenever another connection writes, and may
// never finish under load.) The copy is compacted, has no write-ahead log
// (rollback-journal mode: the hub turns the log on when it opens it) and
// keeps the schema version. The source is read as r reads it: beside a
// running hub through its log, which is never folded into the file;
// without a log as an immutable file, in which case r.Unchanged tells
// afterwards whether a hub opened it meanwhile.
//
// While the transaction lasts, the running hub's checkpoints cannot copy
// what is committed after its start, so the log grows by what the hub
// writes meanwhile and starts over once the copy is done (see
// walForceFrames: past it, each forced restart waits walForceWait for
// this reader and gives up).
//
// Cancelling ctx interrupts the copy; the file is then left partly
// written, for the caller to remove.
func (r *ReadOnly) VacuumInto(ctx context.Context, path string) error {
	if !filepath.IsAbs(path) {
		// A relative name beginning "file:" would be read as a URI.
		return fmt.Errorf("vacuum into %s: want an absolute path", path)
	}
	// A connection of its own: PRAGMA query_only, which r's connections
	// have, applies to VACUUM INTO's output database too, and refuses it.
	// mode=ro alone keeps the source from being written.
	params := "mode=ro&_busy_timeout=5000"
	if r.snapshot != nil {
		params += "&immutable=1" // as r opened it: see OpenReadOnly
	}
	db := sql.OpenDB(newConnector("file:"+strings.ReplaceAll(r.path, "%", "%25")+"?"+params, readerInit))
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("vacuum %s into %s: %w", r.path, path, err)
	}
	// An interrupt that came between SQLite's calls is lost, and the copy
	// finished: the caller asked to stop all the same.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vacuum %s into %s: %w", r.path, path, err)
	}
	return nil
}

// quickCheckShown is how many of quick_check's findings an error lists.
const quickCheckShown = 10

// QuickCheck runs SQLite's PRAGMA quick_check on the database: every page
// readable and in its b-tree, records well formed, NOT NULL and CHECK
// constraints held (not the contents of the indexes: integrity_check). It
// returns nil when SQLite finds nothing, else an error with its first
// findings.
func (r *ReadOnly) QuickCheck(ctx context.Context) error {
	rows, err := r.reader.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("quick_check %s: %w", r.path, damaged(err))
	}
	defer rows.Close()
	var found []string
	n := 0
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("quick_check %s: %w", r.path, damaged(err))
		}
		if n++; len(found) < quickCheckShown {
			found = append(found, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("quick_check %s: %w", r.path, damaged(err))
	}
	if n == 1 && found[0] == "ok" {
		return nil
	}
	if n == 0 {
		return fmt.Errorf("quick_check %s: no answer", r.path)
	}
	more := ""
	if n > len(found) {
		more = fmt.Sprintf(" (and %d more)", n-len(found))
	}
	return fmt.Errorf("%w: quick_check %s: %s%s", ErrDamaged, r.path, strings.Join(found, "; "), more)
}

// ErrDamaged means SQLite found the database file damaged.
var ErrDamaged = errors.New("database damaged")

// damaged marks SQLite's own verdicts on a file it cannot read as a
// database (a page that makes no sense, not a database at all) as
// ErrDamaged: quick_check may stop on one before it lists anything.
func damaged(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB) {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return err
}

// SchemaVersion returns the database's schema version: the number of
// migrations it has had. It is the one this build writes, since
// OpenReadOnly refuses any other, so it needs no query.
func (r *ReadOnly) SchemaVersion() int {
	return len(migrations())
}
