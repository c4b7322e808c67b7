package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// restore puts a file written by backup in place as the hub's database:
// `restore --data DIR --from FILE`.
//
// It holds the data directory's lock throughout, so it is refused while
// a hub runs on DIR and no hub starts until it is done: a database
// replaced under a running hub would be written on by it, through its
// write-ahead log, which belongs to the old file. --from is opened once,
// and what is copied is that descriptor's file as it was when opened.
// When DIR/hub.db is a symbolic link (the database kept on another
// volume), the file it leads to is the one replaced, and the link is
// kept: "the database's directory" below is then that file's. The copy is
// made in the database's directory (0600; run as root, owned like the
// database it replaces, or like DIR) and synced, and checked as backup checks it
// (SQLite's quick_check, and its audit chain under DIR/audit.key, which
// must be there: the hub refuses a trail without its key) before anything
// in DIR changes. A backup of an older schema (an older build's) cannot
// be read by this build before it is upgraded: the copy is upgraded as
// the hub would upgrade it, in a directory of its own, and then checked.
// A database already there is never deleted: its log is folded into it
// under an exclusive lock (refused while another process, such as a CLI
// command, has it open), held until the copy has taken its name, and it
// is renamed to hub.db.replaced-TIME with any -wal and -shm, which go
// first, so that SQLite never reads the old log into the restored file.
// Then the copy takes the name hub.db and the directory is synced. A failure before the renames, or ctx cancelled
// (Ctrl-C), leaves DIR as it was; a crash during them leaves a whole
// database as hub.db, the old one or the restored one.
//
// The keys and certificates are not in a backup: restore says which the
// hub needs and DIR lacks. audit.head is left as it is: the hub records
// the rollback in the trail at its first check (see hub/README.md) when
// the restored trail ends before the record audit.head names; restore
// says when it will not (watchOnRollback).
func (e env) restore(ctx context.Context, args []string) error {
	fs := e.flags("restore")
	data := fs.String("data", "", "hub data directory, holding the hub's audit.key (put it back first); no hub may be running on it")
	from := fs.String("from", "", "the file backup wrote")
	if err := parse(fs, args, "data", "from"); err != nil {
		return err
	}
	src, err := filepath.Abs(*from)
	if err != nil {
		return fmt.Errorf("%w: --from %s: %v", errUsage, *from, err)
	}
	// Opened once, and that descriptor is what is checked and copied:
	// whoever can write the backup directory could otherwise put a FIFO
	// (an open that never returns), a device (/dev/zero: a copy without
	// end into DIR) or another file in its place between a check by name
	// and the copy. O_NONBLOCK, so that opening a FIFO returns.
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("%w: --from: %v", errUsage, err)
	}
	defer in.Close()
	srcInfo, err := in.Stat()
	if err != nil {
		return fmt.Errorf("%w: --from: %v", errUsage, err)
	}
	if !srcInfo.Mode().IsRegular() {
		return fmt.Errorf("%w: --from %s is not a file", errUsage, *from)
	}
	if fi, err := os.Stat(src + "-wal"); err == nil && fi.Size() > 0 {
		// A copy of a hub's files (cp of hub.db and its log) rather
		// than backup's one file: the file alone lacks what is in the log.
		return fmt.Errorf("%w: --from %s has a write-ahead log beside it (%s-wal), which holds part of the database and which restore would leave out: make one file of them first: put them in an empty directory as %s and %s-wal with the audit.key, and run shiftgate-hub backup --data THAT-DIRECTORY --out FILE (the build that wrote them, if this one refuses their schema), then restore --from FILE", errUsage, *from, src, hub.DBFile, hub.DBFile)
	}
	if strings.ContainsAny(*data, "?#") {
		// The copy is checked with SQLite, which takes no such name.
		return fmt.Errorf("%w: --data %s: choose a directory whose path has no '?' or '#'", errUsage, *data)
	}
	dbPath := filepath.Join(*data, hub.DBFile)
	if di, err := os.Stat(dbPath); err == nil {
		if os.SameFile(di, srcInfo) {
			return fmt.Errorf("%w: --from %s is the hub's database itself: give the file backup wrote", errUsage, *from)
		}
	}
	// The file replaced is the one the hub opens: through a link (the
	// database kept on another volume), the file it leads to, in its own
	// directory, so that the link and the volume are kept. Everything
	// restore makes and renames is in that directory: a rename does not
	// cross file systems.
	target, err := linkedDB(dbPath)
	if err != nil {
		return fmt.Errorf("restore refused: %w; nothing was changed", err)
	}
	if strings.ContainsAny(target, "?#") {
		return fmt.Errorf("%w: %s leads to %s: choose a directory whose path has no '?' or '#'", errUsage, dbPath, target)
	}
	dbDir := filepath.Dir(target)

	// The key first: without it nothing is made, not even the directory.
	key, err := audit.LoadKey(*data)
	if errors.Is(err, audit.ErrKeyMissing) {
		return fmt.Errorf("restore refused: there is no %s: put back the %s backed up with this hub first (the hub refuses a trail without its key, and restore checks the backup's trail with it); nothing was changed",
			filepath.Join(*data, audit.KeyFile), audit.KeyFile)
	}
	if err != nil {
		return fmt.Errorf("restore refused: %w; nothing was changed", err)
	}
	lock, err := lockDataDir(*data)
	var busy *busyError
	if errors.As(err, &busy) {
		return fmt.Errorf("restore refused: a hub is running on %s%s: stop it first (a database replaced under a running hub is written on by it, through a log that belongs to the old one); nothing was changed", *data, busy.holder)
	}
	if err != nil {
		return err
	}
	defer lock.Close()
	uid, gid, chown, err := ownerFor(target, *data)
	if err != nil {
		return fmt.Errorf("restore failed: %w; nothing was changed", err)
	}
	if chown {
		// A hub.lock this root process made would keep the hub's user
		// from taking the lock (0600): the hub would not start.
		if err := os.Lchown(filepath.Join(*data, lockFile), uid, gid); err != nil {
			return fmt.Errorf("restore failed: give %s the hub's owner: %w; nothing was changed", lockFile, err)
		}
	}

	fmt.Fprintf(e.stderr, "restoring %s to %s (hub.lock held: no hub starts meanwhile)\n", src, target)
	tmp, err := os.CreateTemp(dbDir, ".shiftgate-restore-*.tmp") // 0600
	if err != nil {
		return fmt.Errorf("restore failed: make a temporary file in %s: %w; nothing was changed", dbDir, err)
	}
	tmpPath := tmp.Name()
	placed := false
	defer func() {
		if !placed {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()
	unchanged := func(what string, err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("restore interrupted (%s): nothing was changed", what)
		}
		return fmt.Errorf("restore failed: %s: %w; nothing was changed", what, err)
	}
	if chown {
		if err := tmp.Chown(uid, gid); err != nil {
			return unchanged("give the copy the hub's owner", err)
		}
	}
	if err := copyFile(ctx, tmp, in, srcInfo.Size()); err != nil {
		return unchanged("copy the backup", err)
	}
	if err := tmp.Close(); err != nil {
		return unchanged("copy the backup", err)
	}

	keyFile := filepath.Join(*data, audit.KeyFile)
	chain, older, err := e.checkRestore(ctx, tmpPath, key, keyFile, src)
	if err == nil && older {
		// Upgraded and checked away from hub.db, as the hub's start
		// would upgrade it: a backup that fails its check then leaves DIR
		// as it was, like any other.
		chain, err = e.upgradeRestored(ctx, dbDir, tmpPath, key, keyFile)
	}
	if ctx.Err() != nil {
		return unchanged("checking the backup", ctx.Err())
	}
	if err != nil {
		return err
	}

	// The database in place is folded into one file first (and restore
	// refused while another process has it open), and held locked until
	// the copy has its name: the renames below then leave, at every
	// instant, a whole database as hub.db, and no other process writes to
	// the replaced one meanwhile (see foldOld).
	release, err := e.foldOld(ctx, target)
	if err != nil {
		return err
	}
	defer release()

	// From here on DIR changes; an interrupt no longer stops it halfway.
	aside, err := putAside(target, time.Now(), os.Link)
	if err != nil {
		return err
	}
	if err := os.Rename(tmpPath, target); err != nil {
		return fmt.Errorf("restore failed: name the copy %s: %w%s", target, err, undoAside(aside, target))
	}
	placed = true
	release()
	if err := syncDir(dbDir); err != nil {
		return fmt.Errorf("restore: sync %s: %w: a crash now could lose the restore; run restore again", dbDir, err)
	}

	fmt.Fprintf(e.stdout, "restored: %s\nfrom: %s\naudit head: %s\n", target, src, chain)
	if target != dbPath {
		fmt.Fprintf(e.stdout, "through: %s (a link to it, kept)\n", dbPath)
	}
	if aside != "" {
		fmt.Fprintf(e.stdout, "replaced: %s (kept, with its -wal and -shm if it had them: delete it once the restored hub is checked)\n", aside)
	}
	next := "start the hub"
	if e.adviseMissing(ctx, *data, target) {
		next = "put back the files above, then start the hub"
	}
	check := ""
	if chain.head.Seq > 0 {
		check = fmt.Sprintf(", then audit verify --data %s --anchor %s checks the restored trail", *data, chain.head)
	}
	fmt.Fprintf(e.stderr, "next: %s; %s%s; and have the identity provider send everything again (Entra ID: Restart provisioning; Okta: Force sync): leavers since the backup are active again until it does\n", next, watchOnRollback(ctx, *data, aside, chain.head), check)
	// The identity provider puts users right; nothing puts right what the
	// hub's own operators changed since the backup, which is rolled back
	// as well, the revocations among it.
	fmt.Fprintf(e.stderr, "also rolled back: API tokens revoked since the backup work again (token list, token revoke), kiosks disabled since are enabled again (disable them in the console), and kiosks enrolled since are unknown (enroll them again)\n")
	return nil
}

