package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexPassBoundsPlan: a pass finds the ends of the session history
// queue from the ends of its rowid, not by a scan of every queued row. In
// one SELECT, MIN(n) and MAX(n) were a scan: each pass of a catch-up read
// the whole backlog (a minute of sessions, after a busy spell) again.
func TestIndexPassBoundsPlan(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	var plans []string
	p := planner{querier: db.reader, plans: &plans}
	p.explain(t.Context(), queueBounds, nil)
	plan := strings.Join(plans, "; ")
	if strings.Contains(plan, "error") || !strings.Contains(plan, "session_history_queue") {
		t.Fatalf("no plan for %s: %s", queueBounds, plan)
	}
	if strings.Contains(plan, "SCAN session_history_queue") {
		t.Errorf("the queue's bounds are read by a scan of the queue: %s", plan)
	}
}
