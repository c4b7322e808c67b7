package hub_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// holdingHandler discards log records, but holds the goroutine that logs
// the first record whose message has match until released.
type holdingHandler struct {
	match    string
	hit      chan struct{}
	released chan struct{}
	hitOnce  sync.Once
	relOnce  sync.Once
}

func (h *holdingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *holdingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *holdingHandler) WithGroup(string) slog.Handler            { return h }
func (h *holdingHandler) release()                                 { h.relOnce.Do(func() { close(h.released) }) }

func (h *holdingHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.match) {
		first := false
		h.hitOnce.Do(func() { first = true; close(h.hit) })
		if first {
			<-h.released
		}
	}
	return nil
}

// The audit watch has ended when ServeListener returns: the caller then
// closes the store and gives up the data directory, and the watch must
// no longer write audit.head or the trail.
func TestAuditWatchEndsWithServe(t *testing.T) {
	hold := &holdingHandler{match: "AUDIT TRAIL BROKEN", hit: make(chan struct{}), released: make(chan struct{})}
	h := hubtest.Start(t, hubtest.Options{AuditWatch: 20 * time.Millisecond, Logger: slog.New(hold)})
	t.Cleanup(hold.release) // before the hub's own stop
	seq, hash, err := h.Store().AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := audit.Anchor{Seq: seq, Hash: hash}.String()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if a, _, err := audit.LoadHead(h.DataDir); err == nil && a.String() == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watch never kept the head %s", want)
		}
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(h.DataDir, hub.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER audit_no_delete`, fmt.Sprintf(`DELETE FROM audit WHERE seq >= %d`, seq)} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	select {
	case <-hold.hit: // the watch is reporting the break
	case <-time.After(10 * time.Second):
		t.Fatal("the watch never reported the cut")
	}
	stopped := make(chan struct{})
	go func() { h.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Error("the hub stopped, and closed its store, while its audit watch still ran")
	case <-time.After(200 * time.Millisecond):
	}
	hold.release()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the hub did not stop")
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "audit.(*Watcher).Run") {
		t.Errorf("the audit watch still runs after the hub stopped:\n%s", stacks)
	}
}
