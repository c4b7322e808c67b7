package governance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Reviewer kinds, as in store.ReviewItem.ReviewerKind.
const (
	ReviewerManager    = "manager"
	ReviewerSupervisor = "supervisor"
	ReviewerAdmins     = "admins"
	ReviewerEscalated  = "escalated"
	reviewerAdmins     = "admins" // how the empty reviewer is shown
)

// Decisions a reviewer sends.
const (
	DecisionKeep    = "keep"
	DecisionRevoke  = "revoke"
	DecisionComment = "comment"
)

// Outcomes of a revoke decision.
const (
	OutcomeRevoked = "revoked"
	OutcomeGone    = "already gone"
)

// Audit actions of this package.
const (
	actionReviewStart    = "review.start"
	actionReviewDecide   = "review.decide"
	actionReviewComment  = "review.comment"
	actionReviewEscalate = "review.escalate"
	actionRemediate      = "finding.remediate"
)

// Limits on what a request may carry.
const (
	maxName    = 200
	maxComment = 2000
	// maxNotes caps the notes of one item, each comment added to those
	// before it.
	maxNotes     = 10 * maxComment
	maxScopeList = 100
	maxScopeName = 128
	// MaxCampaignLength caps how far ahead a campaign may be due.
	MaxCampaignLength = 366 * 24 * time.Hour
)

// Default campaigns: every quarter for everyone, every month for
// privileged roles and for external identities. Each is due Window after
// it starts.
type defaultCampaign struct {
	name    string
	scope   store.ReviewScope
	monthly bool
	window  time.Duration
}

var defaultCampaigns = []defaultCampaign{
	{name: "quarterly", scope: store.ReviewScope{}, window: 30 * 24 * time.Hour},
	{name: "monthly-privileged", scope: store.ReviewScope{Privileged: true}, monthly: true, window: 14 * 24 * time.Hour},
	{name: "monthly-external", scope: store.ReviewScope{External: true}, monthly: true, window: 14 * 24 * time.Hour},
}

// periodKey names the calendar period (UTC) that now falls in.
func (d defaultCampaign) periodKey(now time.Time) string {
	if d.monthly {
		return fmt.Sprintf("%s:%04d-%02d", d.name, now.Year(), int(now.Month()))
	}
	return fmt.Sprintf("%s:%04d-Q%d", d.name, now.Year(), (int(now.Month())-1)/3+1)
}

// CampaignRequest is what starting a campaign takes.
type CampaignRequest struct {
	Name  string            `json:"name"`
	Scope store.ReviewScope `json:"scope"`
	Due   time.Time         `json:"due"`
}

// Check refuses (ErrInvalid) what StartCampaign would refuse of r at now,
// without a store: the CLI checks its flags with it before it opens the
// hub. StartCampaign checks again.
func (r CampaignRequest) Check(now time.Time) error { return r.normalize(now) }

// normalize checks r and trims it.
func (r *CampaignRequest) normalize(now time.Time) error {
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.Name == "":
		return invalid("name the campaign")
	case len(r.Name) > maxName:
		return invalid("the name is longer than %d bytes", maxName)
	case !utf8.ValidString(r.Name):
		return invalid("the name is not UTF-8 text")
	case strings.ContainsFunc(r.Name, store.Hidden):
		// The name is shown to every reviewer in the console and stored
		// in the audit trail and the evidence export's CSV, like a
		// kiosk's or a site's name, which refuse these too: a
		// right-to-left override would show it reversed, a zero-width
		// space make two campaigns look alike.
		return invalid("the name has a control character or an invisible formatting character")
	case r.Due.IsZero():
		return invalid("give a due date (RFC 3339): reviews that never fall due are never escalated")
	case !r.Due.After(now):
		return invalid("the due date %s has already passed", r.Due.UTC().Format(time.RFC3339))
	case r.Due.Sub(now) > MaxCampaignLength:
		return invalid("a campaign is due at most %d days ahead", int(MaxCampaignLength/(24*time.Hour)))
	}
	r.Due = r.Due.UTC()
	var err error
	if r.Scope.Sites, err = cleanList("site", r.Scope.Sites); err != nil {
		return err
	}
	r.Scope.Roles, err = cleanList("role", r.Scope.Roles)
	return err
}

