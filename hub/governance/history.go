package governance

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// history is what the audit log says about joiners, leavers, movers and
// memberships, folded record by record. It only grows, so a Service keeps
// one and reads just the records appended since the last call.
type history struct {
	seq      int64
	joiners  []*joiner
	joinerOf map[string]*joiner // user ID → its joiner, until it leaves
	leavers  []*leaver
	// Per user: the last summary (userName, state, sites, endDate,
	// department) and the latest mover event.
	last  map[string]summary
	moved map[string]time.Time
	// dept is the department each user last held, and when it was
	// cleared if it was (see mover).
	dept map[string]deptHeld
	// memberSince is when the user was (last) added to the group.
	memberSince map[[2]string]time.Time
	// groupsOf is the groups each user is a member of now (a re-hire's
	// role may have been given back while it was disabled).
	groupsOf map[string]map[string]bool
	// kept is when a reviewer last kept the user's role (store.FoldName).
	kept map[[2]string]time.Time
	// endHeld is the end date a user had before the update that
	// disabled it, until the user.deprovision that follows reads it.
	endHeld map[string]time.Time
	// disabled is when each kiosk was disabled (device.disable records,
	// in log order): see leaverDone.
	disabled map[string][]time.Time
	// campaignSeq is the sequence number of the last audit record about
	// each review campaign (review.start, review.decide, review.comment,
	// review.escalate): every change to a campaign's items is recorded
	// in the transaction that makes it, so an unchanged number means
	// unchanged items (see reviewCompletion).
	campaignSeq map[string]int64
}

func newHistory() *history {
	return &history{joinerOf: map[string]*joiner{}, last: map[string]summary{}, moved: map[string]time.Time{},
		dept: map[string]deptHeld{}, memberSince: map[[2]string]time.Time{}, groupsOf: map[string]map[string]bool{},
		kept: map[[2]string]time.Time{}, endHeld: map[string]time.Time{}, disabled: map[string][]time.Time{},
		campaignSeq: map[string]int64{}}
}

// deptHeld is the department a user last held, and when it was cleared
// (zero while the user holds it).
type deptHeld struct {
	name    string
	cleared time.Time
}

// joiner is one request for access — a user.create of a live user, or the
// activation of one created inactive, or the re-activation of a
// deprovisioned user (a re-hire) — and the first time each condition for
// signing in held.
type joiner struct {
	userID string
	// requested is when access was asked for: the creation of an
	// active or pending user, or the (re-)activation of a disabled one.
	// Zero while an account created inactive was never activated: an
	// account staged ahead of time is nobody waiting yet.
	requested time.Time
	start     time.Time        // the start date, as last given before the user was ready (givenStart)
	active    time.Time        // user active
	site      time.Time        // at least one site
	role      time.Time        // member of at least one group
	grants    map[string]*span // just-in-time grants by ID: when each gives access
	cred      time.Time        // a credential registered
	left      bool             // deprovisioned before it was ready
}

// span is when a just-in-time grant gives access: from its start (or its
// creation, when later) until its end or revocation.
type span struct{ start, end time.Time }

// from is when provisioning is measured from: the request, or the start
// date of a pre-day-one joiner; zero while nothing was requested.
func (j *joiner) from() time.Time {
	if j.requested.IsZero() {
		return time.Time{}
	}
	return later(j.requested, j.start)
}

