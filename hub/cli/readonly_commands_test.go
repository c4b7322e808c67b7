package cli_test

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the raw connections below, as a running hub's
)

// readCommand is a command that only reads, with what its output on the
// test's hub must contain.
type readCommand struct {
	args []string // after --data DIR
	want []string
}

// readCommands are the read-only commands other than audit's, on the hub
// that seedReadHub makes (campaign is its campaign's ID).
func readCommands(campaign string) []readCommand {
	return []readCommand{
		{[]string{"token", "list"}, []string{"ID  ", "idp", "scim"}},
		{[]string{"device", "list"}, []string{"ID  NAME  SITE  PROFILE  STATE  ENROLLED  LAST SEEN\n"}}, // codes, no kiosk enrolled
		{[]string{"site", "list"}, []string{"TIME ZONE", "north", "Europe/Berlin"}},
		{[]string{"review", "list"}, []string{"COMPLETION", campaign, "q3"}},
		{[]string{"review", "list", "--format", "json"}, []string{`"campaigns"`, campaign}},
		{[]string{"review", "show", "--id", campaign}, []string{"q3  due", "ENTITLEMENT"}},
		{[]string{"review", "show", "--id", campaign, "--format", "csv"}, []string{"campaign_id,campaign_name"}},
		{[]string{"findings"}, []string{`"findings": []`}},
		{[]string{"findings", "--format", "csv"}, []string{"id,kind,rule"}},
		{[]string{"report"}, []string{"access_review_completion_rate"}},
		{[]string{"report", "--format", "csv"}, []string{"metric,statistic,value"}},
	}
}

// seedReadHub makes a hub whose tables the read commands show, and
// returns its campaign's ID.
func seedReadHub(t *testing.T, dir string) string {
	t.Helper()
	due := time.Now().Add(72 * time.Hour).UTC().Format(time.DateOnly)
	for _, args := range [][]string{
		{"device", "code", "--data", dir, "--site", "north", "--name", "north-1"},
		{"device", "code", "--data", dir, "--site", "north", "--name", "north-2"},
		{"token", "create", "--data", dir, "--name", "idp", "--scope", "scim"},
		{"site", "set", "--data", dir, "--name", "north", "--time-zone", "Europe/Berlin"},
		{"review", "start", "--data", dir, "--name", "q3", "--due", due},
	} {
		code, out, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %q", args[:2], code, errs)
		}
		if args[0] == "review" {
			return strings.TrimSpace(out)
		}
	}
	panic("unreachable")
}

func withData(dir string, args []string) []string {
	out := append([]string{}, args...)
	n := 2 // after the command and its subcommand
	switch args[0] {
	case "findings", "report", "backup", "serve", "demo":
		n = 1
	}
	return append(append(out[:n:n], "--data", dir), args[n:]...)
}