func cleanList(what string, in []string) ([]string, error) {
	if len(in) > maxScopeList {
		return nil, invalid("at most %d %ss in a scope", maxScopeList, what)
	}
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return nil, invalid("an empty %s name in the scope", what)
		case len(s) > maxScopeName:
			return nil, invalid("a %s name longer than %d bytes in the scope", what, maxScopeName)
		}
		if !containsFold(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// StartCampaign snapshots the entitlements in scope as review items, each
// assigned to its reviewer, and stores the campaign with a review.start
// audit record, all in one transaction. It returns the campaign with the
// first page of its items (CampaignItems, FirstPage), as GET
// /api/v1/reviews/{id} answers it: a campaign over a large site has tens
// of thousands of items, and its answer read them all only to cut them.
// A scope's site or role with a character that does not show as itself
// is refused unless the hub holds a name spelled exactly so
// (checkScopeNames).
func (s *Service) StartCampaign(ctx context.Context, a lifecycle.Actor, req CampaignRequest) (CampaignPage, error) {
	now := s.now()
	if err := req.normalize(now); err != nil {
		return CampaignPage{}, err
	}
	if err := s.checkScopeNames(ctx, req.Scope); err != nil {
		return CampaignPage{}, err
	}
	c, err := s.startCampaign(ctx, a, req, "", "", now)
	if err != nil {
		return CampaignPage{}, err
	}
	return s.CampaignItems(ctx, c.ID, FirstPage())
}

// CampaignKey names one request to start a campaign, for
// StartCampaignOnce: who sent it (an API token, a console account: the
// same key of two callers is two keys) and the key it came with (an
// Idempotency-Key header, the key of one load of the console's form).
type CampaignKey struct {
	Caller, Key string
}

// ErrCampaignKeyReused refuses a request to start a campaign whose key its
// caller sent before with another campaign (HTTP 422 on the API, 409 on
// the console): a retry sends the same request, and neither campaign
// would be the right answer.
var ErrCampaignKeyReused = errors.New("campaign request key reused with another campaign")

// campaignID is the ID of the campaign request k starts: derived from k,
// so that the store, which refuses a second campaign of one ID, starts
// one campaign however often k is sent, two racing requests included,
// with no table of keys to keep.
func (k CampaignKey) campaignID() string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:shiftgate:campaign-request:"+k.Caller+"\n"+k.Key)).String()
}

// StartCampaignOnce is StartCampaign for the request k names: the same
// request sent again by the same caller with the same key (a form sent
// twice by a double click, a retry whose answer was lost, two racing)
// starts no second campaign, with its items listed twice to every
// reviewer: it returns the campaign the first started, as it is now,
// with replayed true, and records nothing. The key with another
// campaign's name, due date or scope is ErrCampaignKeyReused. The key is
// looked up before the request is checked: a retry gets its campaign
// back even when the request would be refused now (its due date has
// passed).
func (s *Service) StartCampaignOnce(ctx context.Context, a lifecycle.Actor, req CampaignRequest, k CampaignKey) (_ CampaignPage, replayed bool, _ error) {
	id := k.campaignID()
	if c, err := s.campaignOf(ctx, k, id, req); !errors.Is(err, store.ErrNotFound) {
		return c, err == nil, err
	}
	now := s.now()
	if err := req.normalize(now); err != nil {
		return CampaignPage{}, false, err
	}
	if err := s.checkScopeNames(ctx, req.Scope); err != nil {
		return CampaignPage{}, false, err
	}
	c, err := s.startCampaign(ctx, a, req, id, "", now)
	if errors.Is(err, store.ErrConflict) {
		// Another request of the key started it meanwhile.
		p, err := s.campaignOf(ctx, k, id, req)
		return p, err == nil, err
	}
	if err != nil {
		return CampaignPage{}, false, err
	}
	p, err := s.CampaignItems(ctx, c.ID, FirstPage())
	return p, false, err
}

// campaignOf returns the first page of campaign id, which request k
// started before (store.ErrNotFound if it did not), if req is the request
// that started it: ErrCampaignKeyReused if not.
func (s *Service) campaignOf(ctx context.Context, k CampaignKey, id string, req CampaignRequest) (CampaignPage, error) {
	c, err := s.cfg.Store.GetCampaign(ctx, id)
	if err != nil {
		return CampaignPage{}, err
	}
	// Checked as it was when the campaign started: its due date may
	// have passed since.
	if err := req.normalize(c.Created); err != nil || req.Name != c.Name || !req.Due.Equal(c.Due) ||
		!slices.Equal(req.Scope.Sites, c.Scope.Sites) || !slices.Equal(req.Scope.Roles, c.Scope.Roles) ||
		req.Scope.Privileged != c.Scope.Privileged || req.Scope.External != c.Scope.External {
		return CampaignPage{}, fmt.Errorf("%w: key %q was sent at %s with another campaign, and started campaign %s (%s): a retry sends the same request; send a new request with a new key",
			ErrCampaignKeyReused, k.Key, c.Created.UTC().Format(time.RFC3339), c.ID, c.Name)
	}
	return s.CampaignItems(ctx, c.ID, FirstPage())
}

// startCampaign starts the campaign req asks for at now, of ID id (""
// for a new one) and default period key (DefaultKey; "" for none).
func (s *Service) startCampaign(ctx context.Context, a lifecycle.Actor, req CampaignRequest, id, key string, now time.Time) (store.Campaign, error) {
	if id == "" {
		id = uuid.NewString()
	}
	c := store.Campaign{ID: id, Name: req.Name, Scope: req.Scope, DefaultKey: key, Due: req.Due, Created: now, CreatedBy: a.Name}
	err := s.cfg.Engine.Do(ctx, func(t *lifecycle.Tx) error {
		tx := t.Ops()
		d, err := loadDirectory(ctx, tx)
		if err != nil {
			return err
		}
		items, err := s.items(ctx, d, c, now)
		if err != nil {
			return err
		}
		if c, err = tx.CreateCampaign(ctx, c, items); err != nil {
			return err
		}
		return t.Audit(ctx, audit.Entry{Actor: a.Name, System: a.System, Action: actionReviewStart, Subject: "review:" + c.ID,
			Detail: map[string]any{"name": c.Name, "scope": c.Scope, "due": c.Due, "defaultKey": c.DefaultKey, "items": len(items)}})
	})
	if err != nil {
		return store.Campaign{}, fmt.Errorf("start campaign %q: %w", req.Name, err)
	}
	s.cfg.Logger.Info("access review started", "campaign", c.ID, "name", c.Name, "due", c.Due, "actor", a.Name)
	return c, nil
}

