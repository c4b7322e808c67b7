package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// watchOnce runs one check of the audit watch on the hub in dir, as a
// running hub does every minute: it keeps audit.head and, finding a
// break, records an audit.alert in the trail with the hub's own key.
func watchOnce(t *testing.T, dir string) audit.WatchStatus {
	t.Helper()
	st, err := hub.OpenStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := audit.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	w, err := audit.NewWatcher(audit.WatchConfig{Key: key, Trail: st, Dir: dir,
		Alert: func(ctx context.Context, e audit.Entry) error {
			return st.InTx(ctx, func(tx store.Ops) error { _, err := alog.Append(ctx, tx, e); return err })
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	return w.Status()
}

// restoreInPlace restores backup into the data directory dir as the
// README says: the hub stopped, the file as hub.db with no log or index
// beside it, audit.key and audit.head left as they are.
func restoreInPlace(t *testing.T, backup, dir string) {
	t.Helper()
	for _, name := range []string{hub.DBFile + "-wal", hub.DBFile + "-shm"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, hub.DBFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAuditVerifyAfterRestore: a trail rolled back by a restore from an
// older backup is told from tampering. Before the restored hub starts,
// audit verify finds the trail ending before the record audit.head names,
// and says that this is what a restore leaves until the hub records the
// rollback (not to restore a backup, which was just done). Once the hub's
// watch has recorded it (audit.alert) and the trail has grown again, an
// anchor taken before the restore no longer matches; verify still fails,
// and names the rollback the trail records, and where the trail was
// rolled back to, so the operator can tell it from a rewrite; the
// backup's own head verifies. A trail cut and regrown with no recorded
// rollback is still called a possible rewrite, with no word of a restore.
func TestAuditVerifyAfterRestore(t *testing.T) {
	live := t.TempDir()
	deviceCodes(t, live, "north-1", "north-2")
	out := filepath.Join(t.TempDir(), "b.db")
	code, stdout, stderr := run(t, "backup", "--data", live, "--out", out)
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	backupHead := checkBackupFile(t, backupSummary(t, stdout))
	deviceCodes(t, live, "north-3", "north-4")
	if st := watchOnce(t, live); st.Checked.Seq != 4 {
		t.Fatalf("the watch checked up to record %d, want 4", st.Checked.Seq)
	}
	before := verifyHead(t, live) // filed away before the restore

	restoreInPlace(t, out, live)
	code, stdout, stderr = run(t, "audit", "verify", "--data", live)
	if code != 1 || !strings.HasPrefix(stdout, "BROKEN at record 3: ") {
		t.Fatalf("verify of the restored trail before the hub started: exit %d %q %q; want exit 1, BROKEN at record 3", code, stdout, stderr)
	}
	for _, want := range []string{"audit.head", "restore", "start the hub"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("verify of the restored trail says %q; want it to mention %q (a restore from an older backup leaves this)", stderr, want)
		}
	}
	if strings.Contains(stderr, "restore the database from backup") {
		t.Errorf("verify of a trail just restored says to restore it: %q", stderr)
	}

	st := watchOnce(t, live) // the restored hub's first check
	if st.Breaks != 1 || st.Stopped != "" {
		t.Fatalf("the watch on the restored trail: %+v; want one break recorded and the watch going on", st)
	}
	deviceCodes(t, live, "north-5", "north-6") // records 4 and 5 of the new trail
	if code, stdout, stderr := run(t, "audit", "verify", "--data", live, "--anchor", backupHead); code != 0 {
		t.Errorf("verify against the backup's head: exit %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "audit", "verify", "--data", live, "--anchor", before)
	if code != 1 || !strings.HasPrefix(stdout, "BROKEN at record 4: ") {
		t.Fatalf("verify against an anchor from before the restore: exit %d %q %q; want exit 1, BROKEN at record 4", code, stdout, stderr)
	}
	for _, want := range []string{"record 3", "audit.alert", "rolled back to record 2", "restore"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("verify against an anchor from before the restore says %q; want it to name the recorded rollback (%q)", stderr, want)
		}
	}
	if strings.Contains(stderr, "restore the database from backup") {
		t.Errorf("verify of a trail rolled back by a restore says to restore it: %q", stderr)
	}

	// The same cut and regrowth with no rollback recorded: a rewrite, as
	// before.
	other := t.TempDir()
	deviceCodes(t, other, "north-1", "north-2", "north-3", "north-4")
	anchor := verifyHead(t, other)
	hubtest.CutAuditTrail(t, other, 2)
	deviceCodes(t, other, "north-5", "north-6")
	code, stdout, stderr = run(t, "audit", "verify", "--data", other, "--anchor", anchor)
	if code != 1 || !strings.HasPrefix(stdout, "BROKEN at record 4: ") || !strings.Contains(stderr, "rewritten") || strings.Contains(stderr, "audit.alert") {
		t.Errorf("verify of a trail cut with no rollback recorded: exit %d %q %q; want BROKEN at record 4, a possible rewrite, no recorded rollback", code, stdout, stderr)
	}
}
