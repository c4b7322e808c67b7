package audit_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func appendN(t *testing.T, st store.Store, l *audit.Log, n int) {
	t.Helper()
	for i := range n {
		err := st.InTx(t.Context(), func(tx store.Ops) error {
			_, err := l.Append(t.Context(), tx, audit.Entry{Actor: "test", Action: "user.create", Subject: "user:" + string(rune('a'+i%26)), System: "scim", Detail: map[string]any{"i": i}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestChain(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{7}, 32)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l, err := audit.New(key, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	// More than one verification page.
	appendN(t, st, l, 2500)
	rep, err := audit.Verify(t.Context(), key, st)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Records != 2500 || rep.HeadSeq != 2500 || len(rep.HeadHash) != 32 {
		t.Errorf("report = %+v", rep)
	}
	recs, _ := st.ListAudit(t.Context(), store.AuditQuery{Limit: 2})
	if !bytes.Equal(recs[1].Prev, recs[0].Hash) || recs[0].Prev != nil {
		t.Error("records are not linked")
	}
	// Another key cannot vouch for the chain.
	other := bytes.Repeat([]byte{8}, 32)
	_, err = audit.Verify(t.Context(), other, st)
	var broken *audit.BrokenError
	if !errors.As(err, &broken) || broken.Seq != 1 {
		t.Errorf("Verify with another key = %v, want broken at record 1", err)
	}
}

func TestAppendOutsideTransactionIsSafe(t *testing.T) {
	// Appending concurrently from many transactions keeps one gap-free chain.
	st := openStore(t)
	key := bytes.Repeat([]byte{1}, 32)
	l, _ := audit.New(key, nil)
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			appendN(t, st, l, 50)
		}()
	}
	for range 4 {
		<-done
	}
	rep, err := audit.Verify(t.Context(), key, st)
	if err != nil || rep.Records != 200 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

func TestExport(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{2}, 32)
	l, _ := audit.New(key, nil)
	appendN(t, st, l, 5)
	var buf bytes.Buffer
	n, err := audit.Export(t.Context(), st, 2, &buf)
	if err != nil || n != 3 {
		t.Fatalf("Export = %d, %v", n, err)
	}
	sc := bufio.NewScanner(&buf)
	seq := int64(3)
	for sc.Scan() {
		var r struct {
			Seq    int64           `json:"seq"`
			Action string          `json:"action"`
			Detail json.RawMessage `json:"detail"`
			Hash   []byte          `json:"hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Seq != seq || r.Action != "user.create" || len(r.Hash) != 32 || !strings.Contains(string(r.Detail), `"i"`) {
			t.Errorf("line %d = %s", seq, sc.Text())
		}
		seq++
	}
}

func TestKeyFile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st := openStore(t)
	if _, err := audit.LoadKey(dir); !errors.Is(err, audit.ErrKeyMissing) {
		t.Errorf("LoadKey before there is a key: %v, want ErrKeyMissing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, audit.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadKey made a key: %v", err)
	}
	k1, err := audit.LoadOrCreateKey(ctx, dir, st)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, audit.KeyFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode().Perm())
	}
	k2, err := audit.LoadOrCreateKey(ctx, dir, st)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load = %x, %v; want the same key", k2, err)
	}
	if k3, err := audit.LoadKey(dir); err != nil || !bytes.Equal(k1, k3) {
		t.Fatalf("LoadKey = %x, %v; want the key", k3, err)
	}

	// Records sealed with the key, and then the key is gone (a restore
	// without it): no new key is made, and what to do is said.
	l, err := audit.New(k1, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, st, l, 2)
	os.Rename(filepath.Join(dir, audit.KeyFile), filepath.Join(dir, "key.bak"))
	if _, err := audit.LoadOrCreateKey(ctx, dir, st); !errors.Is(err, audit.ErrKeyMissing) || !strings.Contains(err.Error(), "restore") {
		t.Errorf("key missing beside sealed records: %v, want ErrKeyMissing saying to restore it", err)
	}
	if _, err := os.Stat(filepath.Join(dir, audit.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a new key was made beside sealed records: %v", err)
	}
	os.Rename(filepath.Join(dir, "key.bak"), filepath.Join(dir, audit.KeyFile))

	os.Chmod(filepath.Join(dir, audit.KeyFile), 0o640)
	if _, err := audit.LoadOrCreateKey(ctx, dir, st); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable key: %v", err)
	}
	os.Chmod(filepath.Join(dir, audit.KeyFile), 0o600)
	os.WriteFile(filepath.Join(dir, audit.KeyFile), []byte("short"), 0o600)
	if _, err := audit.LoadOrCreateKey(ctx, dir, st); err == nil {
		t.Error("a truncated key was accepted")
	}
	if _, err := audit.New([]byte("short"), nil); err == nil {
		t.Error("New accepted a short key")
	}
}

func TestAppendMany(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{3}, 32)
	l, _ := audit.New(key, nil)
	appendN(t, st, l, 3)
	err := st.InTx(t.Context(), func(tx store.Ops) error {
		var es []audit.Entry
		for i := range 100 {
			es = append(es, audit.Entry{Actor: "a", Action: "user.entitlements_removed", Subject: fmt.Sprintf("user:%d", i), System: "scim"})
		}
		rs, err := l.AppendMany(t.Context(), tx, es)
		if err == nil && (len(rs) != 100 || rs[0].Seq != 4 || rs[99].Seq != 103) {
			t.Errorf("records %d, seq %d..%d", len(rs), rs[0].Seq, rs[len(rs)-1].Seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, st, l, 1)
	if rep, err := audit.Verify(t.Context(), key, st); err != nil || rep.Records != 104 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

// TestRememberedHeadGoesStale: the Log remembers the head it appended, and
// that goes stale when its transaction rolls back or another writer (a CLI
// process, here a second Log) appends. Each append still lands on the
// true head, single and batched, and the chain verifies.
func TestRememberedHeadGoesStale(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{5}, 32)
	l, _ := audit.New(key, nil)
	other, _ := audit.New(key, nil)
	appendN(t, st, l, 2)

	errUndo := errors.New("undo")
	err := st.InTx(t.Context(), func(tx store.Ops) error {
		if _, err := l.Append(t.Context(), tx, audit.Entry{Actor: "a", Action: "rolled.back", Subject: "user:x", System: "scim"}); err != nil {
			return err
		}
		return errUndo
	})
	if !errors.Is(err, errUndo) {
		t.Fatalf("rolled-back append: %v", err)
	}
	appendN(t, st, l, 1)     // l remembers seq 3 from the rolled-back append
	appendN(t, st, other, 2) // l's head is now behind
	appendN(t, st, l, 1)
	appendN(t, st, other, 1)
	err = st.InTx(t.Context(), func(tx store.Ops) error {
		_, err := l.AppendMany(t.Context(), tx, []audit.Entry{
			{Actor: "a", Action: "x", Subject: "user:1", System: "scim"},
			{Actor: "a", Action: "x", Subject: "user:2", System: "scim"},
		})
		return err
	})
	if err != nil {
		t.Fatalf("batch on a stale head: %v", err)
	}
	rep, err := audit.Verify(t.Context(), key, st)
	if err != nil || rep.Records != 9 {
		t.Fatalf("Verify = %+v, %v; want 9 intact records", rep, err)
	}
	recs, err := st.ListAudit(t.Context(), store.AuditQuery{Action: "rolled.back"})
	if err != nil || len(recs) != 0 {
		t.Errorf("rolled-back record kept: %v, %v", recs, err)
	}
}