// TestReadCommandsReadOnly: the list commands and the governance reports,
// like audit verify and export, open the database read-only: on a copy
// under investigation (in a read-only directory) they print what they
// print on the hub and change nothing (no migration, no write-ahead log
// folded into hub.db and deleted, no file left behind); and they need no
// audit.key. A database of an older schema is refused with what to do,
// not migrated.
func TestReadCommandsReadOnly(t *testing.T) {
	live := t.TempDir()
	campaign := seedReadHub(t, live)
	cmds := readCommands(campaign)

	check := func(t *testing.T, dir string, before map[string]string, skip ...string) {
		t.Helper()
		for _, c := range cmds {
			args := withData(dir, c.args)
			code, out, errs := run(t, args...)
			if code != 0 {
				t.Errorf("%v: exit %d, stderr %q", c.args, code, errs)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("%v: stdout %q lacks %q", c.args, out, w)
				}
			}
			if after := snapshot(t, dir, skip...); !maps(before, after) {
				t.Errorf("%v changed the directory:\nbefore %v\nafter  %v", c.args, before, after)
			}
		}
	}

	t.Run("stopped hub, database only", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "d")
		copyFiles(t, live, dir, "hub.db") // no audit.key: reading needs none
		readOnlyDir(t, dir)
		check(t, dir, snapshot(t, dir))
	})

	t.Run("log left by a running hub", func(t *testing.T) {
		hold, err := sql.Open("sqlite3", filepath.Join(live, "hub.db")+"?_journal_mode=WAL")
		if err != nil {
			t.Fatal(err)
		}
		defer hold.Close()
		if err := hold.Ping(); err != nil {
			t.Fatal(err)
		}
		// Written while the connection holds the log open: the copy has it
		// in hub.db-wal, which a reader must read and leave alone.
		if code, _, errs := run(t, "token", "create", "--data", live, "--name", "late-idp", "--scope", "scim"); code != 0 {
			t.Fatalf("token create: %s", errs)
		}
		dir := filepath.Join(t.TempDir(), "d")
		copyFiles(t, live, dir, "hub.db", "hub.db-wal", "hub.db-shm", "audit.key")
		if fi, err := os.Stat(filepath.Join(dir, "hub.db-wal")); err != nil || fi.Size() == 0 {
			t.Fatalf("precondition: no write-ahead log in the copy: %v", err)
		}
		readOnlyDir(t, dir)
		check(t, dir, snapshot(t, dir, "hub.db-shm"), "hub.db-shm")
		if code, out, errs := run(t, "token", "list", "--data", dir); code != 0 || !strings.Contains(out, "late-idp") {
			t.Errorf("token list: exit %d, %q, %q; want the token that is in the log only", code, out, errs)
		}
	})

	t.Run("older schema", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "d")
		copyFiles(t, live, dir, "hub.db", "audit.key")
		version := userVersion(t, filepath.Join(dir, "hub.db"), -1)
		userVersion(t, filepath.Join(dir, "hub.db"), version-1)
		before := snapshot(t, dir)
		want := fmt.Sprintf("database schema version %d is older than this build's (%d), and a read-only open does not migrate: start the hub on it once", version-1, version)
		for _, c := range cmds {
			code, out, errs := run(t, withData(dir, c.args)...)
			if code != 1 || out != "" || !strings.Contains(errs, want) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 saying %q", c.args, code, out, errs, want)
			}
		}
		if after := snapshot(t, dir); !maps(before, after) {
			t.Errorf("the database was changed (migrated?):\nbefore %v\nafter  %v", before, after)
		}
	})
}

// userVersion sets the schema version of the database at path to v, or
// only returns it when v is negative.
func userVersion(t *testing.T, path string, v int) int {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v >= 0 {
		if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
			t.Fatal(err)
		}
	}
	var got int
	if err := db.QueryRow("PRAGMA user_version").Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestMistakesMakeNoHub: a mistake in a flag's value is reported (exit 2)
