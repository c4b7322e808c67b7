package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/mattn/go-sqlite3" // the tamperer's client, and an independent look at the copy

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/cli"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// backupSummary is what a successful backup printed on stdout, by key.
func backupSummary(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for line := range strings.Lines(out) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
		if !ok {
			t.Fatalf("summary line %q is not KEY: VALUE", line)
		}
		m[k] = v
	}
	for _, k := range []string{"backup", "size", "sha256", "schema version", "snapshot", "audit head"} {
		if m[k] == "" {
			t.Fatalf("summary lacks %q:\n%s", k, out)
		}
	}
	return m
}

// checkBackupFile checks the file a backup's summary names: 0600, its
// size and SHA-256 as printed, and SQLite's quick_check, run by a client
// of the test's own. It returns the head the summary gives (SEQ:HASH).
func checkBackupFile(t *testing.T, sum map[string]string) string {
	t.Helper()
	path := sum["backup"]
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	if want := strconv.Itoa(len(b)) + " bytes"; !strings.HasPrefix(sum["size"], want) {
		t.Errorf("size %q, want %s", sum["size"], want)
	}
	if sum["sha256"] != hex.EncodeToString(h[:]) {
		t.Errorf("sha256 %s, the file's is %x", sum["sha256"], h)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA quick_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("quick_check of the copy: %q, %v", check, err)
	}
	head, _, _ := strings.Cut(sum["audit head"], " ")
	return head
}

