package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// cancelOn is a writer that keeps what is written and calls cancel once
// it has been written a line beginning with prefix.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prefix string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for l := range strings.Lines(w.buf.String()) {
		if strings.HasPrefix(l, w.prefix) {
			w.cancel()
		}
	}
	return len(p), nil
}

// auditTrail makes a hub in a new data directory (device code makes its
// keys, and the first record) and appends n user.update records to its
// audit trail, the i-th about subject(i). It returns the directory, the
// hub's store closed.
func auditTrail(t *testing.T, n int, subject func(i int) string) string {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Run(ctx, []string{"device", "code", "--data", dir, "--site", "north", "--name", "north-1"}, &out, &errb); code != 0 {
		t.Fatalf("device code: %d %s", code, errb.String())
	}
	st, err := hub.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := audit.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	es := make([]audit.Entry, n)
	for i := range es {
		es[i] = audit.Entry{Actor: "test", Action: "user.update", Subject: subject(i), System: "scim"}
	}
	if err := st.InTx(ctx, func(tx store.Ops) error { _, err := l.AppendMany(ctx, tx, es); return err }); err != nil {
		t.Fatal(err)
	}
	return dir
}

// interruptedReindex makes a hub of 2,501 records whose search indexes
// someone emptied of a user's entries, and runs audit reindex on it in
// chunks of 500, cancelled (Ctrl-C) once the first chunk is done. It
// returns the data directory and the hub's database.
func interruptedReindex(t *testing.T) (string, *sql.DB) {
	t.Helper()
	ctx := t.Context()
	dir := auditTrail(t, 2500, func(i int) string { return fmt.Sprintf("user:%d", i%7) })
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, hub.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`DELETE FROM audit_by_subject WHERE val = 'user:3'`); err != nil {
		t.Fatal(err)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errw := &cancelOn{prefix: "indexed 500 of ", cancel: cancel}
	var out bytes.Buffer
	err = (env{stdout: &out, stderr: errw}).auditEvery(cctx, []string{"reindex", "--data", dir}, 500)
	if err == nil || !strings.Contains(err.Error(), "audit reindex interrupted: the search indexes cover the records up to the mark (500)") {
		t.Fatalf("audit reindex cancelled after its first chunk: %v, stdout %q, stderr %q; want it interrupted at 500", err, out.String(), errw.buf.String())
	}
	var done, head int64
	if err := db.QueryRow(`SELECT (SELECT done FROM index_marks WHERE name = 'audit'), (SELECT MAX(seq) FROM audit)`).Scan(&done, &head); err != nil {
		t.Fatal(err)
	}
	if done != 500 || head != 2502 {
		t.Fatalf("after the interrupt: mark %d, newest record %d; want 500 and 2502 (the reindex record)", done, head)
	}
	return dir, db
}

// TestAuditReindexInterrupted: audit reindex interrupted part-way (here
// Ctrl-C after its first chunk) leaves the indexes exact up to the mark it
// had moved to, and the rebuild recorded: audit verify says OK already
// (the records past the mark are read from the table, as past any index
// pass), and the rest is indexed by the hub's own index passes once it
// starts, or by running audit reindex again.
func TestAuditReindexInterrupted(t *testing.T) {
	ctx := t.Context()
	verify := func(t *testing.T, dir string) {
		t.Helper()
		var out, errb bytes.Buffer
		if err := (env{stdout: &out, stderr: &errb}).auditEvery(ctx, []string{"verify", "--data", dir}, auditProgressEvery); err != nil || !strings.HasPrefix(out.String(), "OK: 2502 records") {
			t.Errorf("verify: %v, %q %q", err, out.String(), errb.String())
		}
	}
	t.Run("continued by the hub", func(t *testing.T) {
		dir, db := interruptedReindex(t)
		verify(t, dir)
		st, err := hub.OpenStore(ctx, dir) // its index passes run
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var caught bool
			if err := db.QueryRow(`SELECT (SELECT done FROM index_marks WHERE name = 'audit') = (SELECT MAX(seq) FROM audit)`).Scan(&caught); err != nil {
				t.Fatal(err)
			}
			if caught {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the hub's index passes never finished the interrupted rebuild")
			}
		}
		if err := st.CheckAuditIndexes(ctx); err != nil {
			t.Errorf("indexes after the hub's passes: %v", err)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM audit_by_subject WHERE val = 'user:3'`).Scan(&n); err != nil || n != 357 {
			t.Errorf("user:3 has %d index entries (%v); want its 357 records", n, err)
		}
	})
	t.Run("continued by running it again", func(t *testing.T) {
		dir, _ := interruptedReindex(t)
		var out, errb bytes.Buffer
		if err := (env{stdout: &out, stderr: &errb}).auditEvery(ctx, []string{"reindex", "--data", dir}, 1000); err != nil ||
			!strings.HasPrefix(out.String(), "OK: audit search indexes rebuilt from 2503 records and checked") {
			t.Fatalf("audit reindex again: %v, %q %q", err, out.String(), errb.String())
		}
		if got, want := errb.String(), "indexed 1000 of 2503 records\nindexed 2000 of 2503 records\nindexed 2503 of 2503 records\n"; !strings.Contains(got, want) {
			t.Errorf("progress on stderr:\n%s\nwant\n%s", got, want)
		}
	})
}
