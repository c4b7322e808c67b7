package cli_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/cli"
)

// takeBackup runs backup of data into a new file and returns the file and
// the audit head its summary gives.
func takeBackup(t *testing.T, data string) (file, head string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "b.db")
	code, stdout, stderr := run(t, "backup", "--data", data, "--out", file)
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	return file, checkBackupFile(t, backupSummary(t, stdout))
}

// auditRows counts the audit rows in the database at path, read with a
// client of the test's own.
func auditRows(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM audit").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshotBesideLock is snapshot(dir) without hub.lock, which a restore
// makes to hold (as serve does) and leaves, empty of meaning once let go.
func snapshotBesideLock(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := snapshot(t, dir, "hub.lock")
	delete(m, "hub.lock")
	return m
}

// TestRestoreReplacesAndKeeps: restore puts a backup in place of a
// database that has moved on since (newer records, some still in its
// write-ahead log). The old database is kept under a new name, its log
// folded into it (see TestRestoreFoldsOldLogFirst), and still holds every
// record; no old log is left beside the restored file (SQLite would read
// it into it). The restored hub.db
// is 0600, its trail verifies up to the backup's head, and a hub starts
// on it. The summary names both files and the head; stderr says what to
// put back (not in a backup) and what to do next.
func TestRestoreReplacesAndKeeps(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	backup, head := takeBackup(t, live)

	// The hub goes on: a token whose record stays in the log while a
	// connection keeps it, as after a crash.
	dir := crashedCopy(t, live)
	newer := auditRows(t, filepath.Join(dir, hub.DBFile))

	code, stdout, stderr := run(t, "restore", "--data", dir, "--from", backup)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	db := filepath.Join(dir, hub.DBFile)
	for _, want := range []string{"restored: " + db + "\n", "from: " + backup + "\n", "audit head: " + head + " (chain verified", "replaced: " + db + ".replaced-"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("restore's summary lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{"audit-sign.key, ca.pem, ca-key.pem", "audit verify --data " + dir + " --anchor " + head, "Restart provisioning"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("restore's stderr lacks %q:\n%s", want, stderr)
		}
	}
	if _, err := os.Lstat(db + "-wal"); !os.IsNotExist(err) {
		t.Errorf("a log is beside the restored database: %v", err)
	}
	asides, _ := filepath.Glob(db + ".replaced-*")
	var aside string
	for _, p := range asides {
		if !strings.HasSuffix(p, "-wal") && !strings.HasSuffix(p, "-shm") {
			aside = p
		}
	}
	if aside == "" {
		t.Fatalf("the replaced database is not kept: %v", asides)
	}
	if n := auditRows(t, aside); n != newer {
		t.Errorf("the replaced database holds %d audit records, it had %d", n, newer)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("restored hub.db: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".shiftgate-restore-*")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", head); code != 0 || !strings.HasSuffix(out, "head "+head+"\n") {
		t.Errorf("audit verify of the restored database: exit %d %q %q; want intact up to %s", code, out, errs, head)
	}
	if code, out, _ := run(t, "token", "list", "--data", dir); code != 0 || strings.Contains(out, "late-idp") {
		t.Errorf("token list of the restored database: exit %d %q; want the backup's tokens only", code, out)
	}
	s, err := hub.New(t.Context(), hub.Config{DataDir: dir, Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443"})
	if err != nil {
		t.Fatalf("a hub on the restored directory: %v", err)
	}
	s.Close()
}

// TestRestoreRefusedWhileHubRuns: with a hub holding the data directory's
// lock, restore is refused, naming it, and changes nothing; once it has
// stopped, the same restore goes through.
func TestRestoreRefusedWhileHubRuns(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	backup, head := takeBackup(t, live)
	deviceCodes(t, live, "north-1")
	stop := runningHub(t, live)
	before := snapshot(t, live, hub.DBFile+"-shm")
	code, stdout, stderr := run(t, "restore", "--data", live, "--from", backup)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "a hub is running on "+live+" (PID 4242): stop it first") || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("restore beside a running hub: exit %d, stdout %q, stderr %q; want it refused", code, stdout, stderr)
	}
	if after := snapshot(t, live, hub.DBFile+"-shm"); !maps(before, after) {
		t.Errorf("the refused restore changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	stop()
	if code, stdout, stderr := run(t, "restore", "--data", live, "--from", backup); code != 0 || !strings.Contains(stdout, "audit head: "+head) {
		t.Errorf("restore once the hub stopped: exit %d %q %q", code, stdout, stderr)
	}
}

// TestRestoreRefusals: a mistake in the flags (exit 2; among them a file
// with a write-ahead log beside it, a copy of a hub's files whose log
// restore would leave out), a data directory
// without the trail's audit.key or with another hub's, a file that is not
// a database, and a backup whose trail was edited are refused (exit 1)
// before anything in the data directory changes: the database in it is
// as it was, and no temporary file is left (only hub.lock, the lock the
// restore held, may be new).
func TestRestoreRefusals(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	backup, _ := takeBackup(t, live)
	other := t.TempDir()
	seedBackupHub(t, other) // another hub, another key
	garbage := filepath.Join(t.TempDir(), "notes.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database\n", 500)), 0o600); err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.db")
	copyFiles(t, filepath.Dir(backup), filepath.Dir(tampered), filepath.Base(backup))
	if err := os.Rename(filepath.Join(filepath.Dir(tampered), filepath.Base(backup)), tampered); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", tampered)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_no_update`, `UPDATE audit SET actor = 'nobody' WHERE seq = 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	noKey := t.TempDir()
	copyFiles(t, live, noKey, hub.DBFile)
	withLog := filepath.Join(t.TempDir(), "copied.db")
	for name, to := range map[string]string{backup: withLog, filepath.Join(live, audit.KeyFile): withLog + "-wal"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name string
		dir  string
		args []string
		code int
		want string
	}{
		{"no --from", live, []string{"--data", live}, 2, "restore needs --from"},
		{"no --data", live, []string{"--from", backup}, 2, "restore needs --data"},
		{"missing --from", live, []string{"--data", live, "--from", backup + ".nope"}, 2, "no such file"},
		{"a file with its log beside it", live, []string{"--data", live, "--from", withLog}, 2, "has a write-ahead log beside it"},
		{"the database itself", live, []string{"--data", live, "--from", filepath.Join(live, hub.DBFile)}, 2, "the hub's database itself"},
		{"no audit.key", noKey, []string{"--data", noKey, "--from", backup}, 1, "put back the audit.key backed up with this hub"},
		{"another hub's key", other, []string{"--data", other, "--from", backup}, 1, "audit.key is not the key of this trail"},
		{"not a database", live, []string{"--data", live, "--from", garbage}, 1, "restore refused: " + garbage},
		{"an edited trail", live, []string{"--data", live, "--from", tampered}, 1, "audit chain broken at record 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshotBesideLock(t, tc.dir)
			code, stdout, stderr := run(t, append([]string{"restore"}, tc.args...)...)
			if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d saying %q", code, stdout, stderr, tc.code, tc.want)
			}
			if code == 1 && !strings.Contains(stderr, "nothing was changed") {
				t.Errorf("stderr %q does not say that nothing was changed", stderr)
			}
			if after := snapshotBesideLock(t, tc.dir); !maps(before, after) {
				t.Errorf("%s changed:\nbefore %v\nafter  %v", tc.dir, before, after)
			}
		})
	}
}

