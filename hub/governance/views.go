package governance

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// Progress counts a set of review items. CompletionRate is Decided/Total,
// null when there are no items.
//
// A reviewer's progress (ReviewerProgress) also counts, in Total and
// EscalatedAway, the items escalated away from them when they let them go
// overdue: those are theirs to have decided, and a reviewer who decides
// nothing must not come out with nothing to show (100% of no items) once
// every item has gone to someone else. The reviewer the item went to
// counts it too, in Escalated.
type Progress struct {
	Total          int      `json:"total"`
	Decided        int      `json:"decided"`
	DecidedOnTime  int      `json:"decided_on_time"` // decided no later than the campaign's due date
	Kept           int      `json:"kept"`
	Revoked        int      `json:"revoked"`
	Pending        int      `json:"pending"`
	Escalated      int      `json:"escalated"`
	EscalatedAway  int      `json:"escalated_away,omitempty"` // a reviewer's items escalated to another when overdue
	CompletionRate *float64 `json:"completion_rate"`
}

func (p *Progress) add(it store.ReviewItem, due time.Time) {
	p.Total++
	switch it.Decision {
	case store.ReviewKeep:
		p.Kept++
	case store.ReviewRevoke:
		p.Revoked++
	default:
		p.Pending++
	}
	if it.Decision != store.ReviewPending {
		p.Decided++
		if !it.Decided.After(due) {
			p.DecidedOnTime++
		}
	}
	if !it.Escalated.IsZero() {
		p.Escalated++
	}
}

// addTally counts a reviewer's items as add counts each of them (but not
// those escalated away: see reviewerTally.addTally).
func (p *Progress) addTally(t store.ReviewTally) {
	p.Total += t.Items
	p.Kept += t.Kept
	p.Revoked += t.Revoked
	p.Pending += t.Items - t.Kept - t.Revoked // as add: what is neither kept nor revoked
	p.Decided += t.Decided
	p.DecidedOnTime += t.DecidedOnTime
	p.Escalated += t.Escalated
}

func (p *Progress) finish() {
	p.CompletionRate = ratio(p.Decided, p.Total)
}

// ratio is n/of, or nil when of is 0: nothing measured is not a 0.
func ratio(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	r := float64(n) / float64(of)
	return &r
}

// ReviewerProgress is one reviewer's share of a campaign (or of all).
type ReviewerProgress struct {
	Reviewer   string `json:"reviewer"` // userName (a deleted reviewer's from its tombstone), or "admins"
	ReviewerID string `json:"reviewer_id,omitempty"`
	Progress
}

// CampaignView is a campaign as the API and CLI show it.
type CampaignView struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Scope      store.ReviewScope  `json:"scope"`
	DefaultKey string             `json:"default_key,omitempty"`
	Due        time.Time          `json:"due"`
	Created    time.Time          `json:"created"`
	CreatedBy  string             `json:"created_by"`
	Overdue    bool               `json:"overdue"` // past due with items pending
	Progress   Progress           `json:"progress"`
	Reviewers  []ReviewerProgress `json:"reviewers"`
	Items      []ItemView         `json:"items,omitempty"`
}