// restore puts a backup as hub.db in a new directory with the data
// directory's audit.key, as the README's restore steps say, and returns
// the directory.
func restore(t *testing.T, backup, data string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "restored")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{backup: hub.DBFile, filepath.Join(data, audit.KeyFile): audit.KeyFile} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func listUsers(t *testing.T, st store.Store) []store.User {
	t.Helper()
	users, _, err := st.ListUsers(t.Context(), store.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func countAudit(t *testing.T, st store.Store, action string) int {
	t.Helper()
	recs, err := st.ListAudit(t.Context(), store.AuditQuery{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

// TestBackupBesideRunningHub: a backup taken while a hub in this process
// goes on creating users (each with its audit record) is one consistent
// snapshot: the copy is 0600, as its summary says (size, SHA-256),
// passes quick_check, holds a user for every user.create record in it and
// every user created before it began, and its audit chain verifies under
// the hub's key up to a head no older than the one before the backup,
// which the live trail still holds. The hub's writes go on meanwhile and
// none fails. Restored (hub.db in a new directory with audit.key, no log
// beside it), a hub store on it sees those users as the live hub has them.
func TestBackupBesideRunningHub(t *testing.T) {
	live := t.TempDir()
	outDir := t.TempDir()
	out := filepath.Join(outDir, "hub-backup.db")
	actor := lifecycle.Actor{Name: "idp", System: "scim"}
	var (
		code       int
		stdout     string
		stderr     string
		headBefore int64
		madeBefore int64 // users created before the backup began
		madeDuring int64
		liveUsers  []store.User
	)
	withHub(t, live, func(st store.Store, eng *lifecycle.Engine) {
		var made atomic.Int64
		stop := make(chan struct{})
		writer := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					writer <- nil
					return
				default:
				}
				u := store.User{ID: fmt.Sprintf("u-%05d", i), UserName: fmt.Sprintf("worker%05d", i), Active: true}
				if _, err := eng.CreateUser(context.Background(), actor, u); err != nil {
					writer <- err
					return
				}
				made.Add(1)
			}
		}()
		for made.Load() < 50 {
			select {
			case err := <-writer:
				t.Fatalf("the hub's writes failed: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
		seq, _, err := st.AuditHead(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		headBefore, madeBefore = seq, made.Load()
		code, stdout, stderr = run(t, "backup", "--data", live, "--out", out)
		madeDuring = made.Load() - madeBefore
		close(stop)
		if err := <-writer; err != nil {
			t.Fatalf("the hub's writes failed beside the backup: %v", err)
		}
		liveUsers = listUsers(t, st)
	})
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	if madeDuring == 0 {
		t.Errorf("the hub wrote nothing while the backup ran: the test did not test a backup under writes")
	}
	for _, want := range []string{"snapshot written: ", "quick_check: ok", "audit chain verified: ", "done in "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks the progress line %q:\n%s", want, stderr)
		}
	}
	sum := backupSummary(t, stdout)
	if sum["backup"] != out {
		t.Errorf("summary names %q, want %q", sum["backup"], out)
	}
	head := checkBackupFile(t, sum)
	anchor, err := audit.ParseAnchor(head)
	if err != nil {
		t.Fatalf("summary's audit head %q: %v", sum["audit head"], err)
	}
	if anchor.Seq < headBefore {
		t.Errorf("the copy's head is record %d, older than the head %d before the backup began", anchor.Seq, headBefore)
	}
	if !strings.Contains(sum["audit head"], "chain verified with "+filepath.Join(live, audit.KeyFile)) {
		t.Errorf("audit head %q does not say the chain was verified with the key", sum["audit head"])
	}
	if !strings.Contains(stdout, "not in the backup: "+filepath.Join(live, audit.KeyFile)) || !strings.Contains(stdout, "back these up separately") ||
		!strings.Contains(stdout, "keep audit.key away from whoever holds the database backups") {
		t.Errorf("the summary does not say what to back up separately:\n%s", stdout)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 1 {
		t.Errorf("the out directory holds %v, want the backup alone (no temporary file)", entries)
	}
	// The live trail still holds the copy's head: the copy is the hub's
	// own trail, cut at the snapshot.
	if code, out, errs := run(t, "audit", "verify", "--data", live, "--anchor", head); code != 0 {
		t.Errorf("audit verify of the live hub against the copy's head: exit %d %q %q", code, out, errs)
	}

	dir := restore(t, out, live)
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", head); code != 0 || !strings.Contains(out, "head "+head) {
		t.Errorf("audit verify of the restored copy: exit %d %q %q; want it intact up to head %s", code, out, errs, head)
	}
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		users := listUsers(t, st)
		if n := countAudit(t, st, "user.create"); n != len(users) {
			t.Errorf("the copy holds %d users and %d user.create records: not one snapshot", len(users), n)
		}
		if int64(len(users)) < madeBefore {
			t.Errorf("the copy holds %d users, but %d were created before the backup began", len(users), madeBefore)
		}
		byID := map[string]store.User{}
		for _, u := range liveUsers {
			byID[u.ID] = u
		}
		for _, u := range users {
			if d := cmp.Diff(byID[u.ID], u); d != "" {
				t.Errorf("restored user %s differs from the live one (-live +restored):\n%s", u.ID, d)
			}
		}
	})
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the backup itself was touched by the restore: %v", err)
	}
}

// seedBackupHub makes a stopped hub in dir with users (one of them
// deprovisioned) and their audit records.
func seedBackupHub(t *testing.T, dir string) {
	t.Helper()
	a := lifecycle.Actor{Name: "idp", System: "scim"}
	withHub(t, dir, func(_ store.Store, eng *lifecycle.Engine) {
		for _, name := range []string{"ana", "ben", "cy"} {
			if _, err := eng.CreateUser(t.Context(), a, store.User{ID: "u-" + name, UserName: name, Active: true}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := eng.UpdateUser(t.Context(), a, "u-cy", func(u store.User) (store.User, error) {
			u.Active = false
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBackupStoppedHubRestores: on a stopped hub, even in a read-only
// directory, the backup changes nothing in the data directory (no log or
// index made, nothing migrated or written); restored, the copy is the hub
// as it was: the same users, the same audit trail up to the head the
// summary gave.
func TestBackupStoppedHubRestores(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	for _, name := range []string{"ca-key.pem", "server-key.pem"} { // as serve makes them
		if err := os.WriteFile(filepath.Join(live, name), []byte("a key"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	readOnlyDir(t, live)
	before := snapshot(t, live)
	out := filepath.Join(t.TempDir(), "b.db")
	code, stdout, stderr := run(t, "backup", "--data", live, "--out", out)
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	if after := snapshot(t, live); !maps(before, after) {
		t.Errorf("the backup changed the data directory:\nbefore %v\nafter  %v", before, after)
	}
	sum := backupSummary(t, stdout)
	if want := strings.Join([]string{filepath.Join(live, audit.KeyFile), filepath.Join(live, "ca-key.pem"), filepath.Join(live, "server-key.pem")}, ", "); !strings.HasPrefix(sum["not in the backup"], want+": back these up separately") {
		t.Errorf("not in the backup: %q; want the keys %s", sum["not in the backup"], want)
	}
	head := checkBackupFile(t, sum)
	if want := verifyHead(t, live); head != want {
		t.Errorf("the copy's head %s, the hub's %s", head, want)
	}
	dir := restore(t, out, live)
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", head); code != 0 || !strings.HasSuffix(out, "head "+head+"\n") {
		t.Errorf("audit verify of the restored copy: exit %d %q %q", code, out, errs)
	}
	var want []store.User
	withHub(t, live, func(st store.Store, _ *lifecycle.Engine) { want = listUsers(t, st) })
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		if d := cmp.Diff(want, listUsers(t, st)); d != "" {
			t.Errorf("restored users differ (-live +restored):\n%s", d)
		}
	})
}

// TestBackupRefusals: a mistake in the flags is reported (exit 2, the
// command's -h named) before anything is opened or made: an existing
// --out, even a dangling link, is left as it was, and neither directory
// gets a file. A directory without a hub, or with a database of an older
// schema, is refused (exit 1), and nothing is made either.
func TestBackupRefusals(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	older := filepath.Join(t.TempDir(), "older")
	copyFiles(t, live, older, hub.DBFile, audit.KeyFile)
	userVersion(t, filepath.Join(older, hub.DBFile), userVersion(t, filepath.Join(older, hub.DBFile), -1)-1)
	outDir := t.TempDir()
	existing := filepath.Join(outDir, "last-week.db")
	if err := os.WriteFile(existing, []byte("last week's backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(outDir, "link.db")
	if err := os.Symlink(filepath.Join(outDir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	fresh := filepath.Join(outDir, "new.db")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no --out", []string{"--data", live}, 2, "backup needs --out"},
		{"no --data", []string{"--out", fresh}, 2, "backup needs --data"},
		{"an argument", []string{"--data", live, "--out", fresh, "extra"}, 2, `unexpected argument "extra"`},
		{"existing file", []string{"--data", live, "--out", existing}, 2, "exists: backup never writes over a file"},
		{"dangling link", []string{"--data", live, "--out", dangling}, 2, "exists: backup never writes over a file"},
		{"the database", []string{"--data", live, "--out", filepath.Join(live, hub.DBFile)}, 2, "exists"},
		{"its log", []string{"--data", live, "--out", filepath.Join(live, hub.DBFile+"-wal")}, 2, "a name SQLite keeps for the hub's database"},
		{"its index", []string{"--data", live, "--out", filepath.Join(live, hub.DBFile+"-shm")}, 2, "a name SQLite keeps for the hub's database"},
		{"its journal", []string{"--data", live, "--out", filepath.Join(live, hub.DBFile+"-journal")}, 2, "a name SQLite keeps for the hub's database"},
		{"a directory", []string{"--data", live, "--out", outDir + "/"}, 2, "is a directory: name a new file in it"},
		{"no directory", []string{"--data", live, "--out", filepath.Join(outDir, "missing", "b.db")}, 2, "does not exist: make it first"},
		{"a file as directory", []string{"--data", live, "--out", filepath.Join(existing, "b.db")}, 2, "is not a directory"},
		{"no hub", []string{"--data", empty, "--out", fresh}, 1, "holds no hub"},
		{"no directory as --data", []string{"--data", filepath.Join(empty, "typo"), "--out", fresh}, 1, "holds no hub"},
		{"older schema", []string{"--data", older, "--out", fresh}, 1, "back it up before the upgrade, with the build that wrote it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dirs := []string{live, outDir, empty, older}
			before := make([]map[string]string, len(dirs))
			for i, d := range dirs {
				before[i] = snapshot(t, d, "link.db")
			}
			code, out, errs := run(t, append([]string{"backup"}, tc.args...)...)
			if code != tc.code || out != "" || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d saying %q", code, out, errs, tc.code, tc.want)
			}
			if tc.code == 2 && !strings.HasSuffix(errs, "Run 'shiftgate-hub backup -h' for its flags.\n") {
				t.Errorf("stderr %q does not point to backup -h", errs)
			}
			for i, d := range dirs {
				if after := snapshot(t, d, "link.db"); !maps(before[i], after) {
					t.Errorf("%s changed:\nbefore %v\nafter  %v", d, before[i], after)
				}
			}
			if target, err := os.Readlink(dangling); err != nil || target != filepath.Join(outDir, "nowhere") {
				t.Errorf("the dangling link was changed: %q, %v", target, err)
			}
		})
	}
	if b, err := os.ReadFile(existing); err != nil || string(b) != "last week's backup" {
		t.Errorf("the existing --out was changed: %q, %v", b, err)
	}
}

// TestBackupBrokenChain: a trail edited in the database (its guard
// dropped, a record changed) is not backed up: exit 1, naming the record
// and saying to run audit verify on the live hub; no file is left.
func TestBackupBrokenChain(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	db, err := sql.Open("sqlite3", filepath.Join(live, hub.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_no_update`, `UPDATE audit SET actor = 'nobody' WHERE seq = 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	outDir := t.TempDir()
	code, out, errs := run(t, "backup", "--data", live, "--out", filepath.Join(outDir, "b.db"))
	if code != 1 || out != "" || !strings.Contains(errs, "audit chain broken at record 2") ||
		!strings.Contains(errs, "shiftgate-hub audit verify --data "+live) || !strings.Contains(errs, "no backup was written") {
		t.Errorf("backup of a damaged trail: exit %d, stdout %q, stderr %q; want exit 1 naming record 2 and audit verify", code, out, errs)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
		t.Errorf("the out directory holds %v, want nothing", entries)
	}
}

// TestBackupWithoutKey: without a readable audit.key (a copy of hub.db
// alone; a key others may read) the backup is written, and says that its
// chain was not verified, why, and how to verify it.
func TestBackupWithoutKey(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	head := verifyHead(t, live)
	noKey := filepath.Join(t.TempDir(), "d")
	copyFiles(t, live, noKey, hub.DBFile)
	openKey := filepath.Join(t.TempDir(), "d")
	copyFiles(t, live, openKey, hub.DBFile, audit.KeyFile)
	if err := os.Chmod(filepath.Join(openKey, audit.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	for dir, why := range map[string]string{noKey: "there is no " + filepath.Join(noKey, audit.KeyFile), openKey: "chmod 600"} {
		out := filepath.Join(t.TempDir(), "b.db")
		code, stdout, stderr := run(t, "backup", "--data", dir, "--out", out)
		if code != 0 {
			t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
		}
		sum := backupSummary(t, stdout)
		if got := checkBackupFile(t, sum); got != head {
			t.Errorf("head %s, want %s", got, head)
		}
		if !strings.Contains(sum["audit head"], "NOT verified: ") || !strings.Contains(sum["audit head"], why) {
			t.Errorf("audit head %q; want it NOT verified because %q", sum["audit head"], why)
		}
		if !strings.Contains(stderr, "audit chain NOT verified") || !strings.Contains(stderr, "audit verify --data THAT-DIRECTORY --anchor "+head) {
			t.Errorf("stderr does not say how to verify the copy:\n%s", stderr)
		}
		if code, out, errs := run(t, "audit", "verify", "--data", restore(t, out, live), "--anchor", head); code != 0 {
			t.Errorf("the unverified copy does not verify with the key: exit %d %q %q", code, out, errs)
		}
	}
}

// cancelOn is a writer that cancels a context once what was written to it
// contains a string.
type cancelOn struct {
	bytes.Buffer
	after  string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if strings.Contains(w.String(), w.after) {
		w.cancel()
	}
	return n, err
}

// TestBackupInterrupted: a backup interrupted (Ctrl-C cancels the
// command's context) as the copy begins, or while it is checked, exits 1
// saying so, and leaves neither the backup nor a temporary file.
func TestBackupInterrupted(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	for _, at := range []string{"backing up ", "snapshot written: ", "quick_check: ok"} {
		t.Run(strings.TrimSpace(at), func(t *testing.T) {
			outDir := t.TempDir()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var stdout bytes.Buffer
			stderr := &cancelOn{after: at, cancel: cancel}
			code := cli.Run(ctx, []string{"backup", "--data", live, "--out", filepath.Join(outDir, "b.db")}, &stdout, stderr)
			if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "backup interrupted") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and the backup interrupted", code, stdout.String(), stderr.String())
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("the out directory holds %v, want nothing", entries)
			}
		})
	}
}

// TestBackupReadsLeftLog: on the files of a hub that stopped without
// folding its write-ahead log into hub.db (it crashed, or the files were
// copied while it ran), the backup holds what is in the log, and leaves
// the log and the database as they were (the -shm index aside): nothing
// folded, nothing deleted.
func TestBackupReadsLeftLog(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	dir := crashedCopy(t, live)
	head := verifyHead(t, dir)
	readOnlyDir(t, dir)
	before := snapshot(t, dir, hub.DBFile+"-shm")
	out := filepath.Join(t.TempDir(), "b.db")
	code, stdout, stderr := run(t, "backup", "--data", dir, "--out", out)
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	if after := snapshot(t, dir, hub.DBFile+"-shm"); !maps(before, after) {
		t.Errorf("the backup changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	if got := checkBackupFile(t, backupSummary(t, stdout)); got != head {
		t.Errorf("the copy's head %s, want %s (the token.create in the log)", got, head)
	}
	if code, out, errs := run(t, "token", "list", "--data", restore(t, out, live)); code != 0 || !strings.Contains(out, "late-idp") {
		t.Errorf("token list on the restored copy: exit %d, %q, %q; want the token that was in the log only", code, out, errs)
	}
}

// TestBackupRestoredHubServes: restored as the README says (the backup as
// hub.db, and the files the summary lists as not in it), the data
// directory starts a hub (serve's hub.New) with the same CA, so the
// kiosks still trust it and their certificates still verify, and the same
// export signing key; its trail verifies up to the backup's head, and
// its users are the live hub's.
func TestBackupRestoredHubServes(t *testing.T) {
	live := t.TempDir()
	cfg := func(dir string) hub.Config {
		return hub.Config{DataDir: dir, Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443"}
	}
	s, err := hub.New(t.Context(), cfg(live))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	seedBackupHub(t, live)
	out := filepath.Join(t.TempDir(), "b.db")
	code, stdout, stderr := run(t, "backup", "--data", live, "--out", out)
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	sum := backupSummary(t, stdout)
	head := checkBackupFile(t, sum)
	listed, _, ok := strings.Cut(sum["not in the backup"], ": back these up separately")
	if !ok {
		t.Fatalf("not in the backup: %q", sum["not in the backup"])
	}
	dir := filepath.Join(t.TempDir(), "restored")
	copyFiles(t, filepath.Dir(out), dir, filepath.Base(out))
	if err := os.Rename(filepath.Join(dir, filepath.Base(out)), filepath.Join(dir, hub.DBFile)); err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Split(listed, ", ") {
		if filepath.Dir(f) != live {
			t.Fatalf("the summary lists %s, not in the data directory", f)
		}
		copyFiles(t, live, dir, filepath.Base(f))
	}
	before := snapshot(t, dir, hub.DBFile)
	s, err = hub.New(t.Context(), cfg(dir))
	if err != nil {
		t.Fatalf("a hub on the restored directory: %v", err)
	}
	s.Close()
	after := snapshot(t, dir, hub.DBFile, hub.DBFile+"-wal", hub.DBFile+"-shm", "hub.lock")
	for name, now := range after {
		if was, ok := before[name]; !ok && now != "present" {
			t.Errorf("the hub on the restored directory made %s: the backup's summary did not list it", name)
		} else if ok && now != was {
			t.Errorf("the hub on the restored directory changed %s", name)
		}
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", head); code != 0 {
		t.Errorf("audit verify of the restored hub: exit %d %q %q", code, out, errs)
	}
	var want []store.User
	withHub(t, live, func(st store.Store, _ *lifecycle.Engine) { want = listUsers(t, st) })
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		if d := cmp.Diff(want, listUsers(t, st)); d != "" {
			t.Errorf("restored users differ (-live +restored):\n%s", d)
		}
	})
}

// TestBackupNamesProfiles: the hub's own kiosk profiles (DIR/profiles/)
// are not in the database; the summary names them with the key files to
// back up beside it.
func TestBackupNamesProfiles(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	if err := os.Mkdir(filepath.Join(live, "profiles"), 0o700); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "backup", "--data", live, "--out", filepath.Join(t.TempDir(), "b.db"))
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	if listed := backupSummary(t, stdout)["not in the backup"]; !strings.Contains(listed, filepath.Join(live, "profiles")+"/") {
		t.Errorf("not in the backup: %q; want DIR/profiles/ named", listed)
	}
}

// crashedCopy copies the hub files of live into a new directory as a
// crash leaves them: with a token, written after the seed, whose record
// is still in hub.db-wal (a connection kept the log from being folded
// into the file). It returns the copy's directory.
func crashedCopy(t *testing.T, live string) string {
	t.Helper()
	hold, err := sql.Open("sqlite3", filepath.Join(live, hub.DBFile)+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if err := hold.Ping(); err != nil {
		t.Fatal(err)
	}
	// Written while the connection keeps the log: it stays in hub.db-wal.
	if code, _, errs := run(t, "token", "create", "--data", live, "--name", "late-idp", "--scope", "scim"); code != 0 {
		t.Fatalf("token create: %s", errs)
	}
	dir := filepath.Join(t.TempDir(), "d")
	copyFiles(t, live, dir, hub.DBFile, hub.DBFile+"-wal", hub.DBFile+"-shm", audit.KeyFile)
	if fi, err := os.Stat(filepath.Join(dir, hub.DBFile+"-wal")); err != nil || fi.Size() == 0 {
		t.Fatalf("precondition: no write-ahead log in the copy: %v", err)
	}
	return dir
}
