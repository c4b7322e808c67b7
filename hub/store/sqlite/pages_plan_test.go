package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestListPagePlans: the pages the API reads of a user's grants and
// shift extensions and of the campaigns come from an index in the list's
// order, not from a sort of the whole list: grants_user and
// shift_extensions_user hold a user's entries by start, so only those
// that start at one instant are sorted by ID ("LAST TERM OF ORDER BY"), and
// review_campaigns_created holds the campaigns' order exactly. Each total
// is counted over the same index. The reviewers' tallies read every item
// once (they count them all) and find each item's campaign by its key.
func TestListPagePlans(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	p := store.ListPage{Offset: 10, Limit: 3}
	tests := []struct {
		name  string
		run   func(o ops) error
		want  []string
		order bool // pages in an order: no full sort
	}{
		{"grants of a user", func(o ops) error {
			_, _, err := o.PageGrants(t.Context(), "u", p)
			return err
		}, []string{"SEARCH grants USING INDEX grants_user (user_id=?)", "SEARCH grants USING COVERING INDEX grants_user (user_id=?)"}, true},
		{"shift extensions of a user", func(o ops) error {
			_, _, err := o.PageShiftExtensions(t.Context(), "u", p)
			return err
		}, []string{"SEARCH shift_extensions USING INDEX shift_extensions_user (user_id=?)", "SEARCH shift_extensions USING COVERING INDEX shift_extensions_user (user_id=?)"}, true},
		{"campaigns", func(o ops) error {
			_, _, err := o.PageCampaigns(t.Context(), p)
			return err
		}, []string{"SCAN review_campaigns USING INDEX review_campaigns_created"}, true},
		{"reviewer tallies", func(o ops) error {
			_, err := o.ReviewerTallies(t.Context())
			return err
		}, []string{"SEARCH c USING INDEX sqlite_autoindex_review_campaigns_1 (id=?)"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var plans []string
			if err := tc.run(ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}); err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(plans, "\n")
			for _, want := range tc.want {
				if !strings.Contains(plan, want) {
					t.Errorf("no %q in the plan:\n%s", want, plan)
				}
			}
			if tc.order && strings.Contains(plan, "USE TEMP B-TREE FOR ORDER BY") {
				t.Errorf("the whole list is sorted for a page:\n%s", plan)
			}
			for _, line := range plans {
				if strings.HasPrefix(line, "SCAN review_campaigns") && !strings.Contains(line, "INDEX") ||
					strings.HasPrefix(line, "SCAN grants") || strings.HasPrefix(line, "SCAN shift_extensions") {
					t.Errorf("a table scanned: %q in\n%s", line, plan)
				}
			}
		})
	}
}
