package store

import (
	"context"
	"time"
)

// ReviewScope selects what an access-review campaign covers. Zero fields
// do not filter; set fields combine with AND. hub/governance documents
// how each field applies to each kind of entitlement.
type ReviewScope struct {
	Sites      []string `json:"sites,omitempty"`      // site names, case-insensitive
	Roles      []string `json:"roles,omitempty"`      // role (group displayName) names, case-insensitive
	Privileged bool     `json:"privileged,omitempty"` // only privileged roles
	External   bool     `json:"external,omitempty"`   // only contractor, vendor and temp workers
}

// Campaign is an access-review campaign: a snapshot of entitlements, each
// a ReviewItem, to be kept or revoked by a due date.
type Campaign struct {
	ID    string // UUID, assigned by the caller
	Name  string
	Scope ReviewScope
	// DefaultKey names the period of a default campaign, e.g.
	// "quarterly:2026-Q4"; unique when not empty, which is what makes
	// starting the default campaigns idempotent. Empty for ad-hoc ones.
	DefaultKey string
	Due        time.Time
	Created    time.Time
	CreatedBy  string // the actor that started it
}

// ReviewDecision is where a review item stands. Stored numbers; never
// renumber.
type ReviewDecision int

const (
	ReviewPending ReviewDecision = 1
	ReviewKeep    ReviewDecision = 2
	ReviewRevoke  ReviewDecision = 3
)

func (d ReviewDecision) String() string {
	switch d {
	case ReviewPending:
		return "pending"
	case ReviewKeep:
		return "keep"
	case ReviewRevoke:
		return "revoke"
	}
	return "unknown"
}

// Review item kinds: what entitlement an item is about.
const (
	ReviewItemRole  = "role"  // Entitlement is the role name; GroupID the group
	ReviewItemSite  = "site"  // Entitlement is the site name
	ReviewItemGrant = "grant" // Entitlement is the grant ID
)

// ReviewItem is one entitlement of one user under review.
type ReviewItem struct {
	ID          string // UUID, assigned by the caller
	CampaignID  string
	UserID      string
	Kind        string // ReviewItemRole, ReviewItemSite, ReviewItemGrant
	Entitlement string
	GroupID     string // for role items
	Detail      string // what the reviewer sees, e.g. "Supervisor at north until ..."
	// ReviewerID is the user who must decide; empty means the hub admins.
	ReviewerID   string
	ReviewerKind string // manager, supervisor, admins, or escalated
	Decision     ReviewDecision
	Comment      string
	Outcome      string // what a decision did, e.g. "revoked", "already gone"
	Decided      time.Time
	DecidedBy    string
	// Escalated is when the item, overdue, went to EscalatedFrom's
	// manager or the hub admins; zero if it never was.
	Escalated     time.Time
	EscalatedFrom string
	Created       time.Time
}

// ReviewItemQuery selects review items; zero fields do not filter.
// Results are ordered by Created, then ID.
type ReviewItemQuery struct {
	CampaignID  string
	ReviewerID  string
	PendingOnly bool
	// OverdueAt selects pending items, not yet escalated, of campaigns
	// whose Due is not after it.
	OverdueAt time.Time
	// ReviewerKind selects the items of that reviewer kind
	// (ReviewItem.ReviewerKind). With PendingOnly, it reads one
	// reviewer's worklist (the hub admins', the site supervisors'), from
	// an index of the pending items, not every item of every campaign.
	ReviewerKind string
	// ReviewerGone selects pending items, not yet escalated, whose
	// reviewer is a user (not the hub admins) that is no longer active
	// or pending: disabled, deleted or unknown. A reviewer who left
	// mid-campaign holds them, and nobody else would decide them until
	// the campaign's due date. It reads an index of those items by
	// reviewer, one step per reviewer: cheap when none has left.
	ReviewerGone bool
	// Sites selects the items at one of the sites, by name under
	// FoldName: a site item of one of them, a grant item whose grant is
	// at one of them, a role item whose user has one of them among its
	// sites. A site supervisor's worklist is no more than those.
	Sites []string
	// AfterCreated and AfterID, when AfterID is set, start the list after
	// the item of that Created and ID, in the list's order; Limit, when
	// positive, caps it. Together they read a long list a page at a time.
	AfterCreated time.Time
	AfterID      string
	Limit        int
}

