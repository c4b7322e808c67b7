package cli_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestBackupOlderSchemaBeforeUpgrade: after this build is installed and
// before the hub runs on it, the database is of an older schema, and a
// backup of it is what an operator takes before the upgrade changes it
// for good. backup cannot read it (it does not migrate) and refuses, but
// must not say to start the hub on this build first (that upgrades the
// schema with no backup of it), nor to restart the older hub still
// running on it on this build: it says to back it up first, with the
// build that wrote it or as a file copy with the hub stopped. Nothing is
// made or changed.
func TestBackupOlderSchemaBeforeUpgrade(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	olderHub(t, dir)
	check := func(t *testing.T) {
		t.Helper()
		outDir := t.TempDir()
		before := snapshot(t, dir, hub.DBFile+"-shm")
		code, out, errs := run(t, "backup", "--data", dir, "--out", filepath.Join(outDir, "b.db"))
		if code != 1 || out != "" || !strings.Contains(errs, "older than this build's") {
			t.Fatalf("backup of an older schema: exit %d, stdout %q, stderr %q; want exit 1 refusing it", code, out, errs)
		}
		for _, bad := range []string{"start the hub on it once", "restart it on this build"} {
			if strings.Contains(errs, bad) {
				t.Errorf("backup of an older schema says %q: that upgrades the schema before it is backed up:\n%s", bad, errs)
			}
		}
		for _, want := range []string{"before", "the build that wrote it", "stop", hub.DBFile + "-wal"} {
			if !strings.Contains(errs, want) {
				t.Errorf("backup of an older schema: %q; want it to say how to back it up first (%q)", errs, want)
			}
		}
		if after := snapshot(t, dir, hub.DBFile+"-shm"); !maps(before, after) {
			t.Errorf("the backup changed the directory:\nbefore %v\nafter  %v", before, after)
		}
		if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
			t.Errorf("the out directory holds %v, want nothing", entries)
		}
	}
	t.Run("no hub running", check)
	stop := runningHub(t, dir)
	t.Run("the older hub running", check)
	stop()
}

// olderHubWithTrail makes a stopped hub of an older build (schema
// version 19) whose database, old/hub.db, holds an audit trail sealed
// under src/audit.key up to head, with no log beside it: what an older
// build's backup of it is.
func olderHubWithTrail(t *testing.T) (src, old, head string) {
	t.Helper()
	src = t.TempDir()
	deviceCodes(t, src, "north-1", "north-2", "north-3")
	head = verifyHead(t, src)
	old = filepath.Join(t.TempDir(), "old")
	olderHub(t, old)
	db, err := sql.Open("sqlite3", filepath.Join(old, hub.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"ATTACH DATABASE '" + filepath.Join(src, hub.DBFile) + "' AS src",
		"INSERT INTO audit SELECT seq, time, actor, action, subject, system, detail, prev, hash FROM src.audit",
		"DETACH DATABASE src",
		"PRAGMA journal_mode = DELETE",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if v := userVersion(t, filepath.Join(old, hub.DBFile), -1); v != 19 {
		t.Fatalf("the older hub's database has schema version %d, want 19", v)
	}
	return src, old, head
}

// TestRestoredOlderBackupUpgrades: a backup of an older build's hub
// (schema version 19, with an audit trail), restored as the README says
// into a data directory with its audit.key, is upgraded by this build's
// hub as it starts; its trail still verifies against the head it had (no
// migration touches a sealed record; the hub may append to it), the
// action index finds its records, and this build backs it up with the
// chain verified.
func TestRestoredOlderBackupUpgrades(t *testing.T) {
	src, old, head := olderHubWithTrail(t)
	// The older build's backup of it is that file; restored beside the
	// key.
	dir := filepath.Join(t.TempDir(), "restored")
	copyFiles(t, old, dir, hub.DBFile)
	copyFiles(t, src, dir, audit.KeyFile)

	s, err := hub.New(t.Context(), hub.Config{DataDir: dir, Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443"})
	if err != nil {
		t.Fatalf("a hub of this build on the restored older database: %v", err)
	}
	s.Close()
	if v := userVersion(t, filepath.Join(dir, hub.DBFile), -1); v <= 19 {
		t.Errorf("schema version %d after the hub started: not upgraded", v)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", head); code != 0 {
		t.Errorf("audit verify of the upgraded restore: exit %d %q %q; want intact through %s", code, out, errs, head)
	}
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		if n := countAudit(t, st, "device.code"); n != 3 {
			t.Errorf("the upgraded restore finds %d device.code records by action, want 3", n)
		}
	})
	code, out, errs := run(t, "backup", "--data", dir, "--out", filepath.Join(t.TempDir(), "b.db"))
	if code != 0 {
		t.Fatalf("backup of the upgraded restore: exit %d %q %q", code, out, errs)
	}
	sum := backupSummary(t, out)
	checkBackupFile(t, sum)
	if !strings.Contains(sum["audit head"], "chain verified with ") {
		t.Errorf("backup of the upgraded restore: audit head %q, want the chain verified", sum["audit head"])
	}
}
