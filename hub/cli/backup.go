package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// backup writes a consistent copy of the hub's database to a new file,
// beside a running hub or on a stopped one: `backup --data DIR --out FILE`.
//
// The source is opened read-only (openHubReadOnly: no migration, the
// write-ahead log never folded into hub.db) and copied with VACUUM INTO in
// one read transaction (sqlite.ReadOnly.VacuumInto). It takes no data
// directory lock: a running hub keeps running. The copy goes to a
// temporary file in FILE's directory, made 0600 before anything is written
// to it, synced, checked (SQLite's quick_check, and the audit chain under
// DIR/audit.key when that can be read), then linked into place under
// FILE, which is never overwritten, and the directory synced. A failure,
// or ctx cancelled (Ctrl-C), removes the temporary file and leaves FILE
// unmade.
func (e env) backup(ctx context.Context, args []string) error {
	return e.backupTicks(ctx, args, nil)
}

// backupTicks is backup with the ticks of its progress lines given
// (copyProgress); nil ticks every backupProgressEvery.
func (e env) backupTicks(ctx context.Context, args []string, ticks <-chan time.Time) error {
	fs := e.flags("backup")
	data := fs.String("data", "", "hub data directory")
	outFlag := fs.String("out", "", "the file to write: a new name (an existing file is never overwritten) in an existing directory, best on another disk or host")
	if err := parse(fs, args, "data", "out"); err != nil {
		return err
	}
	out, err := checkBackupOut(*data, *outFlag)
	if err != nil {
		return err
	}
	began := time.Now()
	st, err := openHubReadOnly(ctx, *data)
	if errors.Is(err, sqlite.ErrNeedsMigration) {
		return olderBackup(*data)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	version := st.SchemaVersion()
	src := filepath.Join(*data, hub.DBFile)
	fmt.Fprintf(e.stderr, "backing up %s (schema version %d) to %s, in one read transaction (a running hub keeps running)\n", src, version, out)

	tmp, err := os.CreateTemp(filepath.Dir(out), ".shiftgate-backup-*.tmp") // 0600
	if err != nil {
		return fmt.Errorf("backup failed: make a temporary file beside --out: %w (this user must be able to write in %s)", err, filepath.Dir(out))
	}
	tmpPath := tmp.Name()
	kept := false
	defer func() {
		if !kept {
			// VACUUM INTO's journal is gone unless it was killed; the
			// names are this run's own.
			os.Remove(tmpPath + "-journal")
			os.Remove(tmpPath)
		}
	}()
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup failed: %w", err)
	}
	interrupted := func(what string) error {
		return fmt.Errorf("backup interrupted (%s): nothing was written to %s", what, out)
	}
	failed := func(what string, err error) error {
		if ctx.Err() != nil {
			return interrupted(what)
		}
		return fmt.Errorf("backup failed: %s: %w; nothing was written to %s", what, err, out)
	}

	snap := time.Now()
	if ticks == nil {
		t := time.NewTicker(backupProgressEvery)
		defer t.Stop()
		ticks = t.C
	}
	stop := e.copyProgress(tmpPath, hub.DBFile, ticks)
	err = st.VacuumInto(ctx, tmpPath)
	stop()
	if err != nil {
		return failed("copy the database", err)
	}
	if err := st.Unchanged(); err != nil {
		// Read as an immutable file, which a hub started meanwhile
		// wrote: the copy may be torn.
		return fmt.Errorf("backup failed: %w: nothing was written to %s; run backup again", err, out)
	}
	size, sum, err := syncAndHash(tmpPath)
	if err != nil {
		return failed("write the copy", err)
	}
	fmt.Fprintf(e.stderr, "snapshot written: %s in %s\n", sizeText(size), since(snap))

	chain, err := e.checkCopy(ctx, tmpPath, *data, out)
	if ctx.Err() != nil {
		return interrupted("checking the copy")
	}
	if err != nil {
		return err
	}
	note, err := keepNew(tmpPath, out, syncDir)
	if err != nil {
		return err
	}
	kept = true
	if note != "" {
		fmt.Fprintln(e.stderr, note)
	}

	fmt.Fprintf(e.stdout, "backup: %s\nsize: %d bytes (%s)\nsha256: %s\nschema version: %d\n", out, size, sizeText(size), hex.EncodeToString(sum), version)
	fmt.Fprintf(e.stdout, "snapshot: %s\n", snap.UTC().Format(time.RFC3339))
	fmt.Fprintf(e.stdout, "audit head: %s\n", chain)
	if left := notInBackup(*data); len(left) > 0 {
		fmt.Fprintf(e.stdout, "not in the backup: %s: back these up separately, and keep %s away from whoever holds the database backups (with both, the audit trail can be rewritten unseen)\n",
			strings.Join(left, ", "), audit.KeyFile)
	}
	if chain.head.Seq > 0 {
		fmt.Fprintf(e.stderr, "keep the audit head away from this host (a SIEM, a ticket): after a restore, audit verify --anchor %s tells whether the trail is this backup's, and a newer anchor shows what the restore rolled back\n", chain.head)
	}
	fmt.Fprintf(e.stderr, "done in %s\n", since(began))
	return nil
}

