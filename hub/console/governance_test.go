package console_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// kioskLogin registers a software badge for userName at the connected
// kiosk k (through the admin API, as an enrollment would) and signs the
// user in there; it returns the live session's ID.
func kioskLogin(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk, userName string) string {
	t.Helper()
	badge := h.RegisterBadge(t, k, userName, authenticator.SoftOptions{})
	env, _ := k.Tap(t, badge)
	var g wire.SessionGrant
	if env.Type != wire.TypeSessionGrant || env.Unmarshal(&g) != nil {
		t.Fatalf("got %s %s, want session.grant", env.Type, env.Data)
	}
	return g.SessionID
}

// reviewWorld: north and south, each with a worker holding Nurse and a
// site supervisor (a member of Supervisor at the site); kim works at both
// sites. nia is signed in at the kiosk north-1.
type reviewWorld struct {
	kiosk   *hubtest.Kiosk
	session string
}

func makeReviewWorld(t *testing.T, h *hubtest.Hub) reviewWorld {
	t.Helper()
	ctx := t.Context()
	users := []store.User{
		{ID: "u-nia", UserName: "nia", Sites: []string{"north"}},
		{ID: "u-ben", UserName: "ben", Sites: []string{"south"}},
		{ID: "u-kim", UserName: "kim", Sites: []string{"north", "south"}},
		{ID: "u-sun", UserName: "sun", Sites: []string{"north"}}, // supervisor of north
		{ID: "u-sue", UserName: "sue", Sites: []string{"south"}}, // supervisor of south
		{ID: "u-sam", UserName: "sam", Sites: []string{"north"}}, // a worker named like the console supervisor
	}
	for _, u := range users {
		u.Active, u.DisplayName = true, u.UserName
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{"u-nia", "u-ben", "u-kim", "u-sam"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-sup", DisplayName: "Supervisor", Members: []string{"u-sun", "u-sue"}}); err != nil {
		t.Fatal(err)
	}
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	return reviewWorld{kiosk: k, session: kioskLogin(t, h, k, "nia")}
}

// item finds the one item of campaign about userName's kind entitlement.
func item(t *testing.T, h *hubtest.Hub, campaign, userID, kind, ent string) store.ReviewItem {
	t.Helper()
	its, err := h.Store().ListReviewItems(t.Context(), store.ReviewItemQuery{CampaignID: campaign})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range its {
		if it.UserID == userID && it.Kind == kind && strings.EqualFold(it.Entitlement, ent) {
			return it
		}
	}
	t.Fatalf("campaign %s has no %s item %s of %s: %+v", campaign, kind, ent, userID, its)
	return store.ReviewItem{}
}

func reviewItem(t *testing.T, h *hubtest.Hub, id string) store.ReviewItem {
	t.Helper()
	it, err := h.Store().GetReviewItem(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// TestReviewsInConsole: an admin starts a campaign from the Reviews page,
// sees its items and decides keep and revoke; the revoke ends the
// worker's live kiosk session at once, and the audit names the console
// account. A supervisor of north sees and decides only the items the rule
// gives it and gets 403 for any other; a POST without the CSRF token is
// refused.
func TestReviewsInConsole(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeReviewWorld(t, h)
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")

	if r := admin.get("/console/reviews"); r.Status != 200 || !strings.Contains(r.Body, "No campaigns yet") || !strings.Contains(r.Body, `href="/console/reviews" aria-current="page"`) {
		t.Fatalf("empty reviews page: %d %s", r.Status, r.Body)
	}
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Format(time.DateOnly)
	for _, f := range []url.Values{
		{"name": {""}, "due": {due}},
		{"name": {"x"}, "due": {"someday"}},
		{"name": {"x"}, "due": {"2020-01-01"}},
		{"name": {"x"}, "due": {due}, "sites": {strings.Repeat("s", 200)}},
	} {
		if r := admin.post("/console/reviews", f); r.Status != http.StatusBadRequest {
			t.Errorf("start campaign %v: %d, want 400", f, r.Status)
		}
	}
	r := admin.post("/console/reviews", url.Values{"name": {"Q4 north and south"}, "due": {due}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/reviews/") {
		t.Fatalf("start campaign: %d %q %s", r.Status, r.location(), r.Body)
	}
	campaign := strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/console/reviews/")
	page := admin.get(r.location())
	if page.Status != 200 || !strings.Contains(page.Body, "The access review started") {
		t.Fatalf("campaign page: %d %s", page.Status, page.Body)
	}
	niaRole := item(t, h, campaign, "u-nia", store.ReviewItemRole, "Nurse")
	benRole := item(t, h, campaign, "u-ben", store.ReviewItemRole, "Nurse")
	for _, it := range []store.ReviewItem{niaRole, benRole} {
		if !strings.Contains(page.Body, `data-item="`+it.ID+`" data-decision="pending"`) {
			t.Errorf("campaign page lacks pending item %s", it.ID)
		}
	}
	if niaRole.ReviewerKind != "supervisor" || niaRole.ReviewerID != "u-sun" {
		t.Errorf("nia's role item reviewer = %s %s, want north's supervisor sun", niaRole.ReviewerKind, niaRole.ReviewerID)
	}

	// Admin: keep ben's role, revoke nia's; a second decision is 409.
	if r := admin.post("/console/review-items/"+benRole.ID, url.Values{"decision": {"keep"}, "comment": {"still on the ward"}}); r.Status != http.StatusSeeOther || r.location() != "/console/reviews/"+campaign+"?ok=review-kept" {
		t.Fatalf("keep: %d %q %s", r.Status, r.location(), r.Body)
	}
	if it := reviewItem(t, h, benRole.ID); it.Decision != store.ReviewKeep || it.DecidedBy != "console:ada@example.org" || it.Comment != "still on the ward" {
		t.Errorf("kept item = %+v", it)
	}
	if r := admin.post("/console/review-items/"+niaRole.ID, url.Values{"decision": {"revoke"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	push := w.kiosk.Recv(5 * time.Second)
	var rv wire.SessionRevoke
	if push.Type != wire.TypeSessionRevoke || push.Unmarshal(&rv) != nil || rv.SessionID != w.session || rv.Reason != "entitlement_removed" {
		t.Fatalf("kiosk got %s %s, want session.revoke of %s (entitlement_removed)", push.Type, push.Data, w.session)
	}
	w.kiosk.Ack(push)
	if s, err := h.Store().GetSession(t.Context(), w.session); err != nil || s.Ended.IsZero() {
		t.Errorf("nia's session after the revoke: %+v %v", s, err)
	}
	if g, _ := h.Store().GetGroup(t.Context(), "g-nurse"); slices.Contains(g.Members, "u-nia") {
		t.Error("nia is still a Nurse")
	}
	if r := admin.post("/console/review-items/"+niaRole.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusConflict || !strings.Contains(r.Body, "already decided") {
		t.Errorf("second decision: %d %s, want 409 saying it was decided", r.Status, r.Body)
	}
	for _, f := range []url.Values{{"decision": {"maybe"}}, {"decision": {"comment"}}, {"decision": {"keep"}, "comment": {strings.Repeat("c", 501)}}} {
		if r := admin.post("/console/review-items/"+benRole.ID, f); r.Status != http.StatusBadRequest {
			t.Errorf("decision %v: %d, want 400", f, r.Status)
		}
	}
	if r := admin.post("/console/review-items/no-such-item", url.Values{"decision": {"keep"}}); r.Status != http.StatusNotFound {
		t.Errorf("unknown item for an admin: %d, want 404", r.Status)
	}
	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "review.decide"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("review.decide records = %d, want 2", len(recs))
	}
	for _, rec := range recs {
		if rec.Actor != "console:ada@example.org" || rec.System != "console" {
			t.Errorf("review.decide by %s/%s, want console:ada@example.org/console", rec.Actor, rec.System)
		}
	}
	if got := actionsOf(t, h, "user.entitlements_removed", "group.update", "session.end"); got == "" {
		t.Error("the revoke left no lifecycle audit record")
	}

	// The overview counts the decisions.
	ov := admin.get("/console/reviews")
	if ov.Status != 200 || !strings.Contains(ov.Body, `data-campaign="`+campaign+`"`) || !strings.Contains(ov.Body, "Q4 north and south") || !strings.Contains(ov.Body, " %</td>") {
		t.Errorf("reviews page: %d %s", ov.Status, ov.Body)
	}

	// The supervisor of north: the rule of authz.go.
	niaSite := item(t, h, campaign, "u-nia", store.ReviewItemSite, "north")
	kimNorth := item(t, h, campaign, "u-kim", store.ReviewItemSite, "north")
	kimSouth := item(t, h, campaign, "u-kim", store.ReviewItemSite, "south")
	kimRole := item(t, h, campaign, "u-kim", store.ReviewItemRole, "Nurse")
	benSite := item(t, h, campaign, "u-ben", store.ReviewItemSite, "south")
	sunSite := item(t, h, campaign, "u-sun", store.ReviewItemSite, "north") // sun has no other supervisor: the admins
	samRole := item(t, h, campaign, "u-sam", store.ReviewItemRole, "Nurse") // about a worker named like the account
	if kimRole.ReviewerID != "u-sun" || sunSite.ReviewerKind != "admins" || samRole.ReviewerID != "u-sun" {
		t.Fatalf("reviewers: kim's role %s, sun's site %s, sam's role %s", kimRole.ReviewerID, sunSite.ReviewerKind, samRole.ReviewerID)
	}
	mine := sup.get("/console/my-reviews")
	if mine.Status != 200 || !strings.Contains(mine.Body, `href="/console/my-reviews" aria-current="page"`) {
		t.Fatalf("my reviews: %d %s", mine.Status, mine.Body)
	}
	for _, it := range []store.ReviewItem{niaSite, kimNorth} {
		if !strings.Contains(mine.Body, `data-item="`+it.ID+`"`) {
			t.Errorf("my reviews lacks %s %s of %s", it.Kind, it.Entitlement, it.UserID)
		}
	}
	for _, it := range []store.ReviewItem{kimSouth, kimRole, benSite, benRole, sunSite, samRole, niaRole} {
		if strings.Contains(mine.Body, it.ID) {
			t.Errorf("my reviews shows %s %s of %s", it.Kind, it.Entitlement, it.UserID)
		}
	}
	if strings.Contains(mine.Body, ">ben<") {
		t.Error("my reviews shows another site's worker")
	}
	before := auditCount(t, h)
	for _, id := range []string{kimSouth.ID, kimRole.ID, benSite.ID, sunSite.ID, samRole.ID, "no-such-item"} {
		if r := sup.post("/console/review-items/"+id, url.Values{"decision": {"revoke"}}); r.Status != http.StatusForbidden {
			t.Errorf("supervisor deciding item %s: %d, want 403", id, r.Status)
		}
	}
	if r := sup.do("POST", "/console/review-items/"+niaSite.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusForbidden {
		t.Errorf("decision without the CSRF token: %d, want 403", r.Status)
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("refused decisions wrote %d audit records", n-before)
	}
	for _, it := range []store.ReviewItem{kimSouth, kimRole, benSite, sunSite, samRole, niaSite} {
		if got := reviewItem(t, h, it.ID); got.Decision != store.ReviewPending {
			t.Errorf("item %s changed by a refused request: %v", it.ID, got.Decision)
		}
	}
	if r := sup.post("/console/review-items/"+niaSite.ID, url.Values{"decision": {"keep"}, "back": {"/console/my-reviews"}}); r.Status != http.StatusSeeOther || r.location() != "/console/my-reviews?ok=review-kept" {
		t.Fatalf("supervisor keeps nia's site: %d %q %s", r.Status, r.location(), r.Body)
	}
	if it := reviewItem(t, h, niaSite.ID); it.Decision != store.ReviewKeep || it.DecidedBy != "console:sam" {
		t.Errorf("nia's site item = %+v", it)
	}
	if r := sup.post("/console/review-items/"+kimNorth.ID, url.Values{"decision": {"comment"}, "comment": {"ask HR"}}); r.Status != http.StatusSeeOther {
		t.Errorf("supervisor comments: %d %s", r.Status, r.Body)
	}
	if it := reviewItem(t, h, kimNorth.ID); it.Decision != store.ReviewPending || it.Comment != "ask HR" {
		t.Errorf("commented item = %+v", it)
	}
	for _, p := range []string{"/console/reviews", "/console/reviews/" + campaign, "/console/findings"} {
		if r := sup.get(p); r.Status != http.StatusForbidden {
			t.Errorf("supervisor GET %s: %d, want 403", p, r.Status)
		}
	}
	if r := sup.post("/console/reviews", url.Values{"name": {"x"}, "due": {due}}); r.Status != http.StatusForbidden {
		t.Errorf("supervisor starts a campaign: %d, want 403", r.Status)
	}

	// The admins' own queue, and the default campaigns.
	if r := admin.get("/console/my-reviews"); r.Status != 200 || !strings.Contains(r.Body, sunSite.ID) || strings.Contains(r.Body, kimNorth.ID) {
		t.Errorf("admins' queue: %d, want sun's item (assigned to the admins) and not kim's", r.Status)
	}
	if r := admin.post("/console/reviews/run", nil); r.Status != http.StatusSeeOther || r.location() != "/console/reviews?ok=reviews-run" {
		t.Fatalf("run defaults: %d %q %s", r.Status, r.location(), r.Body)
	}
	if cs, _ := h.Store().ListCampaigns(t.Context()); len(cs) != 4 {
		t.Errorf("campaigns after starting the defaults: %d, want 4", len(cs))
	}
	if r := admin.post("/console/reviews", url.Values{"name": {"privileged north"}, "due": {due}, "sites": {"north"}, "privileged": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("scoped campaign: %d %s", r.Status, r.Body)
	}
	if r := admin.get("/console/reviews"); !strings.Contains(r.Body, "sites north; privileged roles") {
		t.Error("the scoped campaign's scope is not shown")
	}
}

// TestFindingsInConsole: the findings page lists the report; Remediate
// fixes a finding through governance with the console as actor; a finding
// the hub cannot fix answers 409 with what to do; downloads are CSV and
// JSON; CSRF applies.
func TestFindingsInConsole(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	for _, u := range []store.User{
		{ID: "u-rolf", UserName: "rolf", Active: true}, // a role but no site
		{ID: "u-vic", UserName: "vic", Active: true, Sites: []string{"north"}, EmploymentType: "contractor"},
	} {
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{"u-rolf"}}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	fs, err := h.Governance().Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var creep, noEnd string
	for _, f := range fs {
		switch {
		case f.Rule == "role_without_site" && f.UserID == "u-rolf":
			creep = f.ID
		case f.Rule == "no_end_date" && f.UserID == "u-vic":
			noEnd = f.ID
		}
	}
	if creep == "" || noEnd == "" {
		t.Fatalf("findings %+v lack rolf's role without site or vic's missing end date", fs)
	}
	page := admin.get("/console/findings")
	if page.Status != 200 || !strings.Contains(page.Body, `data-finding="`+creep+`"`) || !strings.Contains(page.Body, `data-finding="`+noEnd+`"`) ||
		!strings.Contains(page.Body, `action="/console/findings/`+creep+`/remediate"`) {
		t.Fatalf("findings page: %d %s", page.Status, page.Body)
	}
	if r := admin.get("/console/findings?dormant_days=soon"); r.Status != http.StatusBadRequest {
		t.Errorf("bad dormant days: %d, want 400", r.Status)
	}

	csvDown := admin.get("/console/findings/export?format=csv")
	rows, err := csv.NewReader(strings.NewReader(csvDown.Body)).ReadAll()
	if csvDown.Status != 200 || err != nil || len(rows) != len(fs)+1 || rows[0][0] != "id" || !strings.Contains(csvDown.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV download: %d %v %q", csvDown.Status, err, csvDown.Body)
	}
	jsonDown := admin.get("/console/findings/export?format=json")
	var doc struct {
		Findings []struct{ ID string } `json:"findings"`
	}
	if jsonDown.Status != 200 || json.Unmarshal([]byte(jsonDown.Body), &doc) != nil || len(doc.Findings) != len(fs) {
		t.Errorf("JSON download: %d %s", jsonDown.Status, jsonDown.Body)
	}
	if r := admin.get("/console/findings/export?format=xml"); r.Status != http.StatusBadRequest {
		t.Errorf("unknown format: %d, want 400", r.Status)
	}
	// Each download is recorded, with the SHA-256 of the file served.
	exports, err := h.Store().SearchAudit(ctx, store.AuditSearch{Action: "findings.export", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(exports) != 2 {
		t.Fatalf("%d findings.export records, want one per download (2)", len(exports))
	}
	for i, down := range []resp{jsonDown, csvDown} { // newest first
		sum := sha256.Sum256([]byte(down.Body))
		var d map[string]any
		if err := json.Unmarshal(exports[i].Detail, &d); err != nil || d["sha256"] != hex.EncodeToString(sum[:]) || exports[i].Actor != "console:ada@example.org" {
			t.Errorf("findings.export record %s by %s, want the download's SHA-256 by the admin", exports[i].Detail, exports[i].Actor)
		}
	}

	// CSRF, then the one-click remediation.
	if r := admin.do("POST", "/console/findings/"+creep+"/remediate", url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("remediate without the CSRF token: %d, want 403", r.Status)
	}
	if g, _ := h.Store().GetGroup(ctx, "g-nurse"); !slices.Contains(g.Members, "u-rolf") {
		t.Fatal("a refused remediation changed the group")
	}
	if r := admin.post("/console/findings/"+creep+"/remediate", nil); r.Status != http.StatusSeeOther || r.location() != "/console/findings?ok=finding-remediated" {
		t.Fatalf("remediate: %d %q %s", r.Status, r.location(), r.Body)
	}
	if g, _ := h.Store().GetGroup(ctx, "g-nurse"); slices.Contains(g.Members, "u-rolf") {
		t.Error("rolf is still a Nurse after the remediation")
	}
	recs, _ := h.Store().SearchAudit(ctx, store.AuditSearch{Action: "finding.remediate"})
	if len(recs) != 1 || recs[0].Actor != "console:ada@example.org" || recs[0].System != "console" {
		t.Errorf("finding.remediate records = %+v", recs)
	}
	if r := admin.get("/console/findings?ok=finding-remediated"); strings.Contains(r.Body, creep) || !strings.Contains(r.Body, "The finding was remediated") {
		t.Error("the remediated finding is still listed, or no confirmation")
	}
	if r := admin.post("/console/findings/"+creep+"/remediate", nil); r.Status != http.StatusNotFound {
		t.Errorf("remediating a fixed finding: %d, want 404", r.Status)
	}
	r := admin.post("/console/findings/"+noEnd+"/remediate", nil)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "set endDate in the HR source") || strings.Contains(r.Body, "conflict:") {
		t.Errorf("remediating a missing end date: %d %s, want 409 saying to set it in HR", r.Status, r.Body)
	}
	if r := admin.post("/console/findings/"+noEnd+"/remediate", url.Values{"dormant_days": {"0"}}); r.Status != http.StatusBadRequest {
		t.Errorf("bad dormant days in the form: %d, want 400", r.Status)
	}
}