// watchOnRollback says what the restored hub's audit watch makes of the
// rollback. The watch checks the trail once a minute and keeps the newest
// record it checked in DIR/audit.head: it records a rollback
// (audit.alert) only when the restored trail ends before that record.
// The records a hub wrote after its last check (up to a minute's worth
// before it stopped) are rolled back without a word from it when the
// backup holds that record: the trail then shows nothing, so restore
// names what it went back from (the replaced database's head, at aside)
// and to, for the operator to file off the hub.
func watchOnRollback(ctx context.Context, data, aside string, restored audit.Anchor) string {
	recorded := "its audit watch records the rollback in the trail (audit.alert, an error in the log once)"
	checked, haveChecked, err := audit.LoadHead(data)
	if err != nil || haveChecked && checked.Seq > restored.Seq {
		return recorded // or the hub says what is wrong with audit.head
	}
	old, ok := replacedHead(ctx, aside)
	if !ok || old.Seq <= restored.Seq {
		return "its audit watch has no record past the backup's head to compare the restored trail with, so it records no rollback: anchors filed after the backup show one"
	}
	last := "it has checked no record here"
	if haveChecked {
		last = fmt.Sprintf("it last checked record %d, which the backup holds", checked.Seq)
	}
	return fmt.Sprintf("its audit watch will not record this rollback (%s): the trail went back from record %d (%s, the replaced database's head) to record %d (%s, the backup's): file both heads off the hub (a SIEM, a ticket) as the record of this restore",
		last, old.Seq, old, restored.Seq, restored)
}