// olderBackup is backup's refusal of a database of an older schema,
// which this build reads only once upgraded (and backup writes nothing).
// What the other read-only commands say to do there, start this build's
// hub on it or restart the running one on this build, upgrades the
// schema for good before any backup of it exists, when one is needed
// most: so it says to back it up first, with the build that wrote it or
// as a copy of the stopped hub's files, and only then to upgrade.
func olderBackup(data string) error {
	db := filepath.Join(data, hub.DBFile)
	return fmt.Errorf("backup of %s: %w: its schema is older than this build's, which reads it only once upgraded, and an upgrade cannot be undone: back it up before the upgrade, with the build that wrote it (its backup command, if it has one, works beside its running hub), or stop the hub and copy %s together with %s-wal if there is one (cp -p, to a directory only the hub's user can read); then start the hub on this build, which upgrades the schema, and back it up again with this build; nothing was written",
		db, sqlite.ErrNeedsMigration, db, db)
}

// checkBackupOut checks --out before anything is opened or made, and
// returns it absolute: a new name (an existing file, or a link, even a
// dangling one, is never written over) in an existing directory, and not
// one of the names SQLite keeps for the hub's database in --data.
func checkBackupOut(data, out string) (string, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", fmt.Errorf("%w: --out %s: %v", errUsage, out, err)
	}
	dir := filepath.Dir(abs)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w: --out %s: directory %s does not exist: make it first (mkdir -m 700)", errUsage, out, dir)
	case err != nil:
		return "", fmt.Errorf("%w: --out %s: %v", errUsage, out, err)
	case !fi.IsDir():
		return "", fmt.Errorf("%w: --out %s: %s is not a directory", errUsage, out, dir)
	}
	if strings.ContainsAny(dir, "?#") {
		// The copy is checked with SQLite, which takes no such name.
		return "", fmt.Errorf("%w: --out %s: choose a directory whose path has no '?' or '#'", errUsage, out)
	}
	if li, err := os.Lstat(abs); err == nil && li.IsDir() {
		return "", fmt.Errorf("%w: --out %s is a directory: name a new file in it, such as %s", errUsage, out, filepath.Join(out, "hub-"+time.Now().UTC().Format("2006-01-02")+".db"))
	} else if err == nil {
		return "", fmt.Errorf("%w: --out %s exists: backup never writes over a file; give a new name", errUsage, out)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: --out %s: %v", errUsage, out, err)
	}
	if di, err := os.Stat(data); err == nil && os.SameFile(di, fi) {
		base := filepath.Base(abs)
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			if strings.EqualFold(base, hub.DBFile+suffix) {
				return "", fmt.Errorf("%w: --out %s is a name SQLite keeps for the hub's database in --data: give the backup another name, best outside the data directory", errUsage, out)
			}
		}
	}
	return abs, nil
}

// chainCheck is what the copy's audit trail was found to be.
type chainCheck struct {
	head     audit.Anchor // Seq 0: the trail is empty
	records  int64
	verified bool
	keyFile  string
	why      string // why it was not verified
}

func (c chainCheck) String() string {
	switch {
	case c.head.Seq == 0 && c.verified:
		return "none, the trail is empty"
	case c.head.Seq == 0:
		return "none, the trail is empty (no key to check it with: " + c.why + ")"
	case c.verified:
		return fmt.Sprintf("%s (chain verified with %s: %d records)", c.head, c.keyFile, c.records)
	}
	return fmt.Sprintf("%s (NOT verified: %s)", c.head, c.why)
}

