package store

import "context"

// ListPage asks for one page of a list: Offset skips that many entries,
// Limit caps the page, and a Limit of 0 reads no entries at all (the
// total only). There is no "every entry": the API lists that read these
// pages have no bound on their length (a long-serving worker's grants, a
// hub's years of review campaigns), and what a caller wants whole it
// reads with the List method beside each.
type ListPage struct {
	Offset int
	Limit  int
}

// PageOps reads pages of lists the API pages (startIndex and count, as
// the SCIM lists and a campaign's items page). Each returns the page and
// the number of every entry of the list, both read from one snapshot: a
// change committed meanwhile is in both or in neither, so a client that
// pages on by the total neither skips nor repeats an entry because of it.
// Each pages in its List method's order, which is total (it ends with the
// ID), so that consecutive pages neither skip nor repeat.
type PageOps interface {
	// PageGrants returns a page of the user's grants, past and revoked
	// ones included, in ListGrants' order (Start, then ID).
	PageGrants(ctx context.Context, userID string, p ListPage) ([]Grant, int, error)
	// PageShiftExtensions returns a page of the user's shift extensions,
	// expired ones included, in ListShiftExtensions' order (Start, then
	// ID).
	PageShiftExtensions(ctx context.Context, userID string, p ListPage) ([]ShiftExtension, int, error)
	// PageCampaigns returns a page of the campaigns in ListCampaigns'
	// order (Created, then ID).
	PageCampaigns(ctx context.Context, p ListPage) ([]Campaign, int, error)
	// ReviewerTallies counts the items of every campaign by reviewer, as
	// the sum over the campaigns of ListCampaignItems' Tallies, ordered by
	// reviewer ID: a reviewer's progress across all campaigns without a
	// read of each campaign.
	ReviewerTallies(ctx context.Context) ([]ReviewTally, error)
}
