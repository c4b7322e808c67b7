package cli_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
)

// olderHub makes dir the data directory of a hub of an older build:
// hub.db holds testdata/hub-schema-19.sql, in WAL mode as a hub leaves it.
func olderHub(t *testing.T, dir string) {
	t.Helper()
	dump, err := os.ReadFile(filepath.Join("testdata", "hub-schema-19.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", filepath.Join(dir, hub.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(dump)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA journal_mode = WAL"); err != nil {
		t.Fatal(err)
	}
}

// runningHub holds dir's hub.lock and keeps the database open, as a hub
// (serve or demo) of PID 4242 does, until the returned func is called.
func runningHub(t *testing.T, dir string) (stop func()) {
	t.Helper()
	fd, err := syscall.Open(filepath.Join(dir, "hub.lock"), syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	if _, err := syscall.Pwrite(fd, []byte("4242\n"), 0); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", filepath.Join(dir, hub.DBFile)+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			db.Close()
			syscall.Close(fd)
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestUpgradeBesideRunningHub: after an upgrade, a CLI command of the new
// build run beside the old hub, still running on the data directory (it
// holds hub.lock), does not migrate the schema under it (that hub would go
// on writing rows without the new columns, or fail): the commands that
// write refuse, saying to stop or restart the hub first; those that only
// read refuse the older schema as before; nothing in the directory
// changes. Once the hub is stopped, the same command migrates the schema
// as always, and leaves hub.lock free for the next serve.
func TestUpgradeBesideRunningHub(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	olderHub(t, dir)
	stop := runningHub(t, dir)
	csv := filepath.Join(t.TempDir(), "week.csv")
	if err := os.WriteFile(csv, []byte("userName,start,end\nana,2030-01-07T08:00:00Z,2030-01-07T16:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir, "hub.db-shm") // shared memory, not data
	if v := userVersion(t, filepath.Join(dir, hub.DBFile), -1); v != 19 {
		t.Fatalf("precondition: schema version %d, want 19", v)
	}

	refusal := "and a hub is running on " + dir + " (PID 4242)"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "create", "--name", "idp", "--scope", "scim"}, refusal},
		{[]string{"token", "rotate", "--id", "t1"}, refusal},
		{[]string{"token", "revoke", "--id", "t1"}, refusal},
		{[]string{"device", "code", "--site", "north", "--name", "north-1"}, refusal},
		{[]string{"site", "set", "--name", "north", "--time-zone", "Europe/Berlin"}, refusal},
		{[]string{"admin", "bootstrap"}, refusal},
		{[]string{"import", "shifts", "--zone", "UTC", csv}, refusal},
		{[]string{"review", "start", "--name", "Q1", "--due", time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, refusal},
		{[]string{"review", "run"}, refusal},
		// The read-only opens never migrate: they refuse an older schema.
		{[]string{"token", "list"}, "older than this build's"},
		{[]string{"audit", "verify"}, "older than this build's"},
		{[]string{"findings"}, "older than this build's"},
		{[]string{"report"}, "older than this build's"},
	} {
		args := withData(dir, c.args)
		code, out, errs := run(t, args...)
		if code != 1 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%v beside an older running hub: exit %d, stdout %q, stderr %q; want 1, nothing, %q", c.args, code, out, errs, c.want)
		}
		if c.want == refusal && !strings.Contains(errs, "stop the hub, or restart it on this build") {
			t.Errorf("%v: %q does not say what to do", c.args, errs)
		}
		if after := snapshot(t, dir, "hub.db-shm"); !maps(before, after) {
			t.Fatalf("%v changed the directory:\nbefore %v\nafter  %v", c.args, before, after)
		}
	}
	if v := userVersion(t, filepath.Join(dir, hub.DBFile), -1); v != 19 {
		t.Fatalf("schema version %d after the refusals, want 19", v)
	}

	// The hub stopped: the command upgrades the schema, as serve would.
	stop()
	if code, out, errs := run(t, "token", "create", "--data", dir, "--name", "idp", "--scope", "scim"); code != 0 || out == "" {
		t.Fatalf("token create with no hub running: exit %d, %q, %q", code, out, errs)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if code, _, errs := run(t, "token", "create", "--data", fresh, "--name", "idp", "--scope", "scim"); code != 0 {
		t.Fatalf("token create on a new directory: %s", errs)
	}
	want := userVersion(t, filepath.Join(fresh, hub.DBFile), -1)
	if got := userVersion(t, filepath.Join(dir, hub.DBFile), -1); got != want || want <= 19 {
		t.Errorf("schema version %d after token create with no hub running, want this build's %d", got, want)
	}
	if code, out, errs := run(t, "token", "list", "--data", dir); code != 0 || !strings.Contains(out, "idp") {
		t.Errorf("token list after the upgrade: exit %d, %q, %q", code, out, errs)
	}
	// Whatever the command held while it migrated, it let go.
	fd, err := syscall.Open(filepath.Join(dir, "hub.lock"), syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Errorf("hub.lock after the upgrade: %v; want it free for serve", err)
	}
}