// replacedHead reads the audit head of the database put aside at aside;
// ok is false when there is none, or it cannot be read (an older schema,
// a damaged file).
func replacedHead(ctx context.Context, aside string) (head audit.Anchor, ok bool) {
	if aside == "" {
		return head, false
	}
	st, err := sqlite.OpenReadOnly(ctx, aside)
	if err != nil {
		return head, false
	}
	defer st.Close()
	seq, hash, err := st.AuditHead(ctx)
	if err != nil {
		return head, false
	}
	return audit.Anchor{Seq: seq, Hash: hash}, true
}

// ownerFor is the owner the restored files must have for the hub to
// open them, when restore runs as root (chown true): the owner of the
// database they replace, or of dir when there is none. dir may be root's
// with the hub's user owning the files in it, so the database's owner
// comes first. Only root may give a file away; any other user restores
// files of its own, as the ones it replaces.
func ownerFor(db, dir string) (uid, gid int, chown bool, err error) {
	if os.Geteuid() != 0 {
		return 0, 0, false, nil
	}
	fi, err := os.Stat(db)
	if errors.Is(err, fs.ErrNotExist) {
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return 0, 0, false, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false, nil
	}
	return int(st.Uid), int(st.Gid), true, nil
}

// copyFile copies size bytes of in into dst and syncs dst. in is read
// only as far as the size it had when opened: a file that grows
// meanwhile is not followed without end, and one cut short fails.
func copyFile(ctx context.Context, dst *os.File, in *os.File, size int64) error {
	if _, err := io.CopyN(dst, ctxReader{ctx, in}, size); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("the file was cut short while it was read (%d bytes when opened)", size)
		}
		return err
	}
	return dst.Sync()
}