// items lists the entitlements in c's scope of every active or pending
// user, each with its reviewer.
func (s *Service) items(ctx context.Context, d *directory, c store.Campaign, now time.Time) ([]store.ReviewItem, error) {
	sc := c.Scope
	var out []store.ReviewItem
	for _, u := range d.users {
		if !live(u) || sc.External && !isExternal(u) {
			continue
		}
		inSites := len(sc.Sites) == 0 || slices.ContainsFunc(u.Sites, func(x string) bool { return containsFold(sc.Sites, x) })
		roleOK := func(role string) bool {
			return (len(sc.Roles) == 0 || containsFold(sc.Roles, role)) && (!sc.Privileged || s.privileged(role))
		}
		add := func(kind, ent, groupID, detail, site string) {
			rid, rkind := s.reviewerFor(d, u, site)
			out = append(out, store.ReviewItem{ID: uuid.NewString(), CampaignID: c.ID, UserID: u.ID, Kind: kind, Entitlement: ent,
				GroupID: groupID, Detail: detail, ReviewerID: rid, ReviewerKind: rkind, Decision: store.ReviewPending, Created: now})
		}
		if len(sc.Roles) == 0 && !sc.Privileged {
			for _, site := range sortedSites(u) {
				if len(sc.Sites) == 0 || containsFold(sc.Sites, site) {
					add(store.ReviewItemSite, site, "", "site "+site, site)
				}
			}
		}
		if inSites {
			for _, g := range d.groupsOf[u.ID] {
				if roleOK(g.DisplayName) {
					add(store.ReviewItemRole, g.DisplayName, g.ID, "role "+g.DisplayName+" at the user's sites", "")
				}
			}
		}
		grants, err := d.grantsOf(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if !current(g, now) || !roleOK(g.Role) || len(sc.Sites) > 0 && !containsFold(sc.Sites, g.Site) {
				continue
			}
			add(store.ReviewItemGrant, g.ID, "", fmt.Sprintf("grant of %s at %s until %s (%s)", g.Role, g.Site, g.End.Format(time.RFC3339), g.Reason), g.Site)
		}
	}
	return out, nil
}

// reviewerFor picks who reviews an entitlement of u: u's manager; else the
// supervisor of site (for a role, of the first of u's sites that has
// one); else the hub admins.
func (s *Service) reviewerFor(d *directory, u store.User, site string) (string, string) {
	if m, ok := d.manager(u); ok {
		return m.ID, ReviewerManager
	}
	sites := []string{site}
	if site == "" {
		sites = sortedSites(u)
	}
	for _, st := range sites {
		if sup, ok := d.supervisor(s.cfg.SupervisorRole, st, u.ID); ok {
			return sup.ID, ReviewerSupervisor
		}
	}
	return "", ReviewerAdmins
}

// Started is what StartDefaultCampaigns did.
type Started struct {
	Campaigns []string `json:"campaigns_started"` // IDs of the campaigns started
	Escalated int      `json:"items_escalated"`
	// Reassigned counts the items handed on from reviewers who left
	// (see ReassignLeft); they are escalations too, but not counted in
	// Escalated, which counts the overdue ones.
	Reassigned int `json:"items_reassigned"`
}

// StartDefaultCampaigns starts the default campaigns of the current
// period that have not been started yet: quarterly for everyone (due in
// 30 days), monthly for privileged roles and monthly for external
// identities (due in 14 days). Periods are calendar quarters and months in
// UTC; a period's campaign is started once, however often this runs and
// however many hubs run it.
//
// The campaigns started already are read first, outside any write
// transaction: the scheduler asks every minute, and building a campaign
// reads every user, group and grant inside the write transaction that
// stores it, holding up every other write of the hub (kiosk logins,
// teardown acks) meanwhile, only for the store to refuse a period's
// campaign that exists. The store's unique period key still settles two
// passes (or hubs) that start the same one at once.
func (s *Service) StartDefaultCampaigns(ctx context.Context, a lifecycle.Actor) ([]string, error) {
	now := s.now()
	cs, err := s.cfg.Store.ListCampaigns(ctx)
	if err != nil {
		return nil, fmt.Errorf("start default campaigns: %w", err)
	}
	started := make(map[string]bool, len(defaultCampaigns))
	for _, c := range cs {
		if c.DefaultKey != "" {
			started[c.DefaultKey] = true
		}
	}
	var ids []string
	for _, dc := range defaultCampaigns {
		key := dc.periodKey(now)
		if started[key] {
			continue
		}
		req := CampaignRequest{Name: key, Scope: dc.scope, Due: now.Add(dc.window)}
		c, err := s.startCampaign(ctx, a, req, "", key, now)
		if errors.Is(err, store.ErrConflict) {
			continue // started before
		}
		if err != nil {
			return ids, err
		}
		ids = append(ids, c.ID)
	}
	return ids, nil
}

// scheduler is the actor of what RunDue does.
var scheduler = lifecycle.Actor{Name: "scheduler", System: "scheduler"}