// CampaignItemQuery asks ListCampaignItems for a page of one campaign's
// items, in ListReviewItems' order (Created, then ID: fixed for the
// campaign's life, since decisions do not change it).
type CampaignItemQuery struct {
	CampaignID string
	// Decision selects the items with that decision; 0 selects every item
	// (and Decided the kept and revoked ones).
	Decision ReviewDecision
	// Decided selects the items decided either way (any Decision but
	// ReviewPending); Decision must then be 0.
	Decided bool
	// Offset skips that many matches; Limit caps the page, and 0 reads no
	// items at all (the counts only). A campaign over a large site has
	// tens of thousands of items: there is no "every item" here, that is
	// ListReviewItems.
	Offset int
	Limit  int
}

// ReviewTally counts the items of one campaign that one reviewer holds.
type ReviewTally struct {
	ReviewerID    string // "" the hub admins
	Items         int    // the reviewer's items, whatever their decision
	Kept          int    // ReviewKeep
	Revoked       int    // ReviewRevoke
	Decided       int    // any Decision but ReviewPending
	DecidedOnTime int    // Decided, with Decided not after the campaign's Due
	Escalated     int    // with a non-zero Escalated
	// EscalatedAway counts the items escalated (Escalated non-zero) from
	// this reviewer to another (EscalatedFrom is this reviewer, the
	// ReviewerID another); they are not among Items.
	EscalatedAway int
}

// CampaignItems is a page of a campaign's items (ListCampaignItems).
type CampaignItems struct {
	Items []ReviewItem // at most the query's Limit, from its Offset on
	Total int          // every item the query selects, whatever the page
	// Tallies counts every item of the campaign, whatever the query
	// selects, by reviewer ordered by ID: each reviewer that holds an item
	// or had one escalated away.
	Tallies []ReviewTally
}

// GovernanceOps stores access reviews, and reads what risk findings and
// the governance report need in one pass.
type GovernanceOps interface {
	// CreateCampaign stores c and its items in one step. ErrConflict if
	// the ID or a non-empty DefaultKey is taken, or an item ID is.
	CreateCampaign(ctx context.Context, c Campaign, items []ReviewItem) (Campaign, error)
	// GetCampaign returns one campaign; ErrNotFound if there is none.
	GetCampaign(ctx context.Context, id string) (Campaign, error)
	// ListCampaigns returns every campaign ordered by Created, then ID.
	ListCampaigns(ctx context.Context) ([]Campaign, error)
	// GetReviewItem returns one item; ErrNotFound if there is none.
	GetReviewItem(ctx context.Context, id string) (ReviewItem, error)
	ListReviewItems(ctx context.Context, q ReviewItemQuery) ([]ReviewItem, error)
	// ListCampaignItems returns one page of a campaign's items, the number
	// of the items the query selects and the campaign's tallies, all read
	// from one snapshot (a decision committed meanwhile is in all or in
	// none), at the cost of the page and of counts: not of every item
	// read and decoded. An unknown campaign has no items.
	ListCampaignItems(ctx context.Context, q CampaignItemQuery) (CampaignItems, error)
	// UpdateReviewItem replaces the item with what fn returns (ID,
	// CampaignID, UserID, Kind, Entitlement and Created are kept).
	UpdateReviewItem(ctx context.Context, id string, fn func(ReviewItem) (ReviewItem, error)) (ReviewItem, error)
	// ListActiveCredentials returns every credential in state
	// CredentialActive, whoever holds it, ordered by Created, then ID.
	ListActiveCredentials(ctx context.Context) ([]Credential, error)
}
