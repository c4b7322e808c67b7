package cli_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/cli"
)

// restoreFullDiskEnv, set, makes TestRestoreRefusedOnFullDisk the child
// process that runs the restore: RLIMIT_FSIZE applies to a whole process,
// so the test runs the restore in one of its own.
const restoreFullDiskEnv = "SHIFTGATE_TEST_RESTORE_FSIZE"

// TestRestoreRefusedOnFullDisk: restore folds the replaced database's
// write-ahead log into it before it renames anything, and on a disk that
// fills up meanwhile (the restore's own copy took the room) that fold
// fails part-way, with some of the log's pages written into hub.db: the
// file is then whole only with its log. Taken for a file SQLite cannot
// read, it was put aside "as it is", its log renamed away first, which
// left a moment with hub.db torn (a restore killed then left the hub a
// malformed database), and the database put aside unlocked. The restore
// is refused instead, saying the disk is full, and the data directory
// keeps its database with its log, every row there. The full disk is a
// file size limit: a write past it is cut short, as on a full disk.
func TestRestoreRefusedOnFullDisk(t *testing.T) {
	if v := os.Getenv(restoreFullDiskEnv); v != "" {
		limit, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			os.Exit(3)
		}
		signal.Ignore(syscall.SIGXFSZ)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			os.Exit(3)
		}
		args := os.Args
		for len(args) > 0 && args[0] != "--" {
			args = args[1:]
		}
		if len(args) == 0 {
			os.Exit(3)
		}
		os.Exit(cli.Run(t.Context(), args[1:], os.Stdout, os.Stderr))
	}

	live := t.TempDir()
	seedBackupHub(t, live)
	backup, _ := takeBackup(t, live)
	fi, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyFiles(t, live, dir, audit.KeyFile)
	rows := walDatabase(t, dir)

	// Room for the restore's copy of the backup, not for the replaced
	// database grown by its log; off a page boundary, so that the write
	// that reaches it is cut short (SQLITE_FULL, as on a full disk).
	limit := fi.Size() + 8<<10 + 100
	cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreRefusedOnFullDisk$", "--",
		"restore", "--data", dir, "--from", backup)
	cmd.Env = append(os.Environ(), restoreFullDiskEnv+"="+strconv.FormatInt(limit, 10))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != 1 || !strings.Contains(stderr.String(), "free space on it") || !strings.Contains(stderr.String(), "nothing was changed") {
		t.Errorf("restore on a full disk: exit %d (%v)\nstdout %q\nstderr %q\nwant exit 1, saying to free space and that nothing was changed", code, err, stdout.String(), stderr.String())
	}
	for _, name := range []string{hub.DBFile, hub.DBFile + "-wal"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("after the refused restore: %v; want the database kept with its log", err)
		}
	}
	for _, pattern := range []string{hub.DBFile + ".replaced-*", ".shiftgate-restore-*"} {
		if left, _ := filepath.Glob(filepath.Join(dir, pattern)); len(left) != 0 {
			t.Errorf("after the refused restore: %v", left)
		}
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, hub.DBFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	var check string
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != rows {
		t.Errorf("the database after the refused restore holds %d rows (%v); want %d", n, err, rows)
	}
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the database after the refused restore: %q, %v", check, err)
	}
}

// walDatabase makes DIR/hub.db a database whose last transaction, about
// a megabyte, is in its write-ahead log only, as a hub stopped between
// checkpoints leaves it, and returns its row count. The files are copied
// while the connection that wrote them is open: closed, it would fold
// the log into the file.
func walDatabase(t *testing.T, dir string) int {
	t.Helper()
	work := t.TempDir()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(work, hub.DBFile)+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	const rows = 300
	for _, q := range []string{"PRAGMA wal_autocheckpoint = 0", "CREATE TABLE t (x BLOB)", "PRAGMA wal_checkpoint(TRUNCATE)", "BEGIN"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for range rows {
		if _, err := db.Exec("INSERT INTO t VALUES (?)", rand.Text()+strings.Repeat("x", 4000)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("COMMIT"); err != nil {
		t.Fatal(err)
	}
	copyFiles(t, work, dir, hub.DBFile, hub.DBFile+"-wal")
	if fi, err := os.Stat(filepath.Join(dir, hub.DBFile+"-wal")); err != nil || fi.Size() < 1<<20 {
		t.Fatalf("the log to fold: %v, %v; want over a megabyte", fi, err)
	}
	return rows
}