// ctxReader is a reader that stops once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// checkRestore checks the copy at path of the backup src before it is put
// in place: SQLite's quick_check, and its audit chain under key. A copy
// of an older schema cannot be read by this build: older is true, and it
// is checked once upgraded (upgradeRestored).
func (e env) checkRestore(ctx context.Context, path string, key []byte, keyFile, src string) (c chainCheck, older bool, err error) {
	cp, err := sqlite.OpenReadOnly(ctx, path)
	if errors.Is(err, sqlite.ErrNeedsMigration) {
		fmt.Fprintf(e.stderr, "%s is of an older schema: it is checked once upgraded\n", src)
		return c, true, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("restore refused: %s: %w; nothing was changed", src, err)
	}
	defer cp.Close()
	if err := cp.QuickCheck(ctx); err != nil {
		return c, false, fmt.Errorf("restore refused: %s fails SQLite's check: %w; nothing was changed: restore an older backup", src, err)
	}
	fmt.Fprintln(e.stderr, "quick_check: ok")
	c, err = e.verifyRestored(ctx, cp, key, keyFile)
	if err != nil {
		return c, false, fmt.Errorf("restore refused: %s: %w; nothing was changed", src, err)
	}
	return c, false, nil
}

// upgradeRestored upgrades the schema of the copy at path, as the hub
// does as it starts, and checks its audit chain under key. It does so as
// the hub's database of a directory of its own inside dir (so on the same
// file system), which is gone when it returns; the copy is back at path,
// a single file, when it succeeds.
func (e env) upgradeRestored(ctx context.Context, dir, path string, key []byte, keyFile string) (chainCheck, error) {
	stage, err := os.MkdirTemp(dir, ".shiftgate-restore-*.upgrade") // 0700
	if err != nil {
		return chainCheck{}, fmt.Errorf("restore failed: make a directory to upgrade the copy in %s: %w; nothing was changed", dir, err)
	}
	defer os.RemoveAll(stage)
	staged := filepath.Join(stage, hub.DBFile)
	if err := os.Rename(path, staged); err != nil {
		return chainCheck{}, fmt.Errorf("restore failed: %w; nothing was changed", err)
	}
	c, err := e.upgradeStaged(ctx, stage, key, keyFile)
	if err != nil {
		return c, err
	}
	// Closed, the store has folded its log into the file and removed it;
	// a log still there would be left out of the copy.
	if fi, err := os.Stat(staged + "-wal"); err == nil && fi.Size() > 0 {
		return chainCheck{}, fmt.Errorf("restore failed: the upgraded copy's write-ahead log was not folded into it; nothing was changed")
	}
	// quick_check too, as checkRestore checks any other backup: the
	// upgrade and the audit chain read only some of the file's pages.
	if err := e.quickCheckUpgraded(ctx, staged); err != nil {
		return chainCheck{}, err
	}
	if err := os.Rename(staged, path); err != nil {
		return chainCheck{}, fmt.Errorf("restore failed: %w; nothing was changed", err)
	}
	return c, nil
}