// ItemView is a review item as the API and CLI show it.
type ItemView struct {
	ID            string     `json:"id"`
	Campaign      string     `json:"campaign"`
	User          string     `json:"user"` // userName (a deleted user's from its tombstone); the ID when the store does not know the user
	UserID        string     `json:"user_id"`
	Kind          string     `json:"kind"`
	Entitlement   string     `json:"entitlement"`
	Detail        string     `json:"detail"`
	Reviewer      string     `json:"reviewer"` // userName, as User; or "admins"
	ReviewerID    string     `json:"reviewer_id,omitempty"`
	ReviewerKind  string     `json:"reviewer_kind"`
	Decision      string     `json:"decision"`
	Comment       string     `json:"comment,omitempty"`
	Outcome       string     `json:"outcome,omitempty"`
	Decided       *time.Time `json:"decided,omitempty"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	Escalated     *time.Time `json:"escalated,omitempty"`
	EscalatedFrom string     `json:"escalated_from,omitempty"`
}

// itemView shows it with the userNames d holds: its users read with
// readDeleted (itemUserIDs) or usersOnly, deleted ones included.
func itemView(d *directory, it store.ReviewItem) ItemView {
	v := ItemView{ID: it.ID, Campaign: it.CampaignID, User: d.userName(it.UserID), UserID: it.UserID, Kind: it.Kind,
		Entitlement: it.Entitlement, Detail: it.Detail, Reviewer: d.userName(it.ReviewerID), ReviewerID: it.ReviewerID,
		ReviewerKind: it.ReviewerKind, Decision: it.Decision.String(), Comment: it.Comment, Outcome: it.Outcome,
		Decided: timePtr(it.Decided), DecidedBy: it.DecidedBy, Escalated: timePtr(it.Escalated)}
	if !it.Escalated.IsZero() {
		v.EscalatedFrom = d.userName(it.EscalatedFrom)
	}
	return v
}

// reviewerTally counts review items by their current reviewer.
type reviewerTally map[string]*ReviewerProgress

// add counts it, an item of a campaign due at due: for its reviewer, and
// for the reviewer it was escalated away from, if another (see Progress).
func (t reviewerTally) add(d *directory, it store.ReviewItem, due time.Time) {
	t.of(d, it.ReviewerID).add(it, due)
	if !it.Escalated.IsZero() && it.EscalatedFrom != it.ReviewerID {
		from := t.of(d, it.EscalatedFrom)
		from.Total++
		from.EscalatedAway++
	}
}

// addTally counts a reviewer's items of one campaign, counted by the
// store, as add counts each of them.
func (t reviewerTally) addTally(d *directory, c store.ReviewTally) {
	r := t.of(d, c.ReviewerID)
	r.Progress.addTally(c)
	r.Total += c.EscalatedAway
	r.EscalatedAway += c.EscalatedAway
}

// of returns the progress of reviewer id, new if need be.
func (t reviewerTally) of(d *directory, id string) *ReviewerProgress {
	r, ok := t[id]
	if !ok {
		r = &ReviewerProgress{Reviewer: d.userName(id), ReviewerID: id}
		t[id] = r
	}
	return r
}

// list returns the reviewers' progress ordered by name.
func (t reviewerTally) list() []ReviewerProgress {
	out := make([]ReviewerProgress, 0, len(t))
	for _, r := range t {
		r.finish()
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ReviewerProgress) int {
		return strings.Compare(strings.ToLower(a.Reviewer)+"\x00"+a.ReviewerID, strings.ToLower(b.Reviewer)+"\x00"+b.ReviewerID)
	})
	return out
}

func (s *Service) view(d *directory, c store.Campaign, items []store.ReviewItem, withItems bool, now time.Time) CampaignView {
	v := CampaignView{ID: c.ID, Name: c.Name, Scope: c.Scope, DefaultKey: c.DefaultKey, Due: c.Due, Created: c.Created, CreatedBy: c.CreatedBy}
	for _, it := range items {
		v.Progress.add(it, c.Due)
	}
	v.Progress.finish()
	v.Overdue = v.Progress.Pending > 0 && !now.Before(c.Due)
	tally := reviewerTally{}
	for _, it := range items {
		tally.add(d, it, c.Due)
	}
	v.Reviewers = tally.list()
	if withItems {
		v.Items = make([]ItemView, len(items))
		for i, it := range items {
			v.Items[i] = itemView(d, it)
		}
	}
	return v
}

// Campaign returns one campaign with every one of its items and
// per-reviewer progress; store.ErrNotFound if there is none. It holds the
// whole campaign in memory, and the deleted users of all its items: the
// hub's API, console and CLI page through CampaignItems instead. It is
// the whole campaign the pages are checked against (Page).
func (s *Service) Campaign(ctx context.Context, id string) (CampaignView, error) {
	c, err := s.cfg.Store.GetCampaign(ctx, id)
	if err != nil {
		return CampaignView{}, err
	}
	items, err := s.cfg.Store.ListReviewItems(ctx, store.ReviewItemQuery{CampaignID: id})
	if err != nil {
		return CampaignView{}, err
	}
	d, err := loadDirectory(ctx, s.cfg.Store)
	if err != nil {
		return CampaignView{}, err
	}
	if err := d.readDeleted(ctx, itemUserIDs(items, true)...); err != nil {
		return CampaignView{}, fmt.Errorf("campaign %s: %w", id, err)
	}
	return s.view(d, c, items, true, s.now()), nil
}

// Paging of a campaign's items, the way the hub's SCIM lists page (RFC
// 7644 §3.4.2.4): startIndex (1-based) and count in; totalResults,
// startIndex and itemsPerPage out. A campaign over a large site has tens
// of thousands of items: one answer with all of them is megabytes a
// client must take at once.
const (
	// MaxItemCount caps a page, as SCIM's maxResults caps its lists.
	MaxItemCount = 1000
	// DefaultItemCount is a page's size when count is not given: the cap,
	// so that a client written before paging still gets every item of a
	// campaign of up to that many, as it always did; only a larger
	// campaign is cut, to a first page whose totalResults says so.
	DefaultItemCount = MaxItemCount
)

// Item filters (ItemPage.Decision) besides the decisions themselves.
const (
	FilterPending = "pending" // not decided yet (comments do not decide)
	FilterDecided = "decided" // kept or revoked
)

// ItemPage asks for a page of a campaign's items: FirstPage, or
// ParseItemPage from a query.
type ItemPage struct {
	StartIndex int // 1-based; less than 1 is 1
	Count      int // items at most: 0 (the totals only) to MaxItemCount
	// Decision selects the items: "" every item; FilterPending,
	// FilterDecided, DecisionKeep or DecisionRevoke.
	Decision string
	// PendingFirst, with Decision "", orders the pending items first and
	// then the decided ones, each in the campaign's order: what an admin
	// works through comes first (the console's campaign page). It is
	// ignored with a filter, which selects one kind only.
	PendingFirst bool
}

// FirstPage is the page a client that does not page gets.
func FirstPage() ItemPage { return ItemPage{StartIndex: 1, Count: DefaultItemCount} }

// normalized applies RFC 7644 §3.4.2.4 as the SCIM lists do: a startIndex
// less than 1 is 1, a negative count is 0, one over the cap is the cap.
func (p ItemPage) normalized() ItemPage {
	p.StartIndex = max(p.StartIndex, 1)
	p.Count = min(max(p.Count, 0), MaxItemCount)
	return p
}

// matches reports whether an item with decision d (its Decision.String())
// is one p selects.
func (p ItemPage) matches(d string) bool {
	switch p.Decision {
	case "":
		return true
	case FilterDecided:
		return d != store.ReviewPending.String()
	}
	return d == p.Decision
}

// bounds returns the slice of n matching items that p holds.
func (p ItemPage) bounds(n int) (from, to int) {
	from = min(p.StartIndex-1, n)
	return from, from + min(p.Count, n-from)
}

// CampaignPage is a campaign with one page of its items. Progress and
// Reviewers count every item of the campaign, whatever the page and the
// filter; TotalResults counts the items the filter selects, of which
// Items holds ItemsPerPage from StartIndex on, in the campaign's order
// (it does not change while the campaign runs; a client that decides the
// pending items page by page reads the first page again, since each
// decision takes an item out of the pending ones).
type CampaignPage struct {
	CampaignView
	Items        []ItemView `json:"items"` // never null: [] past the end
	TotalResults int        `json:"totalResults"`
	StartIndex   int        `json:"startIndex"`
	ItemsPerPage int        `json:"itemsPerPage"`
}

// Page returns the page p of v's items (v as Campaign returns it, with
// every item).
func (v CampaignView) Page(p ItemPage) CampaignPage {
	p = p.normalized()
	var match []ItemView
	for _, it := range v.Items {
		if p.matches(it.Decision) {
			match = append(match, it)
		}
	}
	if p.PendingFirst && p.Decision == "" {
		slices.SortStableFunc(match, func(a, b ItemView) int {
			return cmp.Compare(pendingRank(a.Decision), pendingRank(b.Decision))
		})
	}
	from, to := p.bounds(len(match))
	out := CampaignPage{CampaignView: v, Items: append([]ItemView{}, match[from:to]...), TotalResults: len(match), StartIndex: p.StartIndex, ItemsPerPage: to - from}
	out.CampaignView.Items = nil
	return out
}

// pendingRank orders a pending decision before the others.
func pendingRank(decision string) int {
	if decision == store.ReviewPending.String() {
		return 0
	}
	return 1
}

// CampaignItems returns one campaign with the page p of its items (see
// CampaignPage); store.ErrNotFound if there is none. The store reads the
// page, the number of the items p selects and the counts of every item
// (store.ListCampaignItems): a page costs its own items and counts, not
// the whole campaign read and decoded, and only the users the answer
// names are read: the page's and the reviewers'.
//
// With p.PendingFirst, the page is read as a page of the pending items
// and, if they run out before it is full, one of the decided ones, both
// in one read transaction: a decision committed between the two reads
// would list its item in both, or on a later page in neither, with a
// total that is not the campaign's.
func (s *Service) CampaignItems(ctx context.Context, id string, p ItemPage) (CampaignPage, error) {
	p = p.normalized()
	if err := p.check(); err != nil {
		return CampaignPage{}, err
	}
	if !p.PendingFirst || p.Decision != "" {
		return s.campaignItems(ctx, s.cfg.Store, id, p)
	}
	var out CampaignPage
	err := s.cfg.Store.InReadTx(ctx, func(tx store.Ops) error {
		var err error
		out, err = s.campaignItems(ctx, tx, id, ItemPage{StartIndex: p.StartIndex, Count: p.Count, Decision: FilterPending})
		if err != nil {
			return err
		}
		if n := len(out.Items); n < p.Count {
			// Where the decided items start on the page: past the pending
			// ones, which this snapshot counted.
			rest, err := s.campaignItems(ctx, tx, id, ItemPage{StartIndex: max(p.StartIndex-out.TotalResults, 1), Count: p.Count - n, Decision: FilterDecided})
			if err != nil {
				return err
			}
			out.Items = append(out.Items, rest.Items...)
		}
		return nil
	})
	if err != nil {
		return CampaignPage{}, err
	}
	out.TotalResults, out.ItemsPerPage = out.Progress.Total, len(out.Items)
	return out, nil
}

// check refuses a filter that is none of ItemPage.Decision's.
func (p ItemPage) check() error {
	switch p.Decision {
	case "", FilterPending, DecisionKeep, DecisionRevoke, FilterDecided:
		return nil
	}
	return invalid("decision %q: want pending, decided, keep or revoke", clipQuote(p.Decision))
}

// campaignItems is CampaignItems of a page p with one filter at most,
// read through ops.
func (s *Service) campaignItems(ctx context.Context, ops store.Ops, id string, p ItemPage) (CampaignPage, error) {
	q := store.CampaignItemQuery{CampaignID: id, Offset: p.StartIndex - 1, Limit: p.Count}
	switch p.Decision {
	case FilterPending:
		q.Decision = store.ReviewPending
	case DecisionKeep:
		q.Decision = store.ReviewKeep
	case DecisionRevoke:
		q.Decision = store.ReviewRevoke
	case FilterDecided:
		q.Decided = true
	}
	c, err := ops.GetCampaign(ctx, id)
	if err != nil {
		return CampaignPage{}, err
	}
	page, err := ops.ListCampaignItems(ctx, q)
	if err != nil {
		return CampaignPage{}, err
	}
	ids := itemUserIDs(page.Items, true)
	for _, t := range page.Tallies {
		ids = append(ids, t.ReviewerID)
	}
	// Each once: usersOnly reads a deleted user again for each mention.
	slices.Sort(ids)
	d, err := usersOnly(ctx, ops, slices.Compact(ids)...)
	if err != nil {
		return CampaignPage{}, fmt.Errorf("campaign %s: %w", id, err)
	}
	out := CampaignPage{CampaignView: s.talliedView(d, c, page.Tallies, s.now()), Items: make([]ItemView, len(page.Items)),
		TotalResults: page.Total, StartIndex: p.StartIndex, ItemsPerPage: len(page.Items)}
	for i, it := range page.Items {
		out.Items[i] = itemView(d, it)
	}
	return out, nil
}

// talliedView is view, without items, of a campaign whose items the
// store counted (store.CampaignItems.Tallies) rather than returned: the
// same progress and reviewers, summed from each reviewer's counts.
func (s *Service) talliedView(d *directory, c store.Campaign, ts []store.ReviewTally, now time.Time) CampaignView {
	v := CampaignView{ID: c.ID, Name: c.Name, Scope: c.Scope, DefaultKey: c.DefaultKey, Due: c.Due, Created: c.Created, CreatedBy: c.CreatedBy}
	tally := reviewerTally{}
	for _, t := range ts {
		v.Progress.addTally(t)
		tally.addTally(d, t)
	}
	v.Progress.finish()
	v.Overdue = v.Progress.Pending > 0 && !now.Before(c.Due)
	v.Reviewers = tally.list()
	return v
}

// itemUserIDs returns the IDs of the users that items name, for
// readDeleted: each item's reviewer and the one it was escalated from,
// and with users its user. (A view without items shows only reviewers:
// the users of every campaign ever run would be every leaver since.)
func itemUserIDs(items []store.ReviewItem, users bool) []string {
	ids := make([]string, 0, 3*len(items))
	for _, it := range items {
		ids = append(ids, it.ReviewerID, it.EscalatedFrom)
		if users {
			ids = append(ids, it.UserID)
		}
	}
	return ids
}

// Overview is every campaign (without items) and every reviewer's
// progress across all of them.
type Overview struct {
	Campaigns []CampaignView     `json:"campaigns"`
	Reviewers []ReviewerProgress `json:"reviewers"`
}

// Campaigns returns the overview. The store counts each campaign's items
// (store.ListCampaignItems, no page) rather than returning them: the
// items of every campaign ever run would not fit in memory on a hub with
// years of reviews, and reading them one campaign at a time still read
// and decoded every one of them for each overview. Only the reviewers
// are read of the hub's users.
func (s *Service) Campaigns(ctx context.Context) (Overview, error) {
	cs, err := s.cfg.Store.ListCampaigns(ctx)
	if err != nil {
		return Overview{}, err
	}
	counts := make([][]store.ReviewTally, len(cs))
	var ids []string
	for i, c := range cs {
		page, err := s.cfg.Store.ListCampaignItems(ctx, store.CampaignItemQuery{CampaignID: c.ID})
		if err != nil {
			return Overview{}, err
		}
		counts[i] = page.Tallies
		for _, t := range page.Tallies {
			ids = append(ids, t.ReviewerID)
		}
	}
	// Each once: usersOnly reads a deleted user again for each mention.
	slices.Sort(ids)
	d, err := usersOnly(ctx, s.cfg.Store, slices.Compact(ids)...)
	if err != nil {
		return Overview{}, fmt.Errorf("campaign reviewers: %w", err)
	}
	now := s.now()
	out := Overview{Campaigns: make([]CampaignView, 0, len(cs))}
	tally := reviewerTally{}
	for i, c := range cs {
		for _, t := range counts[i] {
			tally.addTally(d, t)
		}
		out.Campaigns = append(out.Campaigns, s.talliedView(d, c, counts[i], now))
	}
	out.Reviewers = tally.list()
	return out, nil
}
