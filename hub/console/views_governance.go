package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// This file is the console's face of access governance (hub/governance):
// the Reviews and Findings pages of admins (and, read-only, auditors) and
// the reviewers' My reviews. The console decides nothing itself:
// campaigns, decisions and remediations go through the governance service,
// which applies them through the lifecycle engine in one transaction with
// their audit records (actor "console:<name>", system "console") and
// pushes the revocations they cause to the kiosks.

// maxItemRows caps the review items one page lists.
const maxItemRows = 1000

var errNoGovernance = &statusError{http.StatusNotFound, "access governance is not available on this hub"}

func (c *Console) gov() (Governance, error) {
	if c.cfg.Governance == nil {
		return nil, errNoGovernance
	}
	return c.cfg.Governance, nil
}

// reviewRow is one review item as the pages show it.
type reviewRow struct {
	ID, CampaignID, Campaign         string
	Due                              time.Time
	User, Kind, Entitlement, Detail  string
	Reviewer, ReviewerKind, Decision string
	Comment, Outcome, DecidedBy      string
	EscalatedFrom                    string
	Decided, Escalated               time.Time
	Pending                          bool
}

func rowOfView(it governance.ItemView, campaign string, due time.Time) reviewRow {
	r := reviewRow{ID: it.ID, CampaignID: it.Campaign, Campaign: campaign, Due: due, User: it.User, Kind: it.Kind,
		Entitlement: it.Entitlement, Detail: it.Detail, Reviewer: it.Reviewer, ReviewerKind: it.ReviewerKind,
		Decision: it.Decision, Comment: it.Comment, Outcome: it.Outcome, DecidedBy: it.DecidedBy, EscalatedFrom: it.EscalatedFrom,
		Pending: it.Decision == store.ReviewPending.String()}
	if it.Decided != nil {
		r.Decided = *it.Decided
	}
	if it.Escalated != nil {
		r.Escalated = *it.Escalated
	}
	return r
}

type reviewsData struct {
	Overview                  governance.Overview
	Overdue, Escalated, Items int
	Pending                   int
	Sites, Roles              []string
	DueDefault                string // the due date the form suggests
	// CampaignKey is the campaign form's key (campaignFormKey), new on
	// every load of the page: the form sent twice starts one campaign.
	CampaignKey string
}

// reviewsPage lists the campaigns with their completion, the reviewers'
// progress across all of them, and the forms to start campaigns.
func (c *Console) reviewsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	ctx := r.Context()
	d := reviewsData{DueDefault: c.cfg.Now().UTC().Add(14 * 24 * time.Hour).Format(time.DateOnly)}
	if d.Overview, err = g.Campaigns(ctx); err != nil {
		return err
	}
	slices.Reverse(d.Overview.Campaigns) // newest first
	for _, cv := range d.Overview.Campaigns {
		if cv.Overdue {
			d.Overdue++
		}
		d.Escalated += cv.Progress.Escalated
		d.Items += cv.Progress.Total
		d.Pending += cv.Progress.Pending
	}
	if v.admin() { // the form to start a campaign; an auditor gets none
		// The grant form's kind of key (newGrantFormKey): 128 random bits.
		if d.CampaignKey, err = newGrantFormKey(); err != nil {
			return err
		}
		if d.Sites, err = c.visibleSites(ctx, v); err != nil {
			return err
		}
		if d.Roles, err = c.grantableRoles(ctx, v); err != nil { // every role, for an admin
			return err
		}
	}
	c.render(w, r, http.StatusOK, "reviews", v, &page{Title: "Access reviews", Nav: "reviews", Data: d})
	return nil
}

