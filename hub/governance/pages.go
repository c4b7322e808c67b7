package governance

import (
	"context"
	"fmt"
	"slices"

	"github.com/shiftgate/shiftgate/hub/store"
)

// The API's other long lists (a user's grants and shift extensions, the
// campaigns, the findings) page as a campaign's items do: ItemPage read
// by ParseItemPage with no decision, at most MaxItemCount a page, which
// is also the page a client that does not page gets.

// Bounds returns the slice of a list of n entries that p holds (p
// normalized first): for a list computed whole, as the findings are.
func (p ItemPage) Bounds(n int) (from, to int) {
	return p.normalized().bounds(n)
}

// ListPage is the store's page for p (normalized first): its offset and
// limit.
func (p ItemPage) ListPage() store.ListPage {
	p = p.normalized()
	return store.ListPage{Offset: p.StartIndex - 1, Limit: p.Count}
}

// OverviewPage is the overview with one page of the campaigns. Reviewers
// counts every campaign, whatever the page, as a campaign's progress
// counts every item whatever the page of its items; TotalResults counts
// the campaigns, of which Campaigns holds ItemsPerPage from StartIndex
// on, in the order they were started.
type OverviewPage struct {
	Overview
	TotalResults int `json:"totalResults"`
	StartIndex   int `json:"startIndex"`
	ItemsPerPage int `json:"itemsPerPage"`
}

// CampaignsPage is Campaigns with the page p of the campaigns (its
// Decision is not looked at). Only the page's campaigns are read and
// counted one by one; the reviewers' progress over all of them is counted
// by the store (store.PageOps.ReviewerTallies), all in one read
// transaction, so that the page, its total and the reviewers agree.
func (s *Service) CampaignsPage(ctx context.Context, p ItemPage) (OverviewPage, error) {
	p = p.normalized()
	var out OverviewPage
	err := s.cfg.Store.InReadTx(ctx, func(tx store.Ops) error {
		cs, total, err := tx.PageCampaigns(ctx, p.ListPage())
		if err != nil {
			return err
		}
		all, err := tx.ReviewerTallies(ctx)
		if err != nil {
			return err
		}
		counts := make([][]store.ReviewTally, len(cs))
		ids := make([]string, 0, len(all))
		for _, t := range all {
			ids = append(ids, t.ReviewerID)
		}
		for i, c := range cs {
			page, err := tx.ListCampaignItems(ctx, store.CampaignItemQuery{CampaignID: c.ID})
			if err != nil {
				return err
			}
			counts[i] = page.Tallies
			for _, t := range page.Tallies {
				ids = append(ids, t.ReviewerID)
			}
		}
		// Each once: usersOnly reads a deleted user again for each mention.
		slices.Sort(ids)
		d, err := usersOnly(ctx, tx, slices.Compact(ids)...)
		if err != nil {
			return fmt.Errorf("campaign reviewers: %w", err)
		}
		now := s.now()
		out = OverviewPage{Overview: Overview{Campaigns: make([]CampaignView, 0, len(cs))}, TotalResults: total, StartIndex: p.StartIndex, ItemsPerPage: len(cs)}
		for i, c := range cs {
			out.Campaigns = append(out.Campaigns, s.talliedView(d, c, counts[i], now))
		}
		tally := reviewerTally{}
		for _, t := range all {
			tally.addTally(d, t)
		}
		out.Reviewers = tally.list()
		return nil
	})
	if err != nil {
		return OverviewPage{}, err
	}
	return out, nil
}