// RunDue is the scheduler's pass: it starts the default campaigns that
// are due, hands the pending items of reviewers who left on
// (ReassignLeft) and escalates overdue review items. It is idempotent:
// call it as often as convenient (every minute is plenty).
func (s *Service) RunDue(ctx context.Context) (Started, error) {
	return s.RunDueAs(ctx, scheduler)
}

// RunDueAs is RunDue on behalf of a (an admin's API call, the CLI).
func (s *Service) RunDueAs(ctx context.Context, a lifecycle.Actor) (Started, error) {
	ids, err := s.StartDefaultCampaigns(ctx, a)
	out := Started{Campaigns: ids}
	if out.Campaigns == nil {
		out.Campaigns = []string{}
	}
	if err != nil {
		return out, err
	}
	// Before the overdue items are escalated: a leaver's overdue item
	// goes to the same reviewer either way, but its record then says
	// why.
	if out.Reassigned, err = s.ReassignLeft(ctx, a); err != nil {
		return out, err
	}
	out.Escalated, err = s.Escalate(ctx, a)
	return out, err
}

// escalateBatch is how many overdue items one write transaction of
// Escalate escalates. A campaign left to run over escalates every item
// of it at once, tens of thousands of them: escalated in one
// transaction, with the whole directory read inside it, they held the
// hub's writer for over a second, and every kiosk login and teardown
// ack waited for it.
const escalateBatch = 200

// Escalate hands every pending item of a campaign past its due date, not
// escalated before, to its reviewer's own manager, or to the hub admins
// when the reviewer has none (or was the admins already). Each escalation
// is recorded (review.escalate) and shows on the item. An item is
// escalated once.
//
// The overdue items are read escalateBatch at a time, outside any write
// transaction, and each batch is escalated in a transaction of its own
// that reads only the reviewers of its items and their managers (see
// escalation), not the whole directory; the item itself is checked
// again inside it (still pending, not escalated since). A batch that
// fails, or a read of the next, ends the pass with its error and the
// number escalated by the batches before it, which stay escalated (see
// passFailed): the next pass picks up the rest, as an item once
// escalated is no longer overdue.
func (s *Service) Escalate(ctx context.Context, a lifecycle.Actor) (int, error) {
	const what, logged = "escalate overdue reviews", "overdue review items escalated"
	now := s.now()
	n := 0
	q := store.ReviewItemQuery{OverdueAt: now, Limit: escalateBatch}
	for {
		overdue, err := s.cfg.Store.ListReviewItems(ctx, q)
		if err != nil {
			return n, s.passFailed(what, logged, n, err)
		}
		if len(overdue) == 0 {
			break
		}
		done, err := s.escalate(ctx, a, overdue, now, "")
		n += done
		if err != nil {
			return n, s.passFailed(what, logged, n, err)
		}
		if len(overdue) < escalateBatch {
			break
		}
		// On from the last item read, in the list's order: the items
		// escalated drop out of the list, but one skipped (decided
		// meanwhile) would be read again from an offset.
		last := overdue[len(overdue)-1]
		q.AfterCreated, q.AfterID = last.Created, last.ID
	}
	if n > 0 {
		s.cfg.Logger.Info(logged, "count", n)
	}
	return n, nil
}

// passFailed is the error of a pass that hands review items on in
// batches (Escalate, ReassignLeft: what it does) and failed after the
// batches before committed n items, which stay handed on. Those are
// logged as a pass that ends well logs them (logged, with their count),
// and the error says how many there were: ended with the error alone, the
// scheduler's log said only that the pass failed, and the operator could
// not tell that part of the items had moved to new reviewers, and been
// recorded, nor how many.
func (s *Service) passFailed(what, logged string, n int, err error) error {
	if n == 0 {
		return fmt.Errorf("%s: %w", what, err)
	}
	s.cfg.Logger.Info(logged, "count", n, "incomplete", true)
	return fmt.Errorf("%s: %d items were handed on (and recorded) before it failed, and stay so; the next pass does the rest: %w", what, n, err)
}