// reviewStart starts a campaign from the form: name, due date, and the
// scope (sites, roles, privileged, external).
func (c *Console) reviewStart(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	f, err := fields(r, "name", "due", "privileged", "external", "once")
	if err != nil {
		return err
	}
	key, err := campaignFormKey(v, f[4])
	if err != nil {
		return err
	}
	req := governance.CampaignRequest{Name: f[0], Scope: store.ReviewScope{Privileged: f[2] != "", External: f[3] != ""}}
	if req.Due, err = governance.ParseDue(f[1]); err != nil {
		return err
	}
	if req.Scope.Sites, err = formList(r, "sites"); err != nil {
		return err
	}
	if req.Scope.Roles, err = formList(r, "roles"); err != nil {
		return err
	}
	if key == nil {
		cv, err := g.StartCampaign(r.Context(), v.actor(), req)
		if err != nil {
			return err
		}
		return done(w, r, "/console/reviews/"+cv.ID, "campaign-started")
	}
	cv, replayed, err := g.StartCampaignOnce(r.Context(), v.actor(), req, *key)
	if errors.Is(err, governance.ErrCampaignKeyReused) {
		return errCampaignFormReused
	}
	if err != nil {
		return err
	}
	if replayed {
		return done(w, r, "/console/reviews/"+cv.ID, "campaign-repeated")
	}
	return done(w, r, "/console/reviews/"+cv.ID, "campaign-started")
}

// campaignFormKey reads the optional key of a campaign form (the page's
// "once" field, reviewsData.CampaignKey) as the key of the campaign it
// starts (governance.StartCampaignOnce): the same form sent again by the
// same account (a double click, the form sent again when its answer did
// not arrive, two requests racing) gets the campaign the first started
// instead of a second one, which would list every reviewer's items
// twice. Without the field (a script, an older page) every request
// starts a campaign of its own.
func campaignFormKey(v *viewer, key string) (*governance.CampaignKey, error) {
	if key == "" {
		return nil, nil
	}
	if err := checkFormKey(key); err != nil {
		return nil, err
	}
	return &governance.CampaignKey{Caller: v.actor().Name, Key: key}, nil
}

// errCampaignFormReused refuses a campaign form whose key started a
// campaign already with other values: a page sent again after it was
// changed (one restored by the browser's Back button, say). A new page
// has a new key.
var errCampaignFormReused = &statusError{http.StatusConflict,
	"this campaign form was sent before with other values, and started that campaign: reload the page to start another campaign"}

