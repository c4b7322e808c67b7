package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// watched is a trail in a real database file with a Watcher on it, and
// what the watcher reads of the trail.
type watched struct {
	key  []byte
	dir  string
	path string // the database file
	st   store.Store
	log  *audit.Log

	mu     sync.Mutex
	afters []int64 // AfterSeq of each page the watcher read
}

func newWatched(t *testing.T) *watched {
	t.Helper()
	w := &watched{key: bytes.Repeat([]byte{7}, 32), dir: t.TempDir()}
	w.path = filepath.Join(w.dir, "hub.db")
	db, err := sqlite.Open(t.Context(), w.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w.st = db
	if w.log, err = audit.New(w.key, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *watched) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	w.mu.Lock()
	w.afters = append(w.afters, q.AfterSeq)
	w.mu.Unlock()
	return w.st.ListAudit(ctx, q)
}

// reads returns the AfterSeq of the pages read since the last call.
func (w *watched) reads() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.afters
	w.afters = nil
	return r
}

// watcher is a Watcher on w's trail, as a hub (re)starting would make it.
func (w *watched) watcher(t *testing.T) *audit.Watcher {
	t.Helper()
	wt, err := audit.NewWatcher(audit.WatchConfig{Key: w.key, Trail: w, Dir: w.dir, Pause: 0.01,
		Alert: func(ctx context.Context, e audit.Entry) error {
			return w.st.InTx(ctx, func(tx store.Ops) error { _, err := w.log.Append(ctx, tx, e); return err })
		}})
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

func (w *watched) head(t *testing.T) audit.Anchor {
	t.Helper()
	return mustVerify(t, w.key, w.st).Anchor()
}

// headFile returns what the watcher keeps in audit.head ("" when there is
// no file).
func (w *watched) headFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, audit.HeadFile))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// alerts returns the details of the trail's audit.alert records.
func (w *watched) alerts(t *testing.T) []map[string]any {
	t.Helper()
	recs, err := w.st.ListAudit(t.Context(), store.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range recs {
		if r.Action != "audit.alert" {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func check(t *testing.T, wt *audit.Watcher) audit.WatchStatus {
	t.Helper()
	if err := wt.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	return wt.Status()
}

// The watch walks only what was appended since its last check, from the
// record it checked last, and keeps that record in audit.head (0600) for
// the next start.
func TestWatchFollowsTheTrail(t *testing.T) {
	w := newWatched(t)
	wt := w.watcher(t)
	if st := check(t, wt); st.Checked.Seq != 0 || st.CheckedAt.IsZero() || w.headFile(t) != "" {
		t.Fatalf("empty trail: status %+v, head file %q", st, w.headFile(t))
	}
	appendN(t, w.st, w.log, 2500)
	w.reads()
	st := check(t, wt)
	if st.Checked.String() != w.head(t).String() || w.headFile(t) != st.Checked.String() || st.Breaks != 0 {
		t.Fatalf("status %+v, head file %q, trail head %s", st, w.headFile(t), w.head(t))
	}
	if got := w.reads(); len(got) != 4 || got[0] != math.MinInt64 || got[1] != 0 {
		t.Errorf("first walk read pages after %v, want a look below record 1, then the whole trail (3 pages from 0)", got)
	}
	fi, err := os.Stat(filepath.Join(w.dir, audit.HeadFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("head file: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}

	appendN(t, w.st, w.log, 3)
	w.reads()
	st = check(t, wt)
	if got := w.reads(); len(got) != 1 || got[0] != 2499 {
		t.Errorf("second walk read pages after %v, want one from the record checked last (after 2499)", got)
	}
	if st.Checked.Seq != 2503 || w.headFile(t) != w.head(t).String() {
		t.Fatalf("status %+v, head file %q, trail head %s", st, w.headFile(t), w.head(t))
	}

	// A restart goes on from the head file.
	appendN(t, w.st, w.log, 1)
	w.reads()
	st = check(t, w.watcher(t))
	if got := w.reads(); len(got) != 1 || got[0] != 2502 || st.Checked.Seq != 2504 {
		t.Errorf("after a restart: read pages after %v, status %+v; want one page after 2502", got, st)
	}
	if len(w.alerts(t)) != 0 {
		t.Error("an intact trail raised an alert")
	}
}

// Records cut off the end, a trail replaced, or one rewritten by someone
// who holds the key are found by the next check, running or after a
// restart: an error, an audit.alert record, and, since what is left
// verifies, the watch goes on from it.
func TestWatchFindsTrailCutOrRewritten(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart bool // the trail is changed while the hub is down
		tamper  func(t *testing.T, w *watched)
		problem string
	}{
		{"cut off the end", false, func(t *testing.T, w *watched) {
			exec(t, tamperer(t, w.path), `DELETE FROM audit WHERE seq > 7`)
		}, "record 10, checked before as"},
		{"cut off while the hub was down", true, func(t *testing.T, w *watched) {
			exec(t, tamperer(t, w.path), `DELETE FROM audit WHERE seq > 7`)
		}, "record 10, checked before as"},
		{"cut and new records appended past the head", false, func(t *testing.T, w *watched) {
			exec(t, tamperer(t, w.path), `DELETE FROM audit WHERE seq > 7`)
			appendN(t, w.st, w.log, 5)
		}, "not the one checked before as 10:"},
		{"wiped", false, func(t *testing.T, w *watched) {
			exec(t, tamperer(t, w.path), `DELETE FROM audit`)
		}, "record 10, checked before as"},
		{"rewritten with the key", true, func(t *testing.T, w *watched) {
			db := tamperer(t, w.path)
			exec(t, db, `UPDATE audit SET actor = 'somebody else' WHERE seq = 4`)
			reseal(t, db, w.key, 4)
		}, "not the one checked before as 10:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWatched(t)
			appendN(t, w.st, w.log, 10)
			wt := w.watcher(t)
			before := check(t, wt).Checked
			tc.tamper(t, w)
			if tc.restart {
				wt = w.watcher(t)
			}
			st := check(t, wt)
			if st.Breaks != 1 || st.Stopped != "" {
				t.Fatalf("status %+v, want one break and the watch going on", st)
			}
			alerts := w.alerts(t)
			if len(alerts) != 1 {
				t.Fatalf("alerts %v, want one", alerts)
			}
			a := alerts[0]
			if p, _ := a["problem"].(string); !strings.Contains(p, tc.problem) {
				t.Errorf("alert problem %q, want it to say %q", p, tc.problem)
			}
			if a["checked"] != before.String() || !strings.HasPrefix(a["whole_trail"].(string), "verifies") {
				t.Errorf("alert %v", a)
			}
			// The watch goes on from what is left, over its own alert.
			st = check(t, wt)
			if st.Checked.String() != w.head(t).String() || w.headFile(t) != st.Checked.String() || st.Breaks != 1 {
				t.Errorf("next check: status %+v, head file %q, trail head %s", st, w.headFile(t), w.head(t))
			}
			if len(w.alerts(t)) != 1 {
				t.Error("the break was reported again")
			}
		})
	}
}

// A record edited inside what the watch had not yet checked breaks the
// whole trail: the watch reports it, stops, and keeps the head it had, so
// that the next start reports the break again.
func TestWatchStopsOnABrokenTrail(t *testing.T) {
	w := newWatched(t)
	appendN(t, w.st, w.log, 10)
	wt := w.watcher(t)
	before := check(t, wt).Checked
	appendN(t, w.st, w.log, 5)
	exec(t, tamperer(t, w.path), `UPDATE audit SET detail = CAST('{"i":99}' AS BLOB) WHERE seq = 12`)
	st := check(t, wt)
	if st.Breaks != 1 || !strings.Contains(st.Stopped, "broken at record 12") {
		t.Fatalf("status %+v, want a break and the watch stopped at record 12", st)
	}
	if w.headFile(t) != before.String() {
		t.Errorf("head file %q, want the last head checked, %s", w.headFile(t), before)
	}
	a := w.alerts(t)
	if len(a) != 1 || !strings.Contains(a[0]["whole_trail"].(string), "broken at record 12") {
		t.Fatalf("alerts %v", a)
	}
	// Stopped: it checks nothing more, and Run returns.
	w.reads()
	if check(t, wt).Breaks != 1 || len(w.reads()) != 0 {
		t.Error("a stopped watch went on checking")
	}
	done := make(chan struct{})
	go func() { wt.Run(t.Context(), time.Millisecond); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run of a stopped watch did not return")
	}
	// The next start finds the break again.
	if st := check(t, w.watcher(t)); st.Breaks != 1 || st.Stopped == "" || len(w.alerts(t)) != 2 {
		t.Errorf("after a restart: status %+v, %d alerts", st, len(w.alerts(t)))
	}
}

// A head file that is not one is refused with what to do, and so is one
// others can read.
func TestWatchHeadFileRefused(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"garbage", "hello\n", 0o600, "remove it"},
		{"bad hash", "3:abcd\n", 0o600, "remove it"},
		{"others can read it", "3:" + strings.Repeat("ab", 32) + "\n", 0o644, "chmod 600"},
		{"too large", strings.Repeat("x", 4096), 0o600, "remove it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWatched(t)
			if err := os.WriteFile(filepath.Join(w.dir, audit.HeadFile), []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := audit.NewWatcher(audit.WatchConfig{Key: w.key, Trail: w, Dir: w.dir,
				Alert: func(context.Context, audit.Entry) error { return nil }})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewWatcher: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// VerifyFrom checks the record it starts from against its hash and
// content, and what follows.
func TestVerifyFrom(t *testing.T) {
	w := newWatched(t)
	appendN(t, w.st, w.log, 10)
	recs, err := w.st.ListAudit(t.Context(), store.AuditQuery{AfterSeq: 4, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	at5 := audit.Anchor{Seq: 5, Hash: recs[0].Hash}
	rep, err := audit.VerifyFrom(t.Context(), w.key, w.st, at5)
	if err != nil || rep.Records != 6 || rep.HeadSeq != 10 {
		t.Fatalf("VerifyFrom 5: %+v, %v; want 6 records up to 10", rep, err)
	}
	db := tamperer(t, w.path)
	exec(t, db, `UPDATE audit SET actor = 'x' WHERE seq = 5`)
	if _, err := audit.VerifyFrom(t.Context(), w.key, w.st, at5); err == nil || !strings.Contains(err.Error(), "record 5") {
		t.Errorf("VerifyFrom over an edited first record: %v", err)
	}
	// Removed, with records after it: said to be removed, not cut off
	// the end.
	exec(t, db, `DELETE FROM audit WHERE seq = 5`)
	_, err = audit.VerifyFrom(t.Context(), w.key, w.st, at5)
	var b *audit.BrokenError
	if !errors.As(err, &b) || b.Seq != 5 || !strings.Contains(b.Reason, "removed: the next stored record is 6") || strings.Contains(b.Reason, "cut off the end") {
		t.Errorf("VerifyFrom over a removed record 5: %v", err)
	}
	if _, err := audit.VerifyFrom(t.Context(), w.key, w.st, audit.Anchor{}); err == nil {
		t.Error("VerifyFrom took the zero anchor")
	}
}