// quickCheckUpgraded runs SQLite's quick_check on the upgraded copy at
// staged.
func (e env) quickCheckUpgraded(ctx context.Context, staged string) error {
	cp, err := sqlite.OpenReadOnly(ctx, staged)
	if err != nil {
		return fmt.Errorf("restore refused: the upgraded copy of the backup: %w; nothing was changed", err)
	}
	defer cp.Close()
	if err := cp.QuickCheck(ctx); err != nil {
		return fmt.Errorf("restore refused: the backup, upgraded, fails SQLite's check: %w; nothing was changed: restore an older backup", err)
	}
	fmt.Fprintln(e.stderr, "quick_check: ok")
	return nil
}

// upgradeStaged opens the store in stage, upgrading it, verifies its
// trail, and closes it. Like openStore's, the store reserves no disk
// blocks for the write-ahead log: a restore may be run on a disk short of
// space.
func (e env) upgradeStaged(ctx context.Context, stage string, key []byte, keyFile string) (chainCheck, error) {
	st, err := hub.OpenStoreWith(ctx, stage, sqlite.Options{NoPrealloc: true})
	if err != nil {
		return chainCheck{}, fmt.Errorf("restore refused: upgrade the schema of the backup: %w; nothing was changed", err)
	}
	defer st.Close()
	fmt.Fprintln(e.stderr, "schema upgraded")
	c, err := e.verifyRestored(ctx, st, key, keyFile)
	if err != nil {
		return c, fmt.Errorf("restore refused: %w; nothing was changed", err)
	}
	return c, nil
}

// foldOld folds the write-ahead log of the database at db, if there is
// one, into the database file, so that the file alone is the whole
// database: putAside renames the log aside first (so that SQLite never
// reads the old log into the restored file), and a restore killed just
// after that left a hub.db without the records its log held. It holds an
// exclusive lock meanwhile, which also tells whether another process (a
// CLI command, which takes no hub.lock, or a sqlite3 shell) has the
// database open: renamed under it, such a process would go on writing to
// the replaced file, and as it closes would delete DIR/hub.db-wal by
// name, by then the restored database's log. Restore is refused then. A
// database SQLite cannot read (the disk failed) is put aside as it is,
// with its log. A fold that fails writing (a full disk) refuses the
// restore too: it may have written part of the log into the file, which
// is then whole only with its log (foldWriteFailed).
//
// The lock is kept until release is called, once the copy has taken the
// name: a command started after the fold would otherwise write to the
// database about to be put aside, its write lost without a word. One
// that opens the file meanwhile waits for the lock, and gets it once the
// file is put aside; so the database is also taken out of WAL mode (its
// header then says rollback journal; the hub, opening it, puts it back in
// WAL mode): SQLite then refuses that process's writes to a file that has
// moved (SQLITE_READONLY_DBMOVED) rather than take them, or make a log
// for it by the name of the restored database's. release may be called
// more than once.
func (e env) foldOld(ctx context.Context, db string) (release func(), err error) {
	release = func() {}
	if _, err := os.Lstat(db); errors.Is(err, fs.ErrNotExist) {
		return release, nil
	}
	conn, err := sql.Open("sqlite3", "file:"+strings.ReplaceAll(db, "%", "%25")+"?_busy_timeout=2000")
	if err != nil {
		return release, fmt.Errorf("restore failed: open %s: %w; nothing was changed", db, err)
	}
	held := false
	defer func() {
		if !held {
			conn.Close()
		}
	}()
	conn.SetMaxOpenConns(1)
	// Exclusive before the log is first opened: SQLite then takes an
	// exclusive lock on the file, which any other connection's shared
	// lock refuses, and keeps it until closed.
	var busy, frames, done int
	var mode string
	_, err = conn.ExecContext(ctx, "PRAGMA locking_mode = EXCLUSIVE")
	if err == nil {
		_, err = conn.ExecContext(ctx, "BEGIN EXCLUSIVE; COMMIT")
	}
	if err == nil {
		err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done)
	}
	if err == nil && busy == 0 {
		// Out of WAL mode, the log folded in and removed. The header
		// is rewritten with an in-memory journal, so that no -journal
		// file is left beside the database (in exclusive locking mode
		// SQLite keeps it): the page written differs from the one on
		// disk in bytes 18 and 19 only, so that however a crash cuts
		// the write short, page 1 is whole.
		err = conn.QueryRowContext(ctx, "PRAGMA journal_mode = MEMORY").Scan(&mode)
		if err == nil && mode != "memory" {
			err = fmt.Errorf("journal mode still %s, not memory", mode)
		}
	}
	var se sqlite3.Error
	switch {
	case ctx.Err() != nil:
		return release, fmt.Errorf("restore interrupted (fold %s's log into it): nothing was changed", db)
	case busy != 0 || errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked):
		return release, fmt.Errorf("restore refused: %s is in use by another process (a shiftgate-hub command, a sqlite3 shell): let it end first (a database replaced under it is written on by it, and it would delete the restored one's log); nothing was changed", db)
	case errors.As(err, &se) && foldWriteFailed(se):
		// The fold may have written part of the log into the file,
		// which is then whole only with its log: put aside as it is,
		// the log renamed first, it would leave a torn hub.db for a
		// moment, and a restore killed then would leave it for good.
		return release, fmt.Errorf("restore failed: fold %s's log into it: %w: the disk is full (or failing): free space on it (the restore needs room for its copy of the backup and for this database's log folded into it) and run restore again; nothing was changed (the database keeps its log, and SQLite reads them together)", db, err)
	case err != nil:
		fmt.Fprintf(e.stderr, "%s cannot be read (%v): it is put aside as it is, with its log\n", db, err)
		return release, nil
	}
	// The lock is held by the connection, which the pool keeps open
	// (idle) until closed: in exclusive locking mode SQLite never lets
	// it go before.
	held = true
	fmt.Fprintf(e.stderr, "%s: log folded into it; locked until the copy replaces it\n", db)
	return func() {
		if held {
			held = false
			conn.Close()
		}
	}, nil
}