// ready is the first moment the user could sign in: active, holding a
// credential and entitled — a site and a group role, or a running grant —
// all at once, each condition but a grant taken from the first time it
// held; zero while that never happens. It may lie in the future (a grant
// that starts later): readyBy tells whether it came.
func (j *joiner) ready() time.Time {
	if j.active.IsZero() || j.cred.IsZero() {
		return time.Time{}
	}
	base := later(j.active, j.cred)
	var first time.Time
	if !j.site.IsZero() && !j.role.IsZero() {
		first = later(base, later(j.site, j.role))
	}
	for _, g := range j.grants {
		if t := later(base, g.start); t.Before(g.end) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first
}

// givenStart is the start date j is measured from after an update at
// `at` gives start. A start date given when it has already passed was
// acted on at that request, as an end date sent already passed is: the
// hub could not let the joiner in on a day it was not told of. So one
// brought forward into the past before the clock started (or before
// anything was requested) counts from the request, and one corrected to
// an earlier date while the clock runs leaves it running from the start
// date held before.
func givenStart(j *joiner, start, at time.Time) time.Time {
	if start.After(at) || start.Equal(j.start) {
		return start
	}
	if from := j.from(); !from.IsZero() && !from.After(at) {
		return j.start
	}
	return at
}

// readyBy returns ready if it came by t, else zero.
func (j *joiner) readyBy(t time.Time) time.Time {
	if r := j.ready(); !r.After(t) {
		return r
	}
	return time.Time{}
}

// leaver is one user.deprovision.
type leaver struct {
	userID   string
	at       time.Time // the deprovisioning
	event    time.Time // the leaver event: at, or the end date that caused it
	sessions []string  // live sessions it ended
	done     time.Time // last kiosk acknowledgement (or at); zero while pending
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func setFirst(t *time.Time, at time.Time) {
	if t.IsZero() {
		*t = at
	}
}

// summary is lifecycle's audit view of a user, as far as governance reads it.
type summary struct {
	UserName   string    `json:"userName"`
	State      string    `json:"state"`
	Sites      []string  `json:"sites"`
	StartDate  time.Time `json:"startDate"`
	EndDate    time.Time `json:"endDate"`
	Department string    `json:"department"`
}

func (s summary) live() bool { return s.State == "active" || s.State == "pending" }

// auditPage is how many records one catch-up read takes at a time.
const auditPage = 1000

// sync folds the records appended since the last call. The caller holds
// s.histMu.
func (s *Service) sync(ctx context.Context) (*history, error) {
	if err := s.hist.catchUp(ctx, s.cfg.Store); err != nil {
		return nil, err
	}
	return s.hist, nil
}

// catchUp folds the records that ops reads after h.seq.
func (h *history) catchUp(ctx context.Context, ops store.AuditOps) error {
	for {
		recs, err := ops.ListAudit(ctx, store.AuditQuery{AfterSeq: h.seq, Limit: auditPage})
		if err != nil {
			return err
		}
		for _, r := range recs {
			h.fold(r)
			h.seq = r.Seq
		}
		if len(recs) < auditPage {
			return nil
		}
	}
}

// fold applies one audit record. Records it cannot read are skipped:
// the log is what it is, and a report must not fail on an old record.
func (h *history) fold(r store.AuditRecord) {
	uid, isUser := strings.CutPrefix(r.Subject, "user:")
	switch r.Action {
	case "user.create":
		var d struct{ After summary }
		if !isUser || json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		j := &joiner{userID: uid, start: d.After.StartDate}
		if d.After.live() {
			j.requested = r.Time
		}
		if d.After.State == "active" {
			j.active = r.Time
		}
		if len(d.After.Sites) > 0 {
			j.site = r.Time
		}
		h.joiners = append(h.joiners, j)
		h.joinerOf[uid] = j
		h.last[uid] = d.After
		h.noteDepartment(uid, summary{}, d.After, r.Time)
	case "user.update":
		var d struct{ Before, After summary }
		if !isUser || json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		if j := h.joinerOf[uid]; j != nil {
			if j.readyBy(r.Time).IsZero() {
				// HR may move the start date before day one. Moved
				// ahead, it makes an active joiner pending: it can sign
				// in only once the scheduler activates it again
				// (user.activate), not since it was first active.
				j.start = givenStart(j, d.After.StartDate, r.Time)
				if d.After.State != "active" {
					j.active = time.Time{}
				}
			}
			if d.After.State == "active" {
				setFirst(&j.active, r.Time)
			}
			if len(d.After.Sites) > 0 {
				setFirst(&j.site, r.Time)
			}
		}
		if d.Before.live() && d.After.live() {
			if at := h.mover(uid, d.Before, d.After, r.Time); !at.IsZero() {
				h.moved[uid] = later(h.moved[uid], at)
			}
		}
		h.noteDepartment(uid, d.Before, d.After, r.Time)
		if d.Before.live() && !d.After.live() {
			// Its user.deprovision follows: the end date held before.
			h.endHeld[uid] = d.Before.EndDate
		}
		h.last[uid] = d.After
	case "user.activate":
		if j := h.joinerOf[uid]; isUser && j != nil {
			setFirst(&j.active, r.Time)
		}
	case "user.reactivate":
		// A disabled user made active or pending: one created inactive
		// is asked for now; one deprovisioned before is a re-hire, a
		// joiner again, with the sites and roles it kept (or was given
		// back, by a hub that removed them) while it was disabled; its
		// badges and grants were revoked.
		var d struct {
			State string `json:"state"`
		}
		if !isUser || json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		j := h.joinerOf[uid]
		if j == nil {
			last := h.last[uid]
			j = &joiner{userID: uid, start: last.StartDate}
			if len(last.Sites) > 0 {
				j.site = r.Time
			}
			if len(h.groupsOf[uid]) > 0 {
				j.role = r.Time
			}
			h.joiners = append(h.joiners, j)
			h.joinerOf[uid] = j
		}
		setFirst(&j.requested, r.Time)
		if d.State == "active" { // pending: active at its start date (user.activate)
			setFirst(&j.active, r.Time)
		}
	case "credential.registered":
		if j := h.joinerOf[uid]; isUser && j != nil {
			setFirst(&j.cred, r.Time)
		}
	case "group.create", "group.update", "group.delete":
		gid, ok := strings.CutPrefix(r.Subject, "group:")
		var d struct {
			MembersAdded   []string `json:"membersAdded"`
			MembersRemoved []string `json:"membersRemoved"`
			// The name (group.create, group.delete), or its before and
			// after on a rename (group.update).
			DisplayName json.RawMessage `json:"displayName"`
			// The members who stay, on a rename: written (possibly
			// empty) by hubs whose membersRemoved lists only the members
			// who left. Earlier hubs wrote none, and listed every member
			// as removed from the old role although they stay members,
			// with those who left among them: nobody is taken out of the
			// group by such a record.
			MembersKept []string `json:"membersKept"`
		}
		if !ok || json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		var rename struct{ Before, After string }
		renamed := r.Action == "group.update" && json.Unmarshal(d.DisplayName, &rename) == nil && !strings.EqualFold(rename.Before, rename.After)
		if !renamed || d.MembersKept != nil {
			for _, m := range d.MembersRemoved {
				delete(h.groupsOf[m], gid)
			}
		}
		if r.Action == "group.delete" {
			return
		}
		for _, m := range d.MembersAdded {
			h.memberSince[[2]string{gid, m}] = r.Time
			if h.groupsOf[m] == nil {
				h.groupsOf[m] = map[string]bool{}
			}
			h.groupsOf[m][gid] = true
			if j := h.joinerOf[m]; j != nil {
				setFirst(&j.role, r.Time)
			}
		}
	case "grant.create":
		var d struct {
			Grant      string `json:"grant"`
			Start, End time.Time
		}
		if j := h.joinerOf[uid]; isUser && j != nil && j.readyBy(r.Time).IsZero() && json.Unmarshal(r.Detail, &d) == nil {
			if j.grants == nil {
				j.grants = map[string]*span{}
			}
			j.grants[d.Grant] = &span{start: later(r.Time, d.Start), end: d.End}
		}
	case "grant.revoke":
		var d struct {
			Grant string `json:"grant"`
		}
		if j := h.joinerOf[uid]; isUser && j != nil && j.readyBy(r.Time).IsZero() && json.Unmarshal(r.Detail, &d) == nil {
			if g := j.grants[d.Grant]; g != nil && r.Time.Before(g.end) {
				g.end = r.Time
			}
		}
	case "user.deprovision":
		var d struct {
			SessionsEnded []string `json:"sessionsEnded"`
			// Written (possibly empty) by earlier hubs, which removed a
			// leaver from every group; a leaver now keeps its
			// memberships (rolesKept) for a re-hire.
			RolesRemoved []string `json:"rolesRemoved"`
		}
		if !isUser || json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		l := &leaver{userID: uid, at: r.Time, event: r.Time, sessions: d.SessionsEnded}
		// An end date the hub held before the change that deprovisioned
		// (the scheduler's pass, or a request or remediation that came
		// before it) is the leaver event: the hub's delay after it
		// counts, whoever acted. One the identity provider sent already
		// passed was acted on at its request: HR's lag before it is not
		// the hub's.
		end, ok := h.endHeld[uid]
		if ok {
			delete(h.endHeld, uid)
		} else {
			end = h.last[uid].EndDate // no user.update in this change
		}
		if !end.IsZero() && end.Before(r.Time) {
			l.event = end
		}
		h.leavers = append(h.leavers, l)
		if j := h.joinerOf[uid]; j != nil && j.readyBy(r.Time).IsZero() {
			j.left = true
		}
		delete(h.joinerOf, uid)
		if d.RolesRemoved != nil {
			delete(h.groupsOf, uid) // memberships removed
		}
		if s, ok := h.last[uid]; ok {
			s.State = "disabled"
			h.last[uid] = s
		}
	case "user.delete":
		// A user deleted while disabled was stripped before and gets no
		// user.deprovision: a joiner that never could sign in (created
		// inactive, or past its end date) leaves here.
		if !isUser {
			return
		}
		if j := h.joinerOf[uid]; j != nil && j.readyBy(r.Time).IsZero() {
			j.left = true
		}
		delete(h.joinerOf, uid)
		delete(h.groupsOf, uid)
		delete(h.dept, uid)
		if s, ok := h.last[uid]; ok {
			s.State = "deleted"
			h.last[uid] = s
		}
	case actionReviewStart:
		if id, ok := strings.CutPrefix(r.Subject, "review:"); ok {
			h.campaignSeq[id] = r.Seq
		}
	case actionReviewDecide, actionReviewComment, actionReviewEscalate:
		var d struct {
			Campaign, Kind, Entitlement, Decision string
		}
		if json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		if d.Campaign != "" {
			h.campaignSeq[d.Campaign] = r.Seq
		}
		if r.Action == actionReviewDecide && isUser && d.Kind == store.ReviewItemRole && d.Decision == DecisionKeep {
			h.kept[[2]string{uid, store.FoldName(d.Entitlement)}] = r.Time
		}
	case "device.disable":
		if id, ok := strings.CutPrefix(r.Subject, "device:"); ok {
			h.disabled[id] = append(h.disabled[id], r.Time)
		}
	}
}

// mover returns when an update at `at` of a user live before and after it
// is a mover event, or zero when it is none. A mover event is
//
//   - a site removed: at;
//   - the department changed from one value to another (compared
//     case-insensitively, as sent: lifecycle trims it): at. A department
//     cleared (X → "": an HR data gap, or an identity provider that stopped
//     sending the attribute) is no move, and neither is one filled in
//     where none was held ("" → X); but a department given after a gap
//     that differs from the one held before it (X → "" → Y) is a move,
//     dated when X was cleared: the gap must not hide a transfer, and the
//     roles given during the gap came with the new department.
//
// The department held is what noteDepartment recorded, up to this update.
func (h *history) mover(uid string, before, after summary, at time.Time) time.Time {
	for _, s := range before.Sites {
		if !containsFold(after.Sites, s) {
			return at
		}
	}
	held := h.dept[uid]
	if before.Department != "" {
		held = deptHeld{name: before.Department}
	}
	if held.name == "" || after.Department == "" || strings.EqualFold(held.name, after.Department) {
		return time.Time{}
	}
	if !held.cleared.IsZero() {
		return held.cleared
	}
	return at
}

// noteDepartment records, for mover, the department a user holds after
// an update at `at` from before to after (a creation has a zero before): a
// new value replaces the one held; a value cleared while the user stays
// live is still held, marked cleared at the first update that cleared it.
// A user disabled, or made live again (a re-hire, which is a joiner, not a
// mover), without a department holds none.
func (h *history) noteDepartment(uid string, before, after summary, at time.Time) {
	held := h.dept[uid]
	if before.Department != "" {
		held = deptHeld{name: before.Department}
	}
	switch {
	case after.Department != "":
		h.dept[uid] = deptHeld{name: after.Department}
	case before.live() && after.live() && held.name != "":
		if held.cleared.IsZero() {
			held.cleared = at
			h.dept[uid] = held
		}
	default:
		delete(h.dept, uid)
	}
}