// checkCopy checks the copy at path, to be kept as out: SQLite's
// quick_check, and its audit chain under the key in data when it can be
// read. A damaged copy, or a broken chain, is an error: the backup is not
// kept.
func (e env) checkCopy(ctx context.Context, path, data, out string) (chainCheck, error) {
	var c chainCheck
	cp, err := sqlite.OpenReadOnly(ctx, path)
	if err != nil {
		return c, fmt.Errorf("backup failed: open the copy: %w; nothing was written to %s: run backup again", err, out)
	}
	defer cp.Close()
	start := time.Now()
	if err := cp.QuickCheck(ctx); err != nil {
		return c, fmt.Errorf("backup failed: the copy fails SQLite's check: %w; nothing was written to %s: run backup again, and if it fails again the live database may be damaged: stop the hub and restore the last good backup", err, out)
	}
	fmt.Fprintf(e.stderr, "quick_check: ok (%s)\n", since(start))

	c.keyFile = filepath.Join(data, audit.KeyFile)
	key, kerr := audit.LoadKey(data)
	if kerr != nil {
		seq, hash, err := cp.AuditHead(ctx)
		if err != nil {
			return c, fmt.Errorf("backup failed: %w; nothing was written to %s", err, out)
		}
		c.head = audit.Anchor{Seq: seq, Hash: hash}
		c.why = kerr.Error()
		if errors.Is(kerr, audit.ErrKeyMissing) {
			c.why = fmt.Sprintf("there is no %s", c.keyFile)
		}
		if seq > 0 {
			fmt.Fprintf(e.stderr, "audit chain NOT verified: %s; to verify the copy, put it as %s in an empty directory with a copy of %s and run: shiftgate-hub audit verify --data THAT-DIRECTORY --anchor %s\n",
				c.why, hub.DBFile, audit.KeyFile, c.head)
		}
		return c, nil
	}
	start = time.Now()
	rep, err := audit.Verify(ctx, key, cp, e.progress("verified", auditProgressEvery))
	var broken *audit.BrokenError
	switch {
	case errors.As(err, &broken):
		return c, fmt.Errorf("backup failed: the copy's %w; the copy is a snapshot of the live database, so the trail is damaged there: run shiftgate-hub audit verify --data %s, and restore the database from the last good backup; no backup was written (to keep the damaged database for investigation, stop the hub and copy %s with its -wal and -shm files)",
			err, data, hub.DBFile)
	case err != nil:
		return c, fmt.Errorf("backup failed: %w; nothing was written to %s", err, out)
	}
	c.head, c.records, c.verified = rep.Anchor(), rep.Records, true
	fmt.Fprintf(e.stderr, "audit chain verified: %d records (%s)\n", rep.Records, since(start))
	return c, nil
}

// syncAndHash flushes the file at path to disk and returns its size and
// SHA-256.
func syncAndHash(path string) (int64, []byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, nil, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, nil, err
	}
	return n, h.Sum(nil), f.Close()
}

// keepNew gives the finished copy at tmp the name out, never writing over
// a file that took that name meanwhile, and syncs the directory with
// sync (syncDir). A hard link fails if out exists; a file system without
// hard links (a FAT or exFAT stick) gets a rename after one more look,
// which leaves a moment in which a file made under that name would be
// replaced.
//
// A file system that cannot sync a directory at all (EINVAL, ENOTSUP: some
// network and FUSE file systems) keeps the copy, which is synced already,
// with a note: only its name could be lost in a crash right after, as
// SQLite itself allows. Any other failure to sync removes it.
func keepNew(tmp, out string, sync func(dir string) error) (note string, err error) {
	if err := os.Link(tmp, out); err != nil {
		if _, lerr := os.Lstat(out); errors.Is(err, fs.ErrExist) || !errors.Is(lerr, fs.ErrNotExist) {
			return "", fmt.Errorf("backup failed: %s was made while the backup ran and is left as it is; nothing was written: run backup again with a new --out", out)
		}
		if err := os.Rename(tmp, out); err != nil {
			return "", fmt.Errorf("backup failed: name the copy %s: %w; nothing was written", out, err)
		}
	} else if err := os.Remove(tmp); err != nil {
		os.Remove(out)
		return "", fmt.Errorf("backup failed: remove the temporary file %s: %w; nothing was written", tmp, err)
	}
	if err := sync(filepath.Dir(out)); err != nil {
		if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
			return fmt.Sprintf("note: the file system of %s cannot sync a directory (%v): the copy is synced, but a crash in the next seconds could lose its name", filepath.Dir(out), err), nil
		}
		os.Remove(out)
		return "", fmt.Errorf("backup failed: sync the directory of %s: %w; nothing was written", out, err)
	}
	return "", nil
}

// syncDir flushes a directory's entries, so that a name just made in it
// survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// notInBackup lists the files in the data directory that the database
// copy does not hold and a restore needs: the keys, certificates and
// trust files (audit.key, ca-key.pem, server-key.pem, fido-mds.jwt, …),
// by their names' endings, so that a key file added later is named too.
func notInBackup(data string) []string {
	entries, err := os.ReadDir(data)
	if err != nil {
		return []string{filepath.Join(data, audit.KeyFile), filepath.Join(data, "*.pem")}
	}
	var left []string
	for _, de := range entries {
		name := de.Name()
		if de.IsDir() && name == "profiles" {
			left = append(left, filepath.Join(data, name)+string(filepath.Separator)) // the hub's own kiosk profiles
			continue
		}
		if !de.Type().IsRegular() {
			continue
		}
		for _, ext := range []string{".key", ".pem", ".pub", ".jwt"} {
			if strings.HasSuffix(name, ext) {
				left = append(left, filepath.Join(data, name))
				break
			}
		}
	}
	return left
}

// sizeText is a byte count for people: 12.3 MiB.
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}

// since is the time from start, rounded for people.
func since(start time.Time) time.Duration {
	return time.Since(start).Round(time.Millisecond)
}