// foldWriteFailed tells whether foldOld failed writing, not reading: a
// full disk (SQLITE_FULL), or a write, sync or truncation the file system
// refused (a file size limit, a failing disk).
func foldWriteFailed(se sqlite3.Error) bool {
	switch se.ExtendedCode {
	case sqlite3.ErrIoErrWrite, sqlite3.ErrIoErrFsync, sqlite3.ErrIoErrDirFsync, sqlite3.ErrIoErrTruncate:
		return true
	}
	return se.Code == sqlite3.ErrFull
}

// verifyRestored verifies a restored trail under key (read from
// keyFile): intact from record 1 to its head. A break at record 1 is most
// often another hub's key.
func (e env) verifyRestored(ctx context.Context, trail audit.Trail, key []byte, keyFile string) (chainCheck, error) {
	rep, err := audit.Verify(ctx, key, trail, e.progress("verified", auditProgressEvery))
	var broken *audit.BrokenError
	switch {
	case errors.As(err, &broken) && broken.Seq == 1:
		return chainCheck{}, fmt.Errorf("its %w: audit.key is not the key of this trail (another hub's?), or the backup is damaged: put back the audit.key backed up with this hub", err)
	case errors.As(err, &broken):
		return chainCheck{}, fmt.Errorf("its %w: the backup is damaged or was changed: restore an older one", err)
	case err != nil:
		return chainCheck{}, err
	}
	fmt.Fprintf(e.stderr, "audit chain verified: %d records\n", rep.Records)
	return chainCheck{head: rep.Anchor(), records: rep.Records, verified: true, keyFile: keyFile}, nil
}

