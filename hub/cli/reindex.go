package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// reindexChunk is how many records each transaction of audit reindex
// indexes. No hub runs on the file meanwhile, so nothing waits for the
// writer as the hub's logins wait for its own passes (indexChunk, 256):
// larger transactions cost fewer commits, and a chunk of records of as
// many users, each on a leaf of its own, is still a fraction of a second.
const reindexChunk = 10_000

// reindexAction is the audit record's action that audit reindex seals
// with the emptied indexes: the trail itself shows the repair.
const reindexAction = "audit.reindex"

// auditReindex rebuilds the audit trail's search indexes (the deferred
// audit_by_subject and audit_by_action, and their mark) of the hub in
// DIR from its records: `audit reindex --data DIR`, the repair for what
// audit verify reports as a bad search index (CheckAuditIndexes).
//
// It holds the data directory's lock throughout, so it is refused while
// a hub runs on DIR, and no hub starts until it is done: the copy it
// keeps is then the database as the hub left it, and no hub's index
// passes race the rebuild. Before anything changes it keeps a consistent
// copy of hub.db (VACUUM INTO, as backup takes one) beside it, named
// hub.db.before-reindex-TIME, and checks that SQLite reads it: the
// entries the rebuild drops are the evidence of whoever wrote them, which
// only that copy keeps. There is no flag to skip it: a disk too full for
// the copy is better freed than the evidence lost.
//
// Then one transaction empties both indexes, sets their mark to 0 and
// seals an audit.reindex record (actor cli), and chunks of every records
// (at most reindexChunk), each one transaction, fill them forward from
// the records and move the mark with them, with a line of progress on
// stderr every `every` records. Each state in between is one the hub's
// own index passes leave and continue: a rebuild interrupted (Ctrl-C, a
// kill) is finished by the hub once it starts, or by running the command
// again. Last, the check audit verify runs (CheckAuditIndexes): OK on
// stdout and exit 0, or BROKEN with what is still wrong and exit 1.
func (e env) auditReindex(ctx context.Context, args []string, every int64) error {
	fs := e.flags("audit reindex")
	data := fs.String("data", "", "hub data directory; no hub may be running on it")
	if err := parse(fs, args, "data"); err != nil {
		return err
	}
	if err := existingHub(*data); err != nil {
		return err
	}
	// The key before anything is made: the rebuild is sealed in the
	// trail, which the hub refuses without its key.
	key, err := audit.LoadKey(*data)
	if err != nil {
		return fmt.Errorf("audit reindex refused: %w; nothing was changed", err)
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		return fmt.Errorf("audit reindex refused: %w; nothing was changed", err)
	}
	lock, err := lockDataDir(*data)
	var busy *busyError
	if errors.As(err, &busy) {
		return fmt.Errorf("audit reindex refused: a hub is running on %s%s: stop it first, then run audit reindex --data %s again (the copy kept as evidence must be the database the hub left, and the hub's index passes would write the indexes meanwhile); nothing was changed",
			*data, busy.holder, *data)
	}
	if err != nil {
		return err
	}
	defer lock.Close()
	if uid, gid, chown, err := ownerFor(filepath.Join(*data, hub.DBFile), *data); err != nil {
		return fmt.Errorf("audit reindex failed: %w; nothing was changed", err)
	} else if chown {
		// Run as root: a hub.lock this process made would keep the
		// hub's user from taking the lock (0600), as after restore.
		if err := os.Lchown(filepath.Join(*data, lockFile), uid, gid); err != nil {
			return fmt.Errorf("audit reindex failed: give %s the hub's owner: %w; nothing was changed", lockFile, err)
		}
	}

	kept, found, err := e.keepBeforeReindex(ctx, *data)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "kept a copy of %s as %s (hub.lock held: no hub starts meanwhile)\n", hub.DBFile, kept)

	// No schema upgrade: keepBeforeReindex refused an older one above.
	st, err := hub.OpenStoreWith(ctx, *data, sqlite.Options{NoUpgrade: true, NoPrealloc: true})
	if err != nil {
		return fmt.Errorf("audit reindex failed: %w; nothing was changed (the copy %s is kept)", err, kept)
	}
	defer st.Close()
	// This store's own index passes would only compete with the chunks
	// below for the writer: the chunks are the passes here.
	release := st.HoldIndexes(24 * time.Hour)
	defer release()

	detail := map[string]string{"copy": filepath.Base(kept), "found": "nothing wrong"}
	if found != nil {
		detail["found"] = found.Error()
	}
	var head int64
	err = st.ResetAuditIndexes(ctx, func(tx store.Ops) error {
		r, err := log.Append(ctx, tx, audit.Entry{Actor: "cli", System: "cli", Action: reindexAction, Subject: "audit", Detail: detail})
		head = r.Seq
		return err
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("audit reindex interrupted before it changed anything (the copy %s is kept)", kept)
	}
	if err != nil {
		return fmt.Errorf("audit reindex failed: %w; nothing was changed (the copy %s is kept)", err, kept)
	}
	fmt.Fprintf(e.stderr, "emptied the audit search indexes and recorded it (record %d, %s); indexing %d records\n", head, reindexAction, head)

	every = max(every, 1)
	chunk := min(reindexChunk, every)
	var done, last int64
	for {
		done, head, err = st.FillAuditIndexes(ctx, chunk)
		if ctx.Err() != nil || err != nil {
			why, mark := "interrupted", done // a chunk that committed moved the mark
			if err != nil {
				mark = last
				if ctx.Err() == nil {
					why = fmt.Sprintf("failed: %v", err)
				}
			}
			return fmt.Errorf("audit reindex %s: the search indexes cover the records up to the mark (%d), and searches read the rest from the records meanwhile: start the hub, whose index passes index the rest, or run audit reindex --data %s again", why, mark, *data)
		}
		if done >= head {
			break
		}
		if done/every > last/every {
			fmt.Fprintf(e.stderr, "indexed %d of %d records\n", done, head)
		}
		last = done
	}
	fmt.Fprintf(e.stderr, "indexed %d of %d records\n", done, head)

	ierr := st.CheckAuditIndexes(ctx)
	var bad *store.AuditIndexError
	switch {
	case errors.As(ierr, &bad):
		fmt.Fprintf(e.stdout, "BROKEN: %s\n", bad)
		return &exitError{code: 1, err: fmt.Errorf("%w, after the rebuild: run audit reindex --data %s again, and if it says so again, hub.db is being written outside the hub: the copy before the rebuild is %s", bad, *data, kept)}
	case ierr != nil:
		return fmt.Errorf("audit reindex: the indexes were rebuilt, but could not be checked: %w: run audit verify --data %s", ierr, *data)
	}
	fmt.Fprintf(e.stdout, "OK: audit search indexes rebuilt from %d records and checked\ncopy before the rebuild: %s\n", done, kept)
	return nil
}