// before anything is opened or made: a mistyped --data is not made a
// directory, an empty directory stays empty, whichever kind of command
// it is. And a command that is not meant to start a hub (all but serve,
// demo, token create, device code and admin bootstrap) refuses a
// directory without one (exit 1) rather than make one.
func TestMistakesMakeNoHub(t *testing.T) {
	csvFile := filepath.Join(t.TempDir(), "week.csv")
	if err := os.WriteFile(csvFile, []byte("userName,start,end\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(72 * time.Hour).UTC().Format(time.DateOnly)
	far := time.Now().Add(400 * 24 * time.Hour).UTC().Format(time.DateOnly)
	for _, tc := range []struct {
		class string
		args  []string // after --data DIR
		code  int
		want  string
	}{
		// Commands that only read.
		{"read", []string{"findings", "--format", "xml"}, 2, `--format "xml"`},
		{"read", []string{"findings", "--dormant-days", "0"}, 2, "dormant days"},
		{"read", []string{"report", "--format", "xml"}, 2, `--format "xml"`},
		{"read", []string{"review", "list", "--format", "csv"}, 2, `--format "csv"`},
		{"read", []string{"review", "show", "--id", "x", "--format", "xml"}, 2, `--format "xml"`},
		{"read", []string{"audit", "verify", "--anchor", "nonsense"}, 2, "anchor"},
		{"read", []string{"backup", "--out", csvFile}, 2, "exists: backup never writes over a file"},
		{"read", []string{"backup", "--out", filepath.Join(t.TempDir(), "missing", "b.db")}, 2, "does not exist"},
		{"read", []string{"backup", "--out", filepath.Join(t.TempDir(), "b.db")}, 1, "holds no hub"},
		{"read", []string{"review", "list"}, 1, "holds no hub"},
		{"read", []string{"review", "show", "--id", "x"}, 1, "holds no hub"},
		// Commands that change an existing hub.
		{"change", []string{"site", "set", "--name", "north", "--time-zone", "Mars/Olympus"}, 2, `"Mars/Olympus" is not an IANA time zone`},
		{"change", []string{"site", "set", "--name", "north", "--time-zone", "Local"}, 2, "is the hub host's"},
		{"change", []string{"site", "set", "--name", " ", "--time-zone", "UTC"}, 2, "--name is blank"},
		{"change", []string{"import", "shifts", "--zone", "Mars/Olympus", csvFile}, 2, "--zone"},
		{"change", []string{"import", "shifts", "--shift-grace", "-1m", csvFile}, 2, "--shift-grace"},
		{"change", []string{"review", "start", "--name", "q", "--due", "soon"}, 2, "due date"},
		{"change", []string{"review", "start", "--name", "q", "--due", "2020-01-01"}, 2, "has already passed"},
		{"change", []string{"review", "start", "--name", "q", "--due", far}, 2, "at most 366 days"},
		{"change", []string{"review", "start", "--name", " ", "--due", due}, 2, "name the campaign"},
		{"change", []string{"review", "start", "--name", "q", "--due", due, "--site", " "}, 2, "an empty site name"},
		{"change", []string{"review", "start", "--name", strings.Repeat("q", 300), "--due", due}, 2, "longer than"},
		{"change", []string{"site", "set", "--name", "north", "--time-zone", "UTC"}, 1, "holds no hub"},
		{"change", []string{"import", "shifts", csvFile}, 1, "holds no hub"},
		{"change", []string{"review", "start", "--name", "q", "--due", due}, 1, "holds no hub"},
		{"change", []string{"review", "run"}, 1, "holds no hub"},
		{"change", []string{"token", "revoke", "--id", "x"}, 1, "holds no hub"},
		// Commands that start a hub in a new directory.
		{"start", []string{"token", "create", "--name", "idp", "--scope", "root"}, 2, "unknown token scope"},
		{"start", []string{"token", "create", "--name", " ", "--scope", "scim"}, 2, "needs a name"},
		{"start", []string{"device", "code", "--site", "north", "--name", " "}, 2, "needs a name and a site"},
		{"start", []string{"device", "code", "--site", " ", "--name", "north-1"}, 2, "needs a name and a site"},
		{"start", []string{"device", "code", "--site", "north", "--name", "north-1\x1b[2J"}, 2, "control character"},
		{"start", []string{"device", "code", "--site", "north", "--name", strings.Repeat("k", 501)}, 2, "longer than 500"},
		{"start", []string{"device", "code", "--site", "north", "--name", "north-1", "--profile", " "}, 2, "--profile is blank"},
		{"start", []string{"device", "code", "--site", "north", "--name", "north-1", "--profile", "no-such-model"}, 2, "--profile"},
		{"start", []string{"admin", "bootstrap", "--name", "<ada>"}, 2, "cannot contain"},
		{"start", []string{"admin", "bootstrap", "--name", "ada", "--public-url", "http://hub"}, 2, "want https://"},
		{"start", []string{"admin", "bootstrap", "--name", "ada", "--public-url", "https://192.0.2.1:8443"}, 2, "not an IP address"},
		{"start", []string{"serve", "--public-url", "http://hub"}, 2, "want https://"},
		{"start", []string{"serve", "--public-url", "https://127.0.0.1:8443"}, 2, "not an IP address"},
		{"start", []string{"serve", "--listen", "8443"}, 2, "--listen"},
		{"start", []string{"serve", "--fido-mds", filepath.Join(t.TempDir(), "missing.jwt")}, 2, "--fido-mds"},
		{"start", []string{"serve", "--session-warnings", "soon"}, 2, "--session-warnings"},
		{"start", []string{"serve", "--tls-cert", csvFile}, 2, "--tls-cert and --tls-key go together"},
		{"start", []string{"serve", "--tls-cert", csvFile, "--tls-key", filepath.Join(t.TempDir(), "missing.pem")}, 2, "--tls-key"},
		{"start", []string{"serve", "--log-format", "xml"}, 2, "--log-format"},
		{"start", []string{"demo", "--listen", "8443"}, 2, "--listen"},
	} {
		t.Run(tc.class+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			parent := t.TempDir()
			empty := filepath.Join(parent, "empty")
			if err := os.Mkdir(empty, 0o700); err != nil {
				t.Fatal(err)
			}
			typo := filepath.Join(parent, "typo")
			for _, dir := range []string{typo, empty} {
				code, out, errs := run(t, withData(dir, tc.args)...)
				if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
					t.Errorf("--data %s: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", filepath.Base(dir), code, out, errs, tc.code, tc.want)
				}
			}
			if _, err := os.Stat(typo); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a missing --data was made: %v", err)
			}
			if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
				t.Errorf("an empty --data was written: %v, %v", entries, err)
			}
		})
	}
}
