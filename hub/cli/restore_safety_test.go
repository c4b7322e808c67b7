package cli_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/cli"
)

// TestRestoreRefusedWhileDatabaseOpen: a CLI command (token create,
// admin, gc...) takes no hub.lock and may hold the database open while
// restore runs. Renamed under it, it would go on writing to the replaced
// file and, as it closes, delete DIR/hub.db-wal by name, which by then
// may be the restored hub's log. Restore is refused, changing nothing.
func TestRestoreRefusedWhileDatabaseOpen(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	backup, _ := takeBackup(t, live)
	hold, err := sql.Open("sqlite3", filepath.Join(live, hub.DBFile)+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	var n int
	if err := hold.QueryRow("SELECT count(*) FROM audit").Scan(&n); err != nil {
		t.Fatal(err)
	}
	before := snapshotBesideLock(t, live)
	code, stdout, stderr := run(t, "restore", "--data", live, "--from", backup)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "is in use by another process") || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("restore beside an open database: exit %d, stdout %q, stderr %q; want it refused", code, stdout, stderr)
	}
	if after := snapshotBesideLock(t, live); !maps(before, after) {
		t.Errorf("the refused restore changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	hold.Close()
	if code, stdout, stderr := run(t, "restore", "--data", live, "--from", backup); code != 0 {
		t.Errorf("restore once the database is closed: exit %d %q %q", code, stdout, stderr)
	}
}

// TestRestoreFoldsOldLogFirst: the replaced database's write-ahead log
// (records a crashed hub left there) is folded into it before any file
// is renamed, so that a restore killed between renaming the log aside and
// renaming the database leaves a hub.db that lacks nothing: the replaced
// file alone, without any log, holds every record.
func TestRestoreFoldsOldLogFirst(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	backup, _ := takeBackup(t, live)
	dir := crashedCopy(t, live)
	newer := auditRows(t, filepath.Join(dir, hub.DBFile))

	if code, stdout, stderr := run(t, "restore", "--data", dir, "--from", backup); code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	asides, _ := filepath.Glob(filepath.Join(dir, hub.DBFile+".replaced-*"))
	var aside string
	for _, p := range asides {
		if strings.HasSuffix(p, "-wal") {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
				t.Errorf("the replaced database's log still holds %d bytes: it was moved, not folded in", fi.Size())
			}
		} else if !strings.HasSuffix(p, "-shm") {
			aside = p
		}
	}
	if aside == "" {
		t.Fatalf("the replaced database is not kept: %v", asides)
	}
	alone := filepath.Join(t.TempDir(), "alone.db")
	copyFiles(t, dir, filepath.Dir(alone), filepath.Base(aside))
	if err := os.Rename(filepath.Join(filepath.Dir(alone), filepath.Base(aside)), alone); err != nil {
		t.Fatal(err)
	}
	if n := auditRows(t, alone); n != newer {
		t.Errorf("the replaced database without its log holds %d audit records, it had %d", n, newer)
	}
}

