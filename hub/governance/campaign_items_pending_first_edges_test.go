package governance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// TestCampaignItemsPendingFirstEdges: a pending-first page read from the
// store is the whole campaign's page, pending items first, at the edges
// of the pending and decided items: a page that ends on the last pending
// item, one that starts on the first decided item, one past every item,
// pages of no item and of the most items, and a start before the first.
func TestCampaignItemsPendingFirstEdges(t *testing.T) {
	ctx := context.Background()
	e, id := pagedEvidence(t)
	whole, err := e.gov.Campaign(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n, pending := len(whole.Items), whole.Progress.Pending
	if pending == 0 || pending == n {
		t.Fatalf("campaign of %d items, %d pending: want both kinds", n, pending)
	}
	for _, start := range []int{-3, 0, 1, pending - 1, pending, pending + 1, pending + 2, n - 1, n, n + 1, n + 100} {
		for _, count := range []int{-1, 0, 1, 2, 7, governance.MaxItemCount, governance.MaxItemCount + 1} {
			p := governance.ItemPage{StartIndex: start, Count: count, PendingFirst: true}
			t.Run(fmt.Sprintf("start %d count %d", start, count), func(t *testing.T) {
				got, err := e.gov.CampaignItems(ctx, id, p)
				if err != nil {
					t.Fatal(err)
				}
				want := whole.Page(governance.ItemPage{StartIndex: max(start, 1), Count: min(max(count, 0), governance.MaxItemCount), PendingFirst: true})
				gotJSON, _ := json.Marshal(got)
				wantJSON, _ := json.Marshal(want)
				if string(gotJSON) != string(wantJSON) {
					t.Errorf("CampaignItems: %d items from %d of %d, want %d from %d of %d", len(got.Items), got.StartIndex, got.TotalResults,
						len(want.Items), want.StartIndex, want.TotalResults)
				}
			})
		}
	}
}