// escalate escalates the overdue items of one batch in one transaction
// and returns how many it escalated. With reason reasonReviewerLeft
// (ReassignLeft), the items are those of reviewers who left, not overdue
// ones: each is escalated only if its reviewer is still gone as the
// transaction reads it (one enabled again since keeps their items), a
// deleted reviewer's manager is read from its tombstone, and the record
// gives the reason. Such an item may have been escalated before, to the
// manager who has now left: it is handed on to that manager's manager
// (or the admins) and keeps its escalation (Escalated, EscalatedFrom: who
// let it go overdue, or left, first), as it stays one escalation; never
// back to the reviewer it was escalated from, which would undo it.
func (s *Service) escalate(ctx context.Context, a lifecycle.Actor, overdue []store.ReviewItem, now time.Time, reason string) (int, error) {
	n := 0
	err := s.cfg.Engine.Do(ctx, func(t *lifecycle.Tx) error {
		n = 0
		tx := t.Ops()
		e := escalation{ops: tx, reviewers: map[string]escalationReviewer{}, tombstones: reason == reasonReviewerLeft}
		var entries []audit.Entry
		for _, it := range overdue {
			r, err := e.reviewer(ctx, it.ReviewerID)
			if err != nil {
				return err
			}
			if reason == reasonReviewerLeft && !r.gone {
				continue
			}
			again := !it.Escalated.IsZero() // only of a reviewer who left
			to, kind, toName := "", ReviewerAdmins, reviewerAdmins
			if r.hasManager && r.manager.ID != it.UserID && (!again || r.manager.ID != it.EscalatedFrom) {
				to, kind, toName = r.manager.ID, ReviewerEscalated, r.manager.UserName
			}
			up, err := tx.UpdateReviewItem(ctx, it.ID, func(old store.ReviewItem) (store.ReviewItem, error) {
				// Decided, or escalated (again), since the list was
				// read; or handed to another reviewer than the one
				// whose manager was read.
				if old.Decision != store.ReviewPending || !old.Escalated.Equal(it.Escalated) || old.ReviewerID != it.ReviewerID {
					return old, errSkip
				}
				if !again {
					old.EscalatedFrom, old.Escalated = old.ReviewerID, now
				}
				old.ReviewerID, old.ReviewerKind = to, kind
				return old, nil
			})
			if errors.Is(err, errSkip) {
				continue
			}
			if err != nil {
				return err
			}
			n++
			detail := map[string]any{"campaign": up.CampaignID, "item": up.ID, "kind": up.Kind, "entitlement": up.Entitlement,
				"from": r.name, "to": toName}
			if reason != "" {
				detail["reason"] = reason
			}
			entries = append(entries, audit.Entry{Actor: a.Name, System: a.System, Action: actionReviewEscalate, Subject: "user:" + up.UserID,
				Detail: detail})
		}
		return t.Audit(ctx, entries...)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// escalation is what one transaction of Escalate reads of the directory:
// each reviewer of its items and that reviewer's manager, read once, by
// ID, externalId and userName, as loadDirectory's directory resolves them
// (directory.manager), but without reading every user and group.
type escalation struct {
	ops       store.Ops
	reviewers map[string]escalationReviewer // by reviewer ID
	// tombstones resolves a deleted reviewer's manager from what its
	// tombstone kept: a reviewer deleted mid-campaign (ReassignLeft)
	// hands their items to their manager, as one disabled does. An
	// overdue item of a reviewer deleted long ago goes to the admins, as
	// it always has.
	tombstones bool
}

// escalationReviewer is a reviewer as Escalate reads it: how the audit
// record names it, and its manager, if it has one.
type escalationReviewer struct {
	name       string // its userName; its ID when deleted or unknown; "admins" for ""
	manager    store.User
	hasManager bool
	// gone: the reviewer is a user no longer active or pending
	// (disabled, deleted, unknown), who will decide nothing more. The
	// hub admins never leave.
	gone bool
}

// reviewer reads the reviewer id (read once per transaction).
func (e *escalation) reviewer(ctx context.Context, id string) (escalationReviewer, error) {
	if r, ok := e.reviewers[id]; ok {
		return r, nil
	}
	r := escalationReviewer{name: id, gone: true}
	if id == "" {
		r.name, r.gone = reviewerAdmins, false
		e.reviewers[id] = r
		return r, nil
	}
	// The manager is resolved over the users that are not deleted, as in
	// a directory loadDirectory read: the reviewer, and the users its
	// manager reference may name. With tombstones, a deleted reviewer's
	// reference is read from its tombstone (still named by its ID).
	d, err := usersOnly(ctx, e.ops, id)
	if err != nil {
		return r, err
	}
	u, ok := d.byID[id]
	if ok {
		r.name, r.gone = u.UserName, !live(u)
	} else if u = d.deleted[id]; !e.tombstones || u.ID == "" {
		e.reviewers[id] = r
		return r, nil
	}
	if ref := lifecycle.EnterpriseOf(u.Document).Manager; ref != "" {
		if err := d.readManagerRef(ctx, ref); err != nil {
			return r, err
		}
		r.manager, r.hasManager = d.manager(u)
	}
	e.reviewers[id] = r
	return r, nil
}

var errSkip = errors.New("skip")

// Decider is who decides a review item: the actor the audit trail names
// and, when that actor is a person, the hub user the person is.
type Decider struct {
	lifecycle.Actor
	// UserID is the hub user the deciding person is, or "" when the
	// actor is no person (an API token, the CLI) or a person without a
	// hub user. A console account is the hub user it is linked to by ID
	// (store.ConsoleAccount.UserID), whatever that user's userName is
	// now; the console resolves it. Decide refuses every decision on an
	// item about UserID: nobody reviews their own access.
	UserID string
	// Self, when set, tells that user inside the decision's transaction,
	// in place of UserID, so that the check reads what the decision reads
	// (lifecycle.Self): the console passes the account, whose hub user
	// may change between a read before the transaction and the decision.
	Self lifecycle.Self
	// May, when set, tells inside the decision's transaction, once the
	// item is read, whether the decider may decide it at all: nil when it
	// may, an error wrapping ErrForbidden when it may not (a refusal,
	// told once the transaction commits, as Decide's others are), any
	// other error to end the transaction with. The console's supervisors
	// decide only items within their sites (hub/console: authz.go): read
	// before the transaction, a move of the worker (a SCIM change of
	// their sites) or an escalation committed in between would let one
	// decide an item no longer theirs. Self may refuse with ErrForbidden
	// in the same way (an account disabled while the request was made).
	May func(ctx context.Context, tx store.Ops, it store.ReviewItem) error
}

// Decide records a reviewer's decision on one item: keep, revoke (the
// entitlement is removed at once through the lifecycle engine, in the same
// transaction as the decision, and its revocations are pushed to kiosks),
// or comment (a note; the item stays pending). A decided item cannot be
// decided again (ErrConflict, saying how, by whom and when it was), only
// commented; but the same decision again by the actor who made it (a
// retry after a lost answer) returns the item as recorded, with no second
// audit record and no second revocation (see repeats); so does the same
// comment again by the actor who added it, within commentRepeatWindow
// and with no other change of the item since (see commentRepeats). A
// comment, with a decision or alone, is added to the item's notes on a
// line of its own: it never replaces the reason given with the decision.
//
// Nobody decides on their own access: an item about d.UserID is refused
// with ErrForbidden, comments included (they would stand in the record
// as the reviewer's), and so is one d.May refuses, with its refusal. A
// keep of an item whose user is disabled or deleted, or whose
// entitlement was taken away since the campaign started (see
// entitlementHeld), is refused with ErrConflict: there is no access left
// to certify, and a keep would attest to access that does not exist; a
// revoke of it records the outcome "already gone", and still removes the
// membership or site a disabled user keeps for a re-hire, so that a
// re-hire does not get back what the reviewer revoked (the review.decide
// record then says removedWhileDisabled).
//
// Those refusals, and a repeat's answer, are told only once the
// group-commit batch that read what they name has committed: an earlier
// write of the same batch may have made it (a rename that makes the item
// the decider's own, a leaver, another decision), and a batch that fails
// to commit answers every one of its writes with its error instead.
func (s *Service) Decide(ctx context.Context, d Decider, itemID, decision, comment string) (ItemView, error) {
	a := d.Actor
	decision = strings.ToLower(strings.TrimSpace(decision))
	comment = strings.TrimSpace(comment)
	switch {
	case decision != DecisionKeep && decision != DecisionRevoke && decision != DecisionComment:
		return ItemView{}, invalid("decision must be keep, revoke or comment")
	case len(comment) > maxComment:
		return ItemView{}, invalid("the comment is longer than %d bytes", maxComment)
	case decision == DecisionComment && comment == "":
		return ItemView{}, invalid("a comment needs its text")
	}
	now := s.now()
	var (
		out store.ReviewItem
		// refused is a refusal read from what the transaction reads, told
		// only once that is committed (see below).
		refused error
	)
	err := s.cfg.Engine.Do(ctx, func(t *lifecycle.Tx) error {
		tx := t.Ops()
		refused = nil
		it, err := tx.GetReviewItem(ctx, itemID)
		if err != nil {
			return err
		}
		var selves []string
		if d.UserID != "" {
			selves = []string{d.UserID}
		}
		if d.Self != nil {
			selves, err = d.Self(ctx, tx)
			if errors.Is(err, ErrForbidden) {
				refused = err // told once committed, as the refusals below
				return nil
			}
			if err != nil {
				return err
			}
		}
		// Each refusal below is told only once the transaction commits,
		// which ends with nil, having written nothing: what it names
		// (the decider's hub user, a decision, the user's state, the
		// entitlement, the notes) may be what an earlier write of the
		// same group-commit batch made, read here before the batch
		// commits. Ended with an error it was answered at once, and a
		// COMMIT that then failed left a refusal standing for a rename,
		// a leaver or a decision that never happened; the batch's error
		// answers instead, and the client retries.
		if slices.Contains(selves, it.UserID) {
			refused = fmt.Errorf("%w: item %s is about your own access: nobody reviews their own access, another reviewer must decide it", ErrForbidden, it.ID)
			return nil
		}
		if d.May != nil {
			if err := d.May(ctx, tx, it); errors.Is(err, ErrForbidden) {
				refused = err
				return nil
			} else if err != nil {
				return err
			}
		}
		if decision == DecisionComment {
			// A retry of a comment whose answer was lost, or a form
			// sent twice: answer the item as it is, and add and
			// record nothing more. Read in this transaction, so that
			// of two racing, the second sees the first's note and
			// record even before they are committed.
			again, err := commentRepeats(ctx, tx, it, a, comment, now)
			if err != nil {
				return err
			}
			if again {
				out = it
				return nil
			}
		}
		if decision != DecisionComment && it.Decision != store.ReviewPending {
			if repeats(it, a, decision, comment) {
				// A retry of a decision whose answer was lost: answer
				// what was recorded, and record and revoke nothing
				// more. The transaction wrote nothing, and ends with
				// nil, not an error: a retry racing its request reads
				// the request's decision in the same group-commit
				// batch, before the batch commits; ended with an error
				// it answered at once, the decision as done, and a
				// COMMIT that then failed left the item pending.
				out = it
				return nil
			}
			// Likewise the refusal, which names the decision as made.
			refused = fmt.Errorf("%w: item %s was already decided: %s by %s at %s; a decision is made once (only the same reviewer's same decision repeats it): add a note with \"comment\"",
				ErrConflict, it.ID, it.Decision, it.DecidedBy, it.Decided.UTC().Format(time.RFC3339Nano))
			return nil
		}
		if comment != "" {
			// Before anything is written: the refusal must leave the
			// transaction with nothing of this decision in it.
			if _, err := addNote(it, comment); err != nil {
				refused = err
				return nil
			}
		}
		if decision == DecisionKeep {
			if err := keepable(ctx, tx, it, now); errors.Is(err, ErrConflict) {
				refused = err
				return nil
			} else if err != nil {
				return err
			}
		}
		outcome, removed := "", false
		if decision == DecisionRevoke {
			if outcome, removed, err = s.revoke(ctx, t, a, it); err != nil {
				return err
			}
		}
		out, err = tx.UpdateReviewItem(ctx, it.ID, func(old store.ReviewItem) (store.ReviewItem, error) {
			if comment != "" {
				notes, err := addNote(old, comment)
				if err != nil {
					return old, err
				}
				old.Comment = notes
			}
			if decision != DecisionComment {
				old.Decision, old.Decided, old.DecidedBy, old.Outcome = store.ReviewKeep, now, a.Name, outcome
				if decision == DecisionRevoke {
					old.Decision = store.ReviewRevoke
				}
			}
			return old, nil
		})
		if err != nil {
			return err
		}
		action := actionReviewDecide
		if decision == DecisionComment {
			action = actionReviewComment
		}
		detail := map[string]any{"campaign": it.CampaignID, "item": it.ID, "kind": it.Kind, "entitlement": it.Entitlement,
			"decision": decision, "reviewer": it.ReviewerID}
		if comment != "" {
			detail["comment"] = comment
		}
		if outcome != "" {
			detail["outcome"] = outcome
		}
		if removed && outcome == OutcomeGone {
			// A disabled user's: no access was live, but the
			// membership or site it kept for a re-hire is gone now.
			detail["removedWhileDisabled"] = true
		}
		switch len(selves) {
		case 0:
		case 1:
			detail["deciderUser"] = selves[0]
		default:
			detail["deciderUsers"] = selves // an unlinked account of a name several users have
		}
		return t.Audit(ctx, audit.Entry{Actor: a.Name, System: a.System, Action: action, Subject: "user:" + it.UserID, Detail: detail})
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return ItemView{}, fmt.Errorf("decide review item %s: %w", itemID, err)
	}
	dir, err := usersOnly(ctx, s.cfg.Store, out.UserID, out.ReviewerID, out.EscalatedFrom)
	if err != nil {
		return ItemView{}, err
	}
	return itemView(dir, out), nil
}

// addNote returns the notes of it with comment added on a line of its own, or
// ErrConflict when that makes them longer than maxNotes. A note adds to
// the notes before it: a comment on a decided item must not replace the
// reason given with the decision, which the evidence shows.
func addNote(it store.ReviewItem, comment string) (string, error) {
	notes := comment
	if it.Comment != "" {
		notes = it.Comment + "\n" + comment
	}
	if len(notes) > maxNotes {
		return "", fmt.Errorf("%w: item %s has %d bytes of notes already; at most %d in all", ErrConflict, it.ID, len(it.Comment), maxNotes)
	}
	return notes, nil
}

// repeats reports whether a's decision (keep or revoke) with comment on
// the decided item it is the one recorded: the same decision by the same
// actor, with no comment or one that stands in the notes already (as the
// decision recorded it, at a line of its own). A reviewer whose answer
// was lost retries the same request, and must not be told that their own
// decision conflicts. A comment not in the notes would be lost if the
// repeat were answered as done, so it is no repeat.
func repeats(it store.ReviewItem, a lifecycle.Actor, decision, comment string) bool {
	same := decision == DecisionKeep && it.Decision == store.ReviewKeep || decision == DecisionRevoke && it.Decision == store.ReviewRevoke
	if !same || it.DecidedBy != a.Name {
		return false
	}
	n := it.Comment
	return comment == "" || n == comment || strings.HasPrefix(n, comment+"\n") || strings.HasSuffix(n, "\n"+comment) ||
		strings.Contains(n, "\n"+comment+"\n")
}

// commentRepeatWindow is how long after a comment the same comment by
// the same actor on the same item is taken for a repeat of it: a retry of
// a request whose answer was lost, or a form sent twice, comes within
// seconds or minutes. Later, the same note again is a reviewer's own
// choice, and is added and recorded.
const commentRepeatWindow = 10 * time.Minute

// commentRepeats reports whether a's comment on it repeats the comment
// that added its last note: the notes end with comment, on a line of its
// own, and the newest audit record about the item, within
// commentRepeatWindow of now, is that comment's review.comment, by a.
// Every change of the notes is audited in the transaction that makes it,
// so that record is the one that added the last note; a decision, an
// escalation or another actor's comment since makes the comment a note
// of its own again. Unlike keep and revoke, a comment is no state a
// repeat can be compared with, and repeating one is a legitimate (if
// rare) thing to do: hence the actor and the window, read from the audit
// trail. The audit is read only when the notes end with comment, which
// a new comment seldom does.
//
// The search asks for the newest record about the item, with no time
// bound, and the window is checked here: it runs inside the decision's
// write transaction, and the store walks the user's records newest first
// until one mentions the item. The notes end with comment, so a record
// mentioning the item exists (the one that added that note, or a later
// one), and the walk ends at it, having read only the user's records
// since. Bounded by time instead, the store cannot stop at the window's
// start (the time is no key of the walk), and when the last note was
// older than the window it walked the user's whole trail, every record
// back to the first, holding the hub's writer, and every kiosk login
// with it, meanwhile (30 to 110 ms for a user of 50,000 records).
func commentRepeats(ctx context.Context, tx store.Ops, it store.ReviewItem, a lifecycle.Actor, comment string, now time.Time) (bool, error) {
	if it.Comment != comment && !strings.HasSuffix(it.Comment, "\n"+comment) {
		return false, nil
	}
	rs, err := tx.SearchAudit(ctx, store.AuditSearch{Subjects: []string{"user:" + it.UserID}, Mentions: []string{it.ID}, Limit: 1})
	if err != nil || len(rs) == 0 {
		return false, err
	}
	r := rs[0]
	if r.Time.Before(now.Add(-commentRepeatWindow)) || r.Action != actionReviewComment || r.Actor != a.Name || r.System != a.System {
		return false, nil
	}
	var d struct {
		Item    string `json:"item"`
		Comment string `json:"comment"`
	}
	if err := json.Unmarshal(r.Detail, &d); err != nil {
		return false, nil // not a record this package wrote: no repeat
	}
	return d.Item == it.ID && d.Comment == comment, nil
}

// keepable refuses a keep of an item whose user is disabled or deleted,
// or whose entitlement is gone (ErrConflict): keeping would certify
// access that does not exist.
func keepable(ctx context.Context, tx store.Ops, it store.ReviewItem, now time.Time) error {
	u, err := tx.GetUser(ctx, it.UserID)
	state := "deleted"
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case u.State == store.UserDisabled || u.State == store.UserDeleted:
		state = u.State.String()
	default:
		return entitlementHeld(ctx, tx, it, u, now)
	}
	name := it.UserID
	if u.UserName != "" {
		name = u.UserName
	}
	return fmt.Errorf("%w: user %s is %s: there is no access left to keep; decide revoke to record it as already gone", ErrConflict, name, state)
}

// entitlementHeld refuses (ErrConflict) a keep of an item whose
// entitlement user u no longer holds: the grant was revoked or ran out,
// the membership or the site was removed, or the group was renamed (the
// reviewed role is gone, as revoke sees it; a keep would stand in the
// evidence for a membership of another role nobody reviewed). Another
// change, a revoke in another campaign or a mover, may take it between
// the snapshot and the decision.
func entitlementHeld(ctx context.Context, tx store.Ops, it store.ReviewItem, u store.User, now time.Time) error {
	var gone string
	switch it.Kind {
	case store.ReviewItemRole:
		g, err := tx.GetGroup(ctx, it.GroupID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			gone = "the group of role " + it.Entitlement + " was deleted"
		case err != nil:
			return err
		case !strings.EqualFold(g.DisplayName, it.Entitlement):
			// Not named: a supervisor deciding may not be one to see it.
			gone = "the group of role " + it.Entitlement + " was renamed to another role"
		case !slices.Contains(g.Members, u.ID):
			gone = u.UserName + " is no longer a member of role " + it.Entitlement
		}
	case store.ReviewItemSite:
		if !containsFold(u.Sites, it.Entitlement) {
			gone = u.UserName + " no longer has site " + it.Entitlement
		}
	case store.ReviewItemGrant:
		g, err := tx.GetGrant(ctx, it.Entitlement)
		switch {
		case errors.Is(err, store.ErrNotFound):
			gone = "the grant no longer exists"
		case err != nil:
			return err
		case !g.Revoked.IsZero():
			gone = "the grant was revoked on " + g.Revoked.UTC().Format(time.RFC3339)
		case !g.End.After(now):
			gone = "the grant ended on " + g.End.UTC().Format(time.RFC3339)
		}
	}
	if gone == "" {
		return nil
	}
	return fmt.Errorf("%w: item %s: %s: there is nothing left to keep; decide revoke to record it as already gone", ErrConflict, it.ID, gone)
}

// revoke removes the entitlement an item is about and returns the
// outcome, and whether anything was removed. A disabled user's membership
// or site is removed (a leaver keeps them for a re-hire, which must not
// get back what a reviewer revoked), with the outcome OutcomeGone all the
// same: no access was live to revoke.
func (s *Service) revoke(ctx context.Context, t *lifecycle.Tx, a lifecycle.Actor, it store.ReviewItem) (string, bool, error) {
	u, err := t.Ops().GetUser(ctx, it.UserID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", false, err
	}
	held := err == nil && live(u)
	switch it.Kind {
	case store.ReviewItemRole:
		// A renamed group is another role now: the reviewed one is gone.
		g, gerr := t.Ops().GetGroup(ctx, it.GroupID)
		switch {
		case errors.Is(gerr, store.ErrNotFound):
			err = lifecycle.ErrGone
		case gerr != nil:
			return "", false, gerr
		case !strings.EqualFold(g.DisplayName, it.Entitlement):
			err = lifecycle.ErrGone
		default:
			err = t.RemoveMember(ctx, a, it.GroupID, it.UserID)
		}
	case store.ReviewItemSite:
		err = t.RemoveSite(ctx, a, it.UserID, it.Entitlement)
	case store.ReviewItemGrant:
		_, err = t.RevokeGrant(ctx, a, it.Entitlement, "access review: revoked")
	default:
		return "", false, fmt.Errorf("review item %s of unknown kind %q", it.ID, it.Kind)
	}
	switch {
	case errors.Is(err, lifecycle.ErrGone):
		return OutcomeGone, false, nil
	case err != nil:
		return "", false, err
	case !held:
		return OutcomeGone, true, nil
	}
	return OutcomeRevoked, true, nil
}