// TestRestoreFromSwappedForFIFO: whoever can write the backup directory
// can put a FIFO (or a device, or another file) in the place of --from
// between restore's look at it and its copy. Restore reads the file it
// opened once, checks that very descriptor, and restores what it opened:
// it neither hangs on a FIFO nobody writes nor copies /dev/zero into DIR
// without end. A FIFO given as --from is refused at once.
func TestRestoreFromSwappedForFIFO(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	backup, head := takeBackup(t, live)
	swap := func() {
		if err := os.Remove(backup); err != nil {
			t.Error(err)
		}
		if err := syscall.Mkfifo(backup, 0o600); err != nil {
			t.Error(err)
		}
	}
	stderr := &callOn{after: "restoring ", fn: swap}
	var stdout strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(t.Context(), []string{"restore", "--data", live, "--from", backup}, &stdout, stderr)
	}()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		// Let the blocked open go: a writer that closes at once.
		if f, err := os.OpenFile(backup, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		code = <-done
		t.Errorf("restore, its --from swapped for a FIFO, hung until a writer came (exit %d)", code)
	}
	if code != 0 || !strings.Contains(stdout.String(), "audit head: "+head+" (chain verified") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the file first opened restored, up to %s", code, stdout.String(), stderr.String(), head)
	}

	// The FIFO itself, given as --from.
	before := snapshotBesideLock(t, live)
	go func() {
		var stdout, stderr strings.Builder
		code := cli.Run(t.Context(), []string{"restore", "--data", live, "--from", backup}, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "is not a file") {
			t.Errorf("restore --from a FIFO: exit %d, stderr %q; want it refused as not a file", code, stderr.String())
		}
		done <- code
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		if f, err := os.OpenFile(backup, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		<-done
		t.Errorf("restore --from a FIFO hung until a writer came")
	}
	if after := snapshotBesideLock(t, live); !maps(before, after) {
		t.Errorf("the refused restore changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// callOn is a stderr that runs fn once, when what was written contains
// after.
type callOn struct {
	strings.Builder
	after string
	fn    func()
	done  bool
}

func (w *callOn) Write(p []byte) (int, error) {
	n, err := w.Builder.Write(p)
	if !w.done && strings.Contains(w.String(), w.after) {
		w.done = true
		w.fn()
	}
	return n, err
}

// TestRestoreOlderBackupRefusedChangesNothing: a backup of an older
// schema whose trail does not verify under DIR/audit.key (another hub's
// key here) is refused before anything in DIR changes, like any other
// backup: it is upgraded and checked away from hub.db, not put in place
// first.
func TestRestoreOlderBackupRefusedChangesNothing(t *testing.T) {
	_, old, _ := olderHubWithTrail(t)
	other := t.TempDir()
	seedBackupHub(t, other) // another hub, another key
	before := snapshotBesideLock(t, other)
	code, stdout, stderr := run(t, "restore", "--data", other, "--from", filepath.Join(old, hub.DBFile))
	if code != 1 || !strings.Contains(stderr, "audit.key is not the key of this trail") || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("restore of an older backup under another key: exit %d, stdout %q, stderr %q; want it refused, nothing changed", code, stdout, stderr)
	}
	if after := snapshotBesideLock(t, other); !maps(before, after) {
		t.Errorf("the refused restore changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// TestRestoreOlderBackupInterrupted: Ctrl-C while an older backup is
// upgraded leaves DIR as it was.
func TestRestoreOlderBackupInterrupted(t *testing.T) {
	src, old, _ := olderHubWithTrail(t)
	dir := filepath.Join(t.TempDir(), "d")
	copyFiles(t, src, dir, audit.KeyFile, hub.DBFile)
	before := snapshotBesideLock(t, dir)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &cancelOn{after: "of an older schema", cancel: cancel}
	var stdout strings.Builder
	code := cli.Run(ctx, []string{"restore", "--data", dir, "--from", filepath.Join(old, hub.DBFile)}, &stdout, stderr)
	if code != 1 || !strings.Contains(stderr.String(), "restore interrupted") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and the restore interrupted", code, stdout.String(), stderr.String())
	}
	if after := snapshotBesideLock(t, dir); !maps(before, after) {
		t.Errorf("the interrupted restore changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// TestRestoreKeepsOwner: run as root (sudo, at 3 a.m.), restore gives the
// restored database, and the hub.lock it makes, the owner of the database
// it replaces, or of DIR when there was none: the hub runs as its own
// user, which could open neither a root-owned hub.db (0600) nor a
// root-owned hub.lock, whoever owns DIR (root, with the hub's user owning
// the files in it, in some installations). Run as another user, the files
// are that user's, as the database they replace.
func TestRestoreKeepsOwner(t *testing.T) {
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		uid, gid = 4321, 4321
	}
	for _, tc := range []struct {
		name     string
		dirOwned bool // DIR owned by the hub's user; else the database only
	}{
		{"DIR owned by root, hub.db by the hub's user", false},
		{"a new DIR owned by the hub's user", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := t.TempDir()
			seedBackupHub(t, live)
			backup, _ := takeBackup(t, live)
			dir := filepath.Join(t.TempDir(), "d")
			copyFiles(t, live, dir, audit.KeyFile)
			if tc.dirOwned {
				if err := os.Chown(dir, uid, gid); err != nil {
					t.Fatal(err)
				}
			} else {
				copyFiles(t, live, dir, hub.DBFile)
				if err := os.Chown(filepath.Join(dir, hub.DBFile), uid, gid); err != nil {
					t.Fatal(err)
				}
			}
			if code, stdout, stderr := run(t, "restore", "--data", dir, "--from", backup); code != 0 {
				t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
			}
			for _, name := range []string{hub.DBFile, "hub.lock"} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				if int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: owner %d:%d mode %v; want %d:%d 0600", name, st.Uid, st.Gid, fi.Mode().Perm(), uid, gid)
				}
			}
		})
	}
}

// TestRestoreThenWatchRecordsRollback: restored by the command over a
// hub whose audit.head is past the backup, the restored hub's first
// audit-watch check records the rollback once and goes on, and the trail
// then verifies against the backup's head.
func TestRestoreThenWatchRecordsRollback(t *testing.T) {
	live := t.TempDir()
	deviceCodes(t, live, "north-1", "north-2")
	backup, head := takeBackup(t, live)
	deviceCodes(t, live, "north-3", "north-4")
	if st := watchOnce(t, live); st.Checked.Seq != 4 {
		t.Fatalf("the watch checked up to record %d, want 4", st.Checked.Seq)
	}
	if code, stdout, stderr := run(t, "restore", "--data", live, "--from", backup); code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	if st := watchOnce(t, live); st.Breaks != 1 || st.Stopped != "" {
		t.Errorf("the watch on the restored trail: %+v; want one break recorded and the watch going on", st)
	}
	if code, stdout, stderr := run(t, "audit", "verify", "--data", live, "--anchor", head); code != 0 {
		t.Errorf("verify against the backup's head: exit %d %q %q", code, stdout, stderr)
	}
}

// TestRestoreSaysWhatElseRolledBack: a token revoked after the backup
// works again once it is restored, and nothing but the operator revokes
// it again (the identity provider's resync does not); restore's closing
// advice says so, with kiosks disabled or enrolled since.
func TestRestoreSaysWhatElseRolledBack(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	if code, _, errs := run(t, "token", "create", "--data", live, "--name", "ops-script", "--scope", "admin"); code != 0 {
		t.Fatalf("token create: %s", errs)
	}
	_, list, _ := run(t, "token", "list", "--data", live)
	var id string
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "ops-script") {
			id = strings.Fields(line)[0]
		}
	}
	backup, _ := takeBackup(t, live)
	if code, _, errs := run(t, "token", "revoke", "--data", live, "--id", id); code != 0 {
		t.Fatalf("token revoke %q: %s", id, errs)
	}
	code, stdout, stderr := run(t, "restore", "--data", live, "--from", backup)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, list, _ := run(t, "token", "list", "--data", live); !strings.Contains(list, "ops-script") || strings.Contains(list, "revoked") {
		t.Fatalf("token list after the restore: %q; want the revoked token active again", list)
	}
	for _, want := range []string{"API tokens revoked since the backup work again", "kiosks disabled since are enabled again", "enroll them again"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("restore's advice lacks %q:\n%s", want, stderr)
		}
	}
}