// formList reads a repeated form field (checkboxes), leaving out empty
// values; governance checks names and counts.
func formList(r *http.Request, key string) ([]string, error) {
	vals := r.PostForm[key]
	if len(vals) > 200 {
		return nil, badRequest("too many values for " + key)
	}
	var out []string
	for _, s := range vals {
		s = strings.TrimSpace(s)
		if len(s) > maxField {
			return nil, badRequest("a value of " + key + " is too long")
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// reviewRunDue starts the default campaigns of the current period that
// have not started yet and escalates overdue items, as the scheduler does.
// A run that fails after it did something is answered by runStopped.
func (c *Console) reviewRunDue(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	out, err := g.RunDueAs(r.Context(), v.actor())
	if err != nil {
		if len(out.Campaigns) == 0 && out.Escalated == 0 && out.Reassigned == 0 {
			return err
		}
		c.runStopped(w, r, err, out)
		return nil
	}
	return done(w, r, "/console/reviews", "reviews-run")
}

// runStopped answers a run of the due reviews that failed part way, as
// POST /api/v1/reviews/run does: with the error's status, and what the
// run did before it failed, which stays done (each campaign it started
// and each batch of items it handed on committed on its own), and that
// the rest needs running again. The error alone hid that items had moved
// to new reviewers, and an outage's error even said that nothing was
// changed, so the outage is named by what happened instead.
func (c *Console) runStopped(w http.ResponseWriter, r *http.Request, err error, out governance.Started) {
	code, cause := status(err)
	if code >= 500 {
		c.logFailure(w, r, code, err)
		if _, what, _, ok := store.Outage(err); ok {
			cause = what
		}
	} else {
		c.cfg.Logger.Debug("console request refused", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	}
	msg := fmt.Sprintf("The run stopped part way (%s). Before it stopped it started %s, escalated %s and handed on %s of reviewers who left: "+
		"that stays done. Run it again for the rest.", cause, count(len(out.Campaigns), "default campaign", "default campaigns"),
		count(out.Escalated, "overdue item", "overdue items"), count(out.Reassigned, "item", "items"))
	if wantsJSON(r) {
		writeJSON(w, code, struct {
			Error string `json:"error"`
			governance.Started
		}{msg, out})
		return
	}
	c.render(w, r, code, "error", nil, &page{Title: http.StatusText(code), Data: msg})
}

// campaignItemsPerPage is how many of a campaign's items its page lists;
// the page links to the next and previous ones. A campaign over a large
// site has tens of thousands of items: the page read them all, every
// time, to list its first thousand.
const campaignItemsPerPage = 100

type campaignData struct {
	Campaign governance.CampaignView
	Items    []reviewRow
	// Decision is the filter (governance.ItemPage.Decision): "" every
	// item, pending ones first.
	Decision string
	Filters  []itemFilter
	// First and Last number the items listed (1-based) of the Total the
	// filter selects.
	First, Last, Total int
	// Prev and Next are the URLs of the neighbouring pages, "" for none:
	// whole URLs, as auditData.Older is.
	Prev, Next string
	// Here is the URL of this page, where a decision made on it comes
	// back to.
	Here string
}

// itemFilter is one choice of the campaign page's decision filter.
type itemFilter struct {
	Value, Label string
	Selected     bool
}

var itemFilters = []itemFilter{
	{Value: "", Label: "every item, pending first"},
	{Value: governance.FilterPending, Label: "pending"},
	{Value: governance.FilterDecided, Label: "decided"},
	{Value: governance.DecisionKeep, Label: "kept"},
	{Value: governance.DecisionRevoke, Label: "revoked"},
}

// campaignPage shows one campaign: progress per reviewer and a page of
// its items (?startIndex=N&decision=pending|decided|keep|revoke, as GET
// /api/v1/reviews/{id} takes them), with the decision buttons for admins.
// Only the page's items are read (governance.Service.CampaignItems).
func (c *Console) campaignPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p, err := governance.ParseItemPage(q.Get("startIndex"), "", q.Get("decision"))
	if err != nil {
		return err
	}
	p.Count = campaignItemsPerPage
	cp, err := campaignItems(r.Context(), g, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	d := campaignData{Campaign: cp.CampaignView, Decision: p.Decision, Total: cp.TotalResults,
		First: p.StartIndex, Last: p.StartIndex + len(cp.Items) - 1, Here: campaignURL(cp.ID, p.Decision, p.StartIndex)}
	for _, f := range itemFilters {
		f.Selected = f.Value == p.Decision
		d.Filters = append(d.Filters, f)
	}
	for _, it := range cp.Items {
		d.Items = append(d.Items, rowOfView(it, cp.Name, cp.Due))
	}
	if p.StartIndex > 1 {
		d.Prev = campaignURL(cp.ID, p.Decision, max(p.StartIndex-campaignItemsPerPage, 1))
	}
	if d.Last < d.Total {
		d.Next = campaignURL(cp.ID, p.Decision, d.Last+1)
	}
	c.render(w, r, http.StatusOK, "campaign", v, &page{Title: "Review: " + cp.Name, Nav: "reviews", Data: d})
	return nil
}

// campaignItems reads the page p of a campaign's items: those p's filter
// selects, in the campaign's order; with no filter, the pending items
// first and then the decided ones, each in the campaign's order (what an
// admin works through comes first), read from one snapshot
// (governance.ItemPage.PendingFirst).
func campaignItems(ctx context.Context, g Governance, id string, p governance.ItemPage) (governance.CampaignPage, error) {
	p.PendingFirst = p.Decision == ""
	return g.CampaignItems(ctx, id, p)
}

// campaignURL is the URL of the page of campaign id's items from start
// on, with the filter decision.
func campaignURL(id, decision string, start int) string {
	q := url.Values{}
	if decision != "" {
		q.Set("decision", decision)
	}
	if start > 1 {
		q.Set("startIndex", strconv.Itoa(start))
	}
	u := "/console/reviews/" + url.PathEscape(id)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// campaignBack is where a decision on an item of campaign id made on the
// page at from (campaignData.Here) comes back to: that page, its filter
// and start kept, and nothing else of from; the campaign's first page if
// from is not a page of that campaign.
func campaignBack(id, from string) string {
	u, err := url.Parse(from)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path != "/console/reviews/"+id {
		return campaignURL(id, "", 1)
	}
	q := u.Query()
	p, err := governance.ParseItemPage(q.Get("startIndex"), "", q.Get("decision"))
	if err != nil {
		return campaignURL(id, "", 1)
	}
	return campaignURL(id, p.Decision, p.StartIndex)
}

type myReviewsData struct {
	Items     []reviewRow
	Truncated int
	// More says that Truncated counts only the items among the
	// maxWorklistRead or so read: there may be more.
	More  bool
	Sites []string
}

// worklistPage is how many pending items My reviews reads at a time, and
// maxWorklistRead how many it reads at most once the page's rows are
// full: past them, it reads on only to count those not shown.
const (
	worklistPage    = 500
	maxWorklistRead = 20 * worklistPage
)

// myReviewsPage lists the pending items the viewer may decide: for a
// supervisor those the rule in authz.go allows, for an admin those
// assigned to the admins (originally or by escalation) except those about
// the admin's own access. It reads only the viewer's worklist, a page at
// a time (the pending items of the viewer's reviewer kind, and for a
// supervisor those at its sites), never every pending item of the hub.
func (c *Console) myReviewsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if _, err := c.gov(); err != nil {
		return err
	}
	ctx := r.Context()
	d := myReviewsData{}
	q := store.ReviewItemQuery{PendingOnly: true, ReviewerKind: governance.ReviewerAdmins, Limit: worklistPage}
	if !v.admin() {
		d.Sites = v.account.Sites
		q.ReviewerKind, q.Sites = governance.ReviewerSupervisor, v.account.Sites
	}
	scope := c.newReviewScope(v)
	users := userNames{c: c}
	campaigns := map[string]store.Campaign{}
	selves, err := selfUserIDs(ctx, c.st, v.account)
	if err != nil {
		return err
	}
	// An auditor, and a supervisor of no site, have no items: Sites
	// empty would select every site's.
	done := !v.admin() && (v.account.Role != store.ConsoleSupervisor || len(q.Sites) == 0)
	for read := 0; !done; {
		// The cap bounds only the counting past the rows: the query
		// reads a worker of several sites for a supervisor of one of
		// them, whom the rule leaves out, and a cap on the rows too
		// would hide a supervisor's items behind such workers' and say
		// there are none.
		if read >= maxWorklistRead && len(d.Items) == maxItemRows {
			d.More = true
			break
		}
		items, err := c.st.ListReviewItems(ctx, q)
		if err != nil {
			return err
		}
		read += len(items)
		if done = len(items) < q.Limit; !done {
			last := items[len(items)-1]
			q.AfterCreated, q.AfterID = last.Created, last.ID
		}
		for _, it := range items {
			if v.admin() {
				if it.ReviewerKind != governance.ReviewerAdmins || slices.Contains(selves, it.UserID) {
					continue // another admin decides the admin's own access
				}
			} else if ok, err := scope.allows(ctx, it); err != nil {
				return err
			} else if !ok {
				continue
			}
			if len(d.Items) == maxItemRows {
				d.Truncated++
				continue
			}
			cp, ok := campaigns[it.CampaignID]
			if !ok {
				if cp, err = c.st.GetCampaign(ctx, it.CampaignID); err != nil {
					return err
				}
				campaigns[it.CampaignID] = cp
			}
			d.Items = append(d.Items, c.rowOfItem(ctx, &users, it, cp))
		}
	}
	c.render(w, r, http.StatusOK, "myreviews", v, &page{Title: "My reviews", Nav: "myreviews", Data: d})
	return nil
}

func (c *Console) rowOfItem(ctx context.Context, users *userNames, it store.ReviewItem, cp store.Campaign) reviewRow {
	reviewer := "admins"
	if it.ReviewerID != "" {
		reviewer = users.name(ctx, it.ReviewerID)
	}
	r := reviewRow{ID: it.ID, CampaignID: cp.ID, Campaign: cp.Name, Due: cp.Due, User: users.name(ctx, it.UserID), Kind: it.Kind,
		Entitlement: it.Entitlement, Detail: it.Detail, Reviewer: reviewer, ReviewerKind: it.ReviewerKind, Decision: it.Decision.String(),
		Comment: it.Comment, Outcome: it.Outcome, DecidedBy: it.DecidedBy, Decided: it.Decided, Escalated: it.Escalated,
		Pending: it.Decision == store.ReviewPending}
	if !it.Escalated.IsZero() {
		r.EscalatedFrom = "admins"
		if it.EscalatedFrom != "" {
			r.EscalatedFrom = users.name(ctx, it.EscalatedFrom)
		}
	}
	return r
}

// reviewDecide records keep, revoke or comment on one item, through
// governance: a revoke removes the entitlement and ends the sessions that
// depended on it, pushed to their kiosks. The item is reached through
// authz.go, so a supervisor naming another site's item gets 403; the rule
// is decided again inside the decision's transaction (decider), where a
// worker moved off the supervisor's sites since is refused too.
func (c *Console) reviewDecide(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	f, err := fields(r, "decision", "comment", "back")
	if err != nil {
		return err
	}
	it, err := c.scopedReviewItem(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	out, err := g.Decide(r.Context(), c.decider(v), it.ID, f[0], f[1])
	if err != nil {
		return err
	}
	ok := "review-commented"
	switch {
	case out.Decision == store.ReviewKeep.String():
		ok = "review-kept"
	case out.Decision == store.ReviewRevoke.String() && out.Outcome == governance.OutcomeGone:
		ok = "review-gone"
	case out.Decision == store.ReviewRevoke.String():
		ok = "review-revoked"
	}
	back := "/console/my-reviews"
	if v.admin() && f[2] != back {
		back = campaignBack(it.CampaignID, f[2])
	}
	return done(w, r, back, ok)
}

type findingsData struct {
	Findings    []governance.Finding
	DormantDays string
	Generated   time.Time
}

// findingsOptions reads dormant_days from the query or the form.
func findingsOptions(s string) (governance.FindingsOptions, string, error) {
	s = strings.TrimSpace(s)
	d, err := governance.ParseDormantDays(s)
	if err != nil {
		return governance.FindingsOptions{}, "", err
	}
	return governance.FindingsOptions{DormantAfter: d}, s, nil
}

// findingsPage lists the risk findings, each with its Remediate button
// for admins.
func (c *Console) findingsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	opt, days, err := findingsOptions(r.URL.Query().Get("dormant_days"))
	if err != nil {
		return err
	}
	d := findingsData{DormantDays: days, Generated: c.cfg.Now().UTC()}
	if d.Findings, err = g.Findings(r.Context(), opt); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "findings", v, &page{Title: "Risk findings", Nav: "findings", Data: d})
	return nil
}

// findingsExport downloads the findings as CSV or JSON, in the formats of
// `shiftgate-hub findings` and GET /api/v1/findings.
func (c *Console) findingsExport(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	opt, _, err := findingsOptions(q.Get("dormant_days"))
	if err != nil {
		return err
	}
	format := q.Get("format")
	if format != "csv" && format != "json" {
		return badRequest("the format is csv or json")
	}
	fs, err := g.Findings(r.Context(), opt)
	if err != nil {
		return err
	}
	// Recorded as the review evidence is: who took the list of risky
	// accounts, and which file, made how: a dormant_days other than the
	// hub's default gives another list, and whoever checks a copy against
	// the trail must be able to make it again.
	detail := map[string]any{"findings": len(fs)}
	if opt.DormantAfter > 0 {
		detail["dormantDays"] = int(opt.DormantAfter / (24 * time.Hour))
	}
	return c.serveRecorded(w, r, v, format, "shiftgate-findings."+format,
		map[string]any{"generated_at": c.cfg.Now().UTC(), "findings": fs},
		func(b *bytes.Buffer) error { return governance.WriteFindingsCSV(b, fs) },
		"findings.export", "findings", detail)
}

// serveRecorded serves a download for the evidence: asJSON as indented
// JSON, or what writeCSV writes, as the attachment name. The download is
// recorded first (action on subject, detail with the format and the
// SHA-256 of the file served added), and the file carries that digest in
// Repr-Digest, so a copy can be checked against the audit trail.
func (c *Console) serveRecorded(w http.ResponseWriter, r *http.Request, v *viewer, format, name string,
	asJSON any, writeCSV func(*bytes.Buffer) error, action, subject string, detail map[string]any) error {
	var body bytes.Buffer
	var err error
	if format == "json" {
		enc := json.NewEncoder(&body)
		enc.SetIndent("", "  ")
		err = enc.Encode(asJSON)
	} else {
		err = writeCSV(&body)
	}
	if err != nil {
		return err
	}
	return c.serveBody(w, r, v, format, name, &body, action, subject, detail)
}

// serveBody serves body, a download made as serveRecorded makes one
// (format json or csv), recorded and with its digest as serveRecorded
// says.
func (c *Console) serveBody(w http.ResponseWriter, r *http.Request, v *viewer, format, name string,
	body *bytes.Buffer, action, subject string, detail map[string]any) error {
	ctype := "text/csv; charset=utf-8"
	if format == "json" {
		ctype = "application/json"
	}
	sum := sha256.Sum256(body.Bytes())
	detail["format"], detail["sha256"] = format, hex.EncodeToString(sum[:])
	if err := c.auditNow(r.Context(), v, action, subject, detail); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	w.Write(body.Bytes())
	return nil
}

// evidenceSource is what the evidence export needs of Config.Governance.
// It is apart from Governance (console.go) so that the hubs and fakes that
// give no evidence still serve the other pages: the export then answers
// 404 like the other governance pages without governance.
type evidenceSource interface {
	WriteEvidence(ctx context.Context, w io.Writer, id, format string) (governance.Evidence, error)
}

var _ evidenceSource = (*governance.Service)(nil)

// reviewExport downloads a campaign's evidence for auditors: CSV, one row
// per item (the columns of governance.EvidenceColumns, as `shiftgate-hub
// review show --format csv` writes them), or JSON with the totals. The
// export is recorded (review.export) with the SHA-256 of the file served,
// so a copy handed to an auditor can be checked against the audit trail.
func (c *Console) reviewExport(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	src, ok := g.(evidenceSource)
	if !ok {
		return errNoGovernance
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		return badRequest("the format is csv or json")
	}
	// Written a page of items at a time (a campaign over a large site
	// has tens of thousands): the file alone is held, for its digest.
	var body bytes.Buffer
	ev, err := src.WriteEvidence(r.Context(), &body, r.PathValue("id"), format)
	if err != nil {
		return err
	}
	// The ID is the stored campaign's (a UUID), not the request's text.
	return c.serveBody(w, r, v, format, fmt.Sprintf("shiftgate-review-%s.%s", ev.Campaign.ID, format), &body,
		"review.export", "review:"+ev.Campaign.ID, map[string]any{"items": ev.Totals.Items, "auditHead": ev.AuditHead})
}

// findingRemediate applies one finding's remediation through governance:
// 404 when the finding is gone (fixed meanwhile), 409 when the hub cannot
// fix it (an external identity without an end date: HR must set one).
func (c *Console) findingRemediate(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.gov()
	if err != nil {
		return err
	}
	f, err := fields(r, "dormant_days")
	if err != nil {
		return err
	}
	opt, days, err := findingsOptions(f[0])
	if err != nil {
		return err
	}
	out, err := g.Remediate(r.Context(), v.actor(), r.PathValue("id"), opt)
	if err != nil {
		return err
	}
	back := "/console/findings"
	if days != "" {
		back += "?dormant_days=" + url.QueryEscape(days)
	}
	ok := "finding-remediated"
	if out.Outcome == governance.OutcomeGone {
		ok = "finding-gone"
	}
	return done(w, r, back, ok)
}

// scopeText says what a campaign covers, for the pages: in the words of
// the evidence export.
func scopeText(s store.ReviewScope) string { return governance.ScopeText(s) }

// percent formats a rate; nil (nothing to measure) is a dash, never 0 %.
func percent(r *float64) string {
	if r == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f %%", *r*100)
}