// TestRestoreInterrupted: a restore interrupted (Ctrl-C) as it begins
// copying exits 1 saying so, and leaves the data directory as it was.
func TestRestoreInterrupted(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	backup, _ := takeBackup(t, live)
	deviceCodes(t, live, "north-1")
	before := snapshotBesideLock(t, live)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &cancelOn{after: "restoring ", cancel: cancel}
	var stdout strings.Builder
	code := cli.Run(ctx, []string{"restore", "--data", live, "--from", backup}, &stdout, stderr)
	if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "restore interrupted") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and the restore interrupted", code, stdout.String(), stderr.String())
	}
	if after := snapshotBesideLock(t, live); !maps(before, after) {
		t.Errorf("the interrupted restore changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// TestRestoreOlderBackup: a backup of an older build's hub (schema 19) is
// put in place, upgraded as the hub would upgrade it, and then checked:
// its trail verifies under the key up to the head it had.
func TestRestoreOlderBackup(t *testing.T) {
	src, old, head := olderHubWithTrail(t)
	dir := filepath.Join(t.TempDir(), "d")
	copyFiles(t, src, dir, audit.KeyFile)
	code, stdout, stderr := run(t, "restore", "--data", dir, "--from", filepath.Join(old, hub.DBFile))
	if code != 0 || !strings.Contains(stdout, "audit head: "+head+" (chain verified") || !strings.Contains(stderr, "schema upgraded") {
		t.Fatalf("restore of an older backup: exit %d %q %q; want it upgraded and verified up to %s", code, stdout, stderr, head)
	}
	if strings.Contains(stdout, "replaced: ") {
		t.Errorf("restore into a directory without a database says it replaced one: %q", stdout)
	}
	if v := userVersion(t, filepath.Join(dir, hub.DBFile), -1); v <= 19 {
		t.Errorf("schema version %d after the restore: not upgraded", v)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", head); code != 0 {
		t.Errorf("audit verify of the restored older backup: exit %d %q %q", code, out, errs)
	}
}