// keepBeforeReindex writes a consistent copy of the hub's database in
// data beside it (hub.db.before-reindex-TIME, 0600), synced and checked
// with SQLite's quick_check, and returns its path and what the index
// check found in the database before the rebuild (nil: nothing). A
// failure leaves nothing behind and nothing changed.
func (e env) keepBeforeReindex(ctx context.Context, data string) (path string, found *store.AuditIndexError, err error) {
	// Not openHubReadOnly: its refusal of an older schema asks whether a
	// hub holds hub.lock, and this command holds it itself, so it would
	// name this process as a hub of an older build to restart.
	st, err := sqlite.OpenReadOnly(ctx, filepath.Join(data, hub.DBFile))
	if older := (*sqlite.OlderSchemaError)(nil); errors.As(err, &older) {
		return "", nil, fmt.Errorf("audit reindex refused: %w: start the hub of this build on %s once (it upgrades the schema as it starts), stop it, then run audit reindex --data %s again; nothing was changed", err, data, data)
	}
	if err != nil {
		return "", nil, fmt.Errorf("audit reindex refused: %w", err)
	}
	defer st.Close()
	ierr := st.CheckAuditIndexes(ctx)
	if ierr != nil && !errors.As(ierr, &found) {
		return "", nil, fmt.Errorf("audit reindex failed: %w; nothing was changed", ierr)
	}

	src := filepath.Join(data, hub.DBFile)
	dir, err := filepath.Abs(filepath.Dir(src))
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, hub.DBFile+".before-reindex-"+time.Now().UTC().Format("20060102T150405Z"))
	failed := func(what string, err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("audit reindex interrupted (%s): nothing was changed", what)
		}
		return fmt.Errorf("audit reindex failed: %s: %w; nothing was changed", what, err)
	}
	tmp, err := os.CreateTemp(dir, ".shiftgate-reindex-*.tmp") // 0600
	if err != nil {
		return "", nil, failed("make a temporary file for the copy", err)
	}
	tmpPath := tmp.Name()
	defer func() {
		// VACUUM INTO's journal is gone unless it was killed; the
		// names are this run's own.
		os.Remove(tmpPath + "-journal")
		os.Remove(tmpPath)
	}()
	if err := tmp.Close(); err != nil {
		return "", nil, failed("make a temporary file for the copy", err)
	}
	fmt.Fprintf(e.stderr, "copying %s aside before the rebuild\n", src)
	if err := st.VacuumInto(ctx, tmpPath); err != nil {
		return "", nil, failed("copy the database", err)
	}
	if err := st.Unchanged(); err != nil {
		// Written meanwhile (by a CLI command: hub.lock keeps hubs out):
		// the copy may be torn.
		return "", nil, fmt.Errorf("audit reindex failed: %w; nothing was changed: run it again", err)
	}
	if _, _, err := syncAndHash(tmpPath); err != nil {
		return "", nil, failed("write the copy", err)
	}
	cp, err := sqlite.OpenReadOnly(ctx, tmpPath)
	if err != nil {
		return "", nil, failed("open the copy", err)
	}
	err = cp.QuickCheck(ctx)
	cp.Close()
	if err != nil {
		return "", nil, failed("check the copy", err)
	}
	// Never over a file: a link fails where one exists, and a run again
	// within the same second takes the next free name.
	base := path
	for i := 2; ; i++ {
		err := os.Link(tmpPath, path)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return "", nil, failed("name the copy", err)
		}
		path = fmt.Sprintf("%s-%d", base, i)
	}
	if err := syncDir(dir); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		os.Remove(path)
		return "", nil, failed("sync "+dir, err)
	}
	return path, found, nil
}
