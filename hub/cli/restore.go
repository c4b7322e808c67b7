package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// restore puts a file written by backup in place as the hub's database:
// `restore --data DIR --from FILE`.
//
// It holds the data directory's lock throughout, so it is refused while
// a hub runs on DIR and no hub starts until it is done: a database
// replaced under a running hub would be written on by it, through its
// write-ahead log, which belongs to the old file. The backup is copied
// into DIR (0600) and synced, and checked as backup checks it (SQLite's
// quick_check, and its audit chain under DIR/audit.key, which must be
// there: the hub refuses a trail without its key) before anything in DIR
// changes. A database already there is never deleted: it is renamed to
// hub.db.replaced-TIME with its -wal and -shm, which go first, so that
// SQLite never reads the old log into the restored file. Then the copy
// takes the name hub.db and the directory is synced.
//
// A backup of an older schema (an older build's) cannot be read by this
// build before it is upgraded: it is put in place unchecked, upgraded as
// the hub would upgrade it, and then checked; a failed check leaves it in
// place and says how to put the replaced database back. A failure before
// that, or ctx cancelled (Ctrl-C), leaves DIR as it was.
//
// The keys and certificates are not in a backup: restore says which the
// hub needs and DIR lacks. audit.head is left as it is: the hub records
// the rollback in the trail at its first check (see hub/README.md).
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
	if fi, err := os.Stat(src); err != nil {
		return fmt.Errorf("%w: --from: %v", errUsage, err)
	} else if !fi.Mode().IsRegular() {
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
		if si, _ := os.Stat(src); os.SameFile(di, si) {
			return fmt.Errorf("%w: --from %s is the hub's database itself: give the file backup wrote", errUsage, *from)
		}
	}

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

	fmt.Fprintf(e.stderr, "restoring %s to %s (hub.lock held: no hub starts meanwhile)\n", src, dbPath)
	tmp, err := os.CreateTemp(*data, ".shiftgate-restore-*.tmp") // 0600
	if err != nil {
		return fmt.Errorf("restore failed: make a temporary file in %s: %w; nothing was changed", *data, err)
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
	if err := sameOwner(tmp, *data); err != nil {
		return unchanged("give the copy the data directory's owner", err)
	}
	if err := copyFile(ctx, tmp, src); err != nil {
		return unchanged("copy the backup", err)
	}
	if err := tmp.Close(); err != nil {
		return unchanged("copy the backup", err)
	}

	keyFile := filepath.Join(*data, audit.KeyFile)
	chain, older, err := e.checkRestore(ctx, tmpPath, key, keyFile, src)
	if ctx.Err() != nil {
		return unchanged("checking the backup", ctx.Err())
	}
	if err != nil {
		return err
	}

	// From here on DIR changes; an interrupt no longer stops it halfway.
	aside, err := putAside(dbPath, time.Now())
	if err != nil {
		return err
	}
	if err := os.Rename(tmpPath, dbPath); err != nil {
		return fmt.Errorf("restore failed: name the copy %s: %w%s", dbPath, err, undoAside(aside, dbPath))
	}
	placed = true
	if err := syncDir(*data); err != nil {
		return fmt.Errorf("restore: sync %s: %w: a crash now could lose the restore; run restore again", *data, err)
	}

	if older {
		// Upgraded now, under the lock, as the hub's start would, and
		// only then readable by this build to check.
		chain, err = e.upgradeRestored(ctx, *data, key, keyFile)
		if err != nil {
			return fmt.Errorf("%w; the restored database is in place%s", err, undoAside(aside, dbPath))
		}
	}
	fmt.Fprintf(e.stdout, "restored: %s\nfrom: %s\naudit head: %s\n", dbPath, src, chain)
	if aside != "" {
		fmt.Fprintf(e.stdout, "replaced: %s (kept, with its -wal and -shm if it had them: delete it once the restored hub is checked)\n", aside)
	}
	if missing := missingBeside(*data); len(missing) > 0 {
		fmt.Fprintf(e.stderr, "not in %s, and not in a backup: %s: put back the copies kept with the backups before starting the hub (without ca.pem and ca-key.pem a hub with enrolled kiosks refuses to start; without audit-sign.key it makes a new export signing key)\n",
			*data, strings.Join(missing, ", "))
	}
	check := ""
	if chain.head.Seq > 0 {
		check = fmt.Sprintf(", then audit verify --data %s --anchor %s checks the restored trail", *data, chain.head)
	}
	fmt.Fprintf(e.stderr, "next: start the hub; its audit watch records the rollback in the trail (audit.alert, an error in the log once)%s; and have the identity provider send everything again (Entra ID: Restart provisioning; Okta: Force sync): leavers since the backup are active again until it does\n", check)
	return nil
}

// sameOwner gives f the owner of the directory dir, when they differ
// (restore run as root on the hub user's directory): the hub could not
// open a database owned by another user.
func sameOwner(f *os.File, dir string) error {
	di, err := os.Stat(dir)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	d, ok1 := di.Sys().(*syscall.Stat_t)
	o, ok2 := fi.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 || (d.Uid == o.Uid && d.Gid == o.Gid) || os.Geteuid() != 0 {
		// Only root may give a file away; any other user restores a
		// directory it owns.
		return nil
	}
	return f.Chown(int(d.Uid), int(d.Gid))
}

// copyFile copies the file at src into dst and syncs dst.
func copyFile(ctx context.Context, dst *os.File, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := io.Copy(dst, ctxReader{ctx, in}); err != nil {
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

// upgradeRestored upgrades the schema of the database restored in dir,
// as the hub does as it starts, and checks its audit chain under key.
func (e env) upgradeRestored(ctx context.Context, dir string, key []byte, keyFile string) (chainCheck, error) {
	st, err := hub.OpenStore(ctx, dir)
	if err != nil {
		return chainCheck{}, fmt.Errorf("restore: upgrade the schema: %w", err)
	}
	defer st.Close()
	fmt.Fprintln(e.stderr, "schema upgraded")
	c, err := e.verifyRestored(ctx, st, key, keyFile)
	if err != nil {
		return c, fmt.Errorf("restore: %w", err)
	}
	return c, nil
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
// a new file. It returns the new name ("" when there was no database).
func putAside(db string, now time.Time) (string, error) {
	aside := db + ".replaced-" + now.UTC().Format("20060102T150405Z")
	had := false
	for _, suffix := range []string{"-wal", "-shm", "-journal", ""} {
		if _, err := os.Lstat(aside + suffix); err == nil {
			return "", fmt.Errorf("restore failed: %s exists; nothing was changed: run restore again in a second", aside+suffix)
		}
	}
	for _, suffix := range []string{"-wal", "-journal", "-shm", ""} {
		err := os.Rename(db+suffix, aside+suffix)
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

// undoAside says how to put back what putAside renamed, for an error
// after it.
func undoAside(aside, db string) string {
	if aside == "" {
		return ""
	}
	return fmt.Sprintf("; the database it replaced is %s: to put it back, with no hub running, rename it (and its -wal, -shm, -journal, if there) to %s", aside, db)
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
