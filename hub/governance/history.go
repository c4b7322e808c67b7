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
	joinerOf map[string]*joiner // user ID → its joiner, until it is ready or leaves
	leavers  []*leaver
	// Per user: the last summary (userName, state, sites, endDate,
	// department) and the latest mover event.
	last  map[string]summary
	moved map[string]time.Time
	// memberSince is when the user was (last) added to the group.
	memberSince map[[2]string]time.Time
	// kept is when a reviewer last kept the user's role (store.FoldName).
	kept map[[2]string]time.Time
}

func newHistory() *history {
	return &history{joinerOf: map[string]*joiner{}, last: map[string]summary{}, moved: map[string]time.Time{},
		memberSince: map[[2]string]time.Time{}, kept: map[[2]string]time.Time{}}
}

// joiner is one user.create and the first time each condition for
// signing in held.
type joiner struct {
	userID  string
	created time.Time
	start   time.Time // the start date given at creation, if later
	active  time.Time // user active
	site    time.Time // at least one site
	role    time.Time // member of at least one group
	grant   time.Time // a just-in-time grant (a role at a site) started
	cred    time.Time // a credential registered
	left    bool      // deprovisioned before it was ready
}

// from is when provisioning is measured from: the creation, or the start
// date of a pre-day-one joiner.
func (j *joiner) from() time.Time {
	if j.start.After(j.created) {
		return j.start
	}
	return j.created
}

// ready is when the user could first sign in: active, entitled (a site
// and a group role, or a grant) and holding a credential, whichever came
// last; zero while some condition never held.
func (j *joiner) ready() time.Time {
	entitled := time.Time{}
	if !j.site.IsZero() && !j.role.IsZero() {
		entitled = later(j.site, j.role)
	}
	if !j.grant.IsZero() && (entitled.IsZero() || j.grant.Before(entitled)) {
		entitled = j.grant
	}
	if j.active.IsZero() || entitled.IsZero() || j.cred.IsZero() {
		return time.Time{}
	}
	return later(later(j.active, entitled), j.cred)
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

// systemScheduler is the System of the audit records the hub's scheduler
// writes (lifecycle's scheduler actor).
const systemScheduler = "scheduler"

// sync folds the records appended since the last call. The caller holds
// s.histMu.
func (s *Service) sync(ctx context.Context) (*history, error) {
	h := s.hist
	for {
		recs, err := s.cfg.Store.ListAudit(ctx, store.AuditQuery{AfterSeq: h.seq, Limit: auditPage})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			h.fold(r)
			h.seq = r.Seq
		}
		if len(recs) < auditPage {
			return h, nil
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
		j := &joiner{userID: uid, created: r.Time, start: d.After.StartDate}
		if d.After.State == "active" {
			j.active = r.Time
		}
		if len(d.After.Sites) > 0 {
			j.site = r.Time
		}
		h.joiners = append(h.joiners, j)
		h.joinerOf[uid] = j
		h.last[uid] = d.After
	case "user.update":
		var d struct{ Before, After summary }
		if !isUser || json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		if j := h.joinerOf[uid]; j != nil {
			if d.After.State == "active" {
				setFirst(&j.active, r.Time)
			}
			if len(d.After.Sites) > 0 {
				setFirst(&j.site, r.Time)
			}
		}
		if d.Before.live() && d.After.live() && moved(d.Before, d.After) {
			h.moved[uid] = r.Time
		}
		h.last[uid] = d.After
	case "user.activate", "user.reactivate":
		if j := h.joinerOf[uid]; isUser && j != nil {
			setFirst(&j.active, r.Time)
		}
	case "credential.registered":
		if j := h.joinerOf[uid]; isUser && j != nil {
			setFirst(&j.cred, r.Time)
		}
	case "group.create", "group.update":
		gid, ok := strings.CutPrefix(r.Subject, "group:")
		var d struct {
			MembersAdded []string `json:"membersAdded"`
		}
		if !ok || json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		for _, m := range d.MembersAdded {
			h.memberSince[[2]string{gid, m}] = r.Time
			if j := h.joinerOf[m]; j != nil {
				setFirst(&j.role, r.Time)
			}
		}
	case "grant.create":
		var d struct {
			Start time.Time `json:"start"`
		}
		if j := h.joinerOf[uid]; isUser && j != nil && json.Unmarshal(r.Detail, &d) == nil {
			setFirst(&j.grant, later(r.Time, d.Start))
		}
	case "user.deprovision":
		var d struct {
			Reason        string   `json:"reason"`
			SessionsEnded []string `json:"sessionsEnded"`
		}
		if !isUser || json.Unmarshal(r.Detail, &d) != nil {
			return
		}
		l := &leaver{userID: uid, at: r.Time, event: r.Time, sessions: d.SessionsEnded}
		// An end date the scheduler acted on is a leaver event at that
		// date: the scheduler's delay counts. One the identity provider
		// sent already passed was acted on at its request: HR's lag
		// before it is not the hub's.
		if end := h.last[uid].EndDate; d.Reason == "end date reached" && r.System == systemScheduler && !end.IsZero() && end.Before(r.Time) {
			l.event = end
		}
		h.leavers = append(h.leavers, l)
		if j := h.joinerOf[uid]; j != nil && j.ready().IsZero() {
			j.left = true
		}
		delete(h.joinerOf, uid)
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
		if j := h.joinerOf[uid]; j != nil && j.ready().IsZero() {
			j.left = true
		}
		delete(h.joinerOf, uid)
		if s, ok := h.last[uid]; ok {
			s.State = "deleted"
			h.last[uid] = s
		}
	case actionReviewDecide:
		var d struct {
			Kind, Entitlement, Decision string
		}
		if isUser && json.Unmarshal(r.Detail, &d) == nil && d.Kind == store.ReviewItemRole && d.Decision == DecisionKeep {
			h.kept[[2]string{uid, store.FoldName(d.Entitlement)}] = r.Time
		}
	}
}

// moved reports whether an update is a mover event: a site removed, or
// the department changed from one value to another.
func moved(before, after summary) bool {
	for _, s := range before.Sites {
		if !containsFold(after.Sites, s) {
			return true
		}
	}
	return before.Department != "" && !strings.EqualFold(before.Department, after.Department)
}
