package cli_test

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the raw connection that keeps the log, as a running hub does
)

// snapshot is each file of a directory: its size, a hash of its bytes and
// its modification time.
func snapshot(t *testing.T, dir string, skip ...string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		if slices.Contains(skip, e.Name()) {
			m[e.Name()] = "present"
			continue
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = fmt.Sprintf("%d bytes %x, mtime %s", len(b), sha256.Sum256(b), fi.ModTime())
	}
	return m
}

// readOnlyDir makes dir and its files read-only until the test ends. (Tests
// may run as root, whom this does not stop: the snapshots are the check.)
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
}

// TestAuditVerifyReadOnly: audit verify and export on a database under
// investigation change nothing in its directory: not the database, not its
// write-ahead log; they leave no log or index behind that was not there
// and, when a hub left its log (a copy taken while it ran, or after a
// crash), do not fold the log into the database and delete it, as the last
// read-write connection to close would.
func TestAuditVerifyReadOnly(t *testing.T) {
	live := t.TempDir()
	for _, name := range []string{"north-1", "north-2", "north-3"} {
		if code, _, errs := run(t, "device", "code", "--data", live, "--site", "north", "--name", name); code != 0 {
			t.Fatalf("device code: %d %s", code, errs)
		}
	}

	t.Run("stopped hub", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "d")
		copyFiles(t, live, dir, "hub.db", "audit.key")
		readOnlyDir(t, dir)
		before := snapshot(t, dir)
		for _, cmd := range []string{"verify", "export"} {
			code, out, errs := run(t, "audit", cmd, "--data", dir)
			if code != 0 || (cmd == "verify" && !strings.HasPrefix(out, "OK: 3 records")) || (cmd == "export" && strings.Count(out, "\n") != 3) {
				t.Errorf("audit %s: exit %d, %q, %q", cmd, code, out, errs)
			}
			if after := snapshot(t, dir); !maps(before, after) {
				t.Errorf("audit %s changed the directory:\nbefore %v\nafter  %v", cmd, before, after)
			}
		}
	})

	t.Run("log left by a running hub", func(t *testing.T) {
		// A connection kept open, as a running hub keeps one: the
		// log stays, with the records the next commands write.
		hold, err := sql.Open("sqlite3", filepath.Join(live, "hub.db")+"?_journal_mode=WAL")
		if err != nil {
			t.Fatal(err)
		}
		defer hold.Close()
		var n int
		if err := hold.QueryRow("SELECT count(*) FROM audit").Scan(&n); err != nil || n != 3 {
			t.Fatalf("audit records %d, %v", n, err)
		}
		for _, name := range []string{"north-4", "north-5"} {
			if code, _, errs := run(t, "device", "code", "--data", live, "--site", "north", "--name", name); code != 0 {
				t.Fatalf("device code: %d %s", code, errs)
			}
		}
		dir := filepath.Join(t.TempDir(), "d")
		copyFiles(t, live, dir, "hub.db", "hub.db-wal", "hub.db-shm", "audit.key")
		if fi, err := os.Stat(filepath.Join(dir, "hub.db-wal")); err != nil || fi.Size() == 0 {
			t.Fatalf("precondition: no write-ahead log in the copy: %v", err)
		}
		readOnlyDir(t, dir)
		// The -shm is SQLite's shared-memory index of the log, not data:
		// a reader may rebuild it. It must stay, as must everything else.
		before := snapshot(t, dir, "hub.db-shm")
		for _, cmd := range []string{"verify", "export"} {
			code, out, errs := run(t, "audit", cmd, "--data", dir)
			if code != 0 || (cmd == "verify" && !strings.HasPrefix(out, "OK: 5 records")) || (cmd == "export" && strings.Count(out, "\n") != 5) {
				t.Errorf("audit %s: exit %d, %q, %q; want the 5 records, 2 of them in the log", cmd, code, out, errs)
			}
			if after := snapshot(t, dir, "hub.db-shm"); !maps(before, after) {
				t.Errorf("audit %s changed the directory:\nbefore %v\nafter  %v", cmd, before, after)
			}
		}
	})
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// copyFiles copies the named files of from into the new directory to.
func copyFiles(t *testing.T, from, to string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