// putAside renames the database at db, if there is one, with its -wal,
// -shm and -journal, to db.replaced-TIME (and its -wal, …, so that SQLite
// reads them together), the log first: no moment leaves the old log beside
// a new file. The database itself is given its new name as a second one
// (a hard link), and keeps db until the copy is renamed over it: no moment
// leaves no file at db either, in which another process (a CLI command)
// would make a new, empty database there, whose writes the copy would
// then take the place of. On a file system without hard links (FAT, some
// FUSE and network file systems) the database is copied to its new name
// instead (copyAside): renamed, it would leave no hub.db until the copy
// took the name, and a restore killed then a directory in which the hub
// starts on a new, empty database. link is os.Link but in tests. It
// returns the new name ("" when there was no database).
func putAside(db string, now time.Time, link func(oldname, newname string) error) (string, error) {
	aside := db + ".replaced-" + now.UTC().Format("20060102T150405Z")
	had := false
	for _, suffix := range []string{"-wal", "-shm", "-journal", ""} {
		if _, err := os.Lstat(aside + suffix); err == nil {
			return "", fmt.Errorf("restore failed: %s exists; nothing was changed: run restore again in a second", aside+suffix)
		}
	}
	for _, suffix := range []string{"-wal", "-journal", "-shm", ""} {
		var err error
		if suffix != "" {
			err = os.Rename(db+suffix, aside+suffix)
		} else if err = link(db, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
			if err = copyAside(db, aside); err != nil {
				// db is as it was; only its log and index files, if
				// there were any, have been renamed aside.
				undo := ""
				if had {
					undo = undoAside(aside, db)
				}
				return "", fmt.Errorf("restore failed: %s cannot be given a second name (no hard links here), and a copy of it could not be kept as %s: %w; %s is as it was%s: free space for the copy, or move it out of the way yourself (no hub running), and run restore again", db, aside, err, db, undo)
			}
		}
		switch {
		case err == nil:
			had = true
		case errors.Is(err, fs.ErrNotExist):
		default:
			return "", fmt.Errorf("restore failed: rename %s aside: %w%s", db+suffix, err, undoAside(aside, db))
		}
	}
	if !had {
		return "", nil
	}
	return aside, nil
}

// copyAside keeps a copy of the database at db as aside, for putAside on
// a file system without hard links: written under a temporary name in
// the same directory (0600, the restoring user's: a kept file, for the
// operator), synced, and only then renamed to aside, so that a restore
// killed meanwhile leaves at most a .shiftgate-restore-*.tmp and db as it
// was. foldOld has folded the database's log into it and holds it locked,
// so the file alone is all of it and does not change while it is read (a
// database SQLite could not read keeps its log, renamed aside first, and
// the copy goes with it).
func copyAside(db, aside string) error {
	in, err := os.Open(db)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(db), ".shiftgate-restore-*.tmp") // 0600
	if err != nil {
		return err
	}
	kept := false
	defer func() {
		if !kept {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(out.Name(), aside); err != nil {
		return err
	}
	kept = true
	return nil
}

// undoAside says how to put back what putAside renamed, for an error
// after it.
func undoAside(aside, db string) string {
	if aside == "" {
		return ""
	}
	return fmt.Sprintf("; the database it replaced is %s: to put it back, with no hub running, rename it (and its -wal, -shm, -journal, if there) to %s", aside, db)
}

// linkedDB returns the file the hub's database at db is: db itself, or,
// when db is a symbolic link (the database kept on another volume), the
// file the link leads to, through as many links as there are. A link to
// a file that is not there leads to where the hub would make it (a new
// machine, its volume mounted and the link made before the restore);
// one into a directory that is not there (a volume not mounted) is
// refused: the restored database would be put in place of the link, on
// the wrong volume.
func linkedDB(db string) (string, error) {
	path := db
	for hops := 0; ; hops++ {
		fi, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && path != db:
			if di, err := os.Stat(filepath.Dir(path)); err != nil || !di.IsDir() {
				return "", fmt.Errorf("%s is a link to %s, whose directory is not there (a volume not mounted?): mount it, or make the link lead to where the database is to be", db, path)
			}
			return path, nil
		case errors.Is(err, fs.ErrNotExist):
			return db, nil
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink == 0:
			return path, nil
		case hops == 40: // as Linux's own limit
			return "", fmt.Errorf("%s: too many levels of links", db)
		}
		to, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(to) {
			// Relative to the directory the link is in, as the
			// kernel reads it: that directory's own links resolved
			// first, so that ".." in to goes where it would.
			dir, err := filepath.EvalSymlinks(filepath.Dir(path))
			if err != nil {
				return "", err
			}
			to = filepath.Join(dir, to)
		}
		path = to
	}
}

