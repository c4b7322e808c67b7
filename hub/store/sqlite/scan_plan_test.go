package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// statements is a querier that records the text of every query it runs.
type statements struct {
	querier
	texts *[]string
}

func (s statements) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	*s.texts = append(*s.texts, query)
	return s.querier.QueryContext(ctx, query, args...)
}

func (s statements) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	*s.texts = append(*s.texts, query)
	return s.querier.QueryRowContext(ctx, query, args...)
}

// TestScanBatchPlans: a batch of a SCIM scan after its first (After,
// NoTotal) is one statement that reads on from the last key through the
// index of the list order, a range of it, with no temporary B-tree to
// sort and no count. Read by offset with a count, as it was, each batch
// stepped over every row before it and counted every row: a scan of
// 100,000 users took seconds, in time that grew with the square of their
// number.
func TestScanBatchPlans(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	after := store.ListKey{Created: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), ID: "u"}
	tests := []struct {
		name   string
		run    func(o store.Ops) error
		range_ string // the plan's step that reads the index
	}{
		{"users", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{After: after, Limit: 250, NoTotal: true})
			return err
		}, "SEARCH users USING INDEX users_created ((created,id)>(?,?))"},
		{"users with groups", func(o store.Ops) error {
			_, _, _, err := o.ListUsersWithGroups(t.Context(), store.UserQuery{After: after, Limit: 250, NoTotal: true})
			return err
		}, "SEARCH users USING INDEX users_created ((created,id)>(?,?))"},
		{"users in every state", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{After: after, Limit: 250, NoTotal: true,
				States: []store.UserState{store.UserPending, store.UserActive, store.UserDisabled, store.UserDeleted}})
			return err
		}, "SEARCH users USING INDEX users_created ((created,id)>(?,?))"},
		{"groups", func(o store.Ops) error {
			_, _, err := o.ListGroups(t.Context(), store.GroupQuery{After: after, Limit: 50, NoTotal: true})
			return err
		}, "SEARCH g USING INDEX groups_created ((created,id)>(?,?))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var plans, texts []string
			o := ops{read: statements{querier: planner{querier: db.reader, plans: &plans}, texts: &texts}, write: db.writeTx}
			if err := tc.run(o); err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(plans, "; ")
			if !strings.Contains(plan, tc.range_) {
				t.Errorf("plan does not read %s: %s", tc.range_, plan)
			}
			for _, step := range plans {
				// A user's groups are sorted for group_concat, a few rows
				// per user (userGroupsCol); the batch itself must not be.
				if strings.Contains(step, "TEMP B-TREE") && !strings.Contains(step, "group_concat(") {
					t.Errorf("plan sorts in a temporary B-tree (%s): %s", step, plan)
				}
			}
			if len(texts) != 1 || strings.Contains(texts[0], "COUNT(") {
				t.Errorf("%d statements, want one that counts nothing:\n%s", len(texts), strings.Join(texts, "\n"))
			}
		})
	}
}