// adviseMissing says which files a hub needs beside its database, and a
// backup lacks, are not in dir, and what each one's absence does to the
// hub restored at db; it reports whether any is missing. On a new machine
// (dir holding the audit.key put back, and nothing else: the normal case
// for a restore) they all are. The CA is the one that matters: a hub
// whose restored database has kiosks enrolled refuses to start without it
// (hub.checkCAKept), and a new one cuts every kiosk off; so the count
// decides what is said. The server certificate and its key are not
// named: the hub issues new ones with the CA as it starts, which kiosks
// trust as they trust the CA. audit.key is not either: restore refuses
// to run without it.
func (e env) adviseMissing(ctx context.Context, dir, db string) bool {
	missing := missingBeside(dir)
	if len(missing) == 0 {
		return false
	}
	var why []string
	caCert := slices.Contains(missing, certs.CACertFile)
	caKey := slices.Contains(missing, certs.CAKeyFile)
	switch {
	case caCert && caKey:
		switch n, err := enrolledKiosks(ctx, db); {
		case err != nil:
			why = append(why, fmt.Sprintf("%s, %s: if kiosks are enrolled (it cannot be told: %v), the hub refuses to start without both: put both back from the backup of the data directory; a new CA (serve --new-ca) is one no kiosk trusts, and every kiosk must then enroll again", certs.CACertFile, certs.CAKeyFile, err))
		case n == 0:
			why = append(why, fmt.Sprintf("%s, %s: the restored database has no enrolled kiosk: the hub makes a new CA as it starts (put them back from the backup of the data directory to keep the CA)", certs.CACertFile, certs.CAKeyFile))
		default:
			kiosks := "kiosks"
			if n == 1 {
				kiosks = "kiosk"
			}
			why = append(why, fmt.Sprintf("%s, %s: the restored database has %d enrolled %s, whose certificates this CA signed: the hub refuses to start without them: put both back from the backup of the data directory; only if they are lost for good, start the hub with --new-ca, whose new CA no kiosk trusts: every kiosk must then enroll again", certs.CACertFile, certs.CAKeyFile, n, kiosks))
		}
	case caCert || caKey:
		gone, there := certs.CACertFile, certs.CAKeyFile
		if caKey {
			gone, there = certs.CAKeyFile, certs.CACertFile
		}
		why = append(why, fmt.Sprintf("%s: %s is there without it: the hub refuses to start until it is back from the backup of the data directory", gone, there))
	}
	if slices.Contains(missing, audit.SignKeyFile) {
		why = append(why, fmt.Sprintf("%s: without it the hub makes a new export signing key, and exports signed since verify only with its new %s: put it back from the backup of the data directory to keep the key auditors have", audit.SignKeyFile, audit.PublicKeyFile))
	}
	fmt.Fprintf(e.stderr, "not in %s, and not in a backup: %s: put back the copies kept with the backups of the data directory before starting the hub:\n", dir, strings.Join(missing, ", "))
	for _, w := range why {
		fmt.Fprintf(e.stderr, "  %s\n", w)
	}
	return true
}

// enrolledKiosks counts the active kiosks in the database at db, as the
// hub does before it makes a new CA.
func enrolledKiosks(ctx context.Context, db string) (int, error) {
	st, err := sqlite.OpenReadOnly(ctx, db)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	devices, err := st.ListDevices(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range devices {
		if d.State == store.DeviceActive {
			n++
		}
	}
	return n, nil
}

// missingBeside lists the files a restored hub needs in dir beside the
// database and which are not there.
func missingBeside(dir string) []string {
	var missing []string
	for _, name := range []string{audit.SignKeyFile, certs.CACertFile, certs.CAKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, name)
		}
	}
	return missing
}
