package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// auditorWorld is makeReviewWorld (nia signed in at north-1) with a
// campaign of north started by the admin, kim's Nurse kept, and rolf, who
// holds a role without a site: a risk finding.
type auditorWorld struct {
	reviewWorld
	admin    *client
	campaign string
	niaRole  store.ReviewItem // pending
	kimRole  store.ReviewItem // kept by the admin
	finding  string           // rolf's role_without_site
}

func makeAuditorWorld(t *testing.T, h *hubtest.Hub) auditorWorld {
	t.Helper()
	w := auditorWorld{reviewWorld: makeReviewWorld(t, h)}
	ctx := t.Context()
	if _, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "u-rolf", UserName: "rolf", Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().UpdateGroup(ctx, lifecycleActor, "g-nurse", func(g store.Group) (store.Group, error) {
		g.Members = append(g.Members, "u-rolf")
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	w.admin = bootstrapAdmin(t, h)
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Format(time.DateOnly)
	r := w.admin.post("/console/reviews", url.Values{"name": {"Q4 north"}, "due": {due}, "sites": {"north"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("start campaign: %d %s", r.Status, r.Body)
	}
	w.campaign = strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/console/reviews/")
	w.niaRole = item(t, h, w.campaign, "u-nia", store.ReviewItemRole, "Nurse")
	w.kimRole = item(t, h, w.campaign, "u-kim", store.ReviewItemRole, "Nurse")
	if r := w.admin.post("/console/review-items/"+w.kimRole.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("keep: %d %s", r.Status, r.Body)
	}
	fs, err := h.Governance().Findings(ctx, governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == "role_without_site" && f.UserID == "u-rolf" {
			w.finding = f.ID
		}
	}
	if w.finding == "" {
		t.Fatalf("findings %+v lack rolf's role without a site", fs)
	}
	return w
}

var (
	mainNav   = regexp.MustCompile(`(?s)<nav aria-label="Main">(.*?)</nav>`)
	navHref   = regexp.MustCompile(`href="([^"]+)"`)
	postForms = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// navOf returns the links of a page's main navigation.
func navOf(t *testing.T, body string) []string {
	t.Helper()
	m := mainNav.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no main navigation on the page:\n%s", body)
	}
	var out []string
	for _, h := range navHref.FindAllStringSubmatch(m[1], -1) {
		out = append(out, h[1])
	}
	return out
}

// auditRecords returns the records of action, newest first.
func auditRecords(t testing.TB, h *hubtest.Hub, action string) []store.AuditRecord {
	t.Helper()
	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestAuditorReadsEvidence: an invited auditor lands on the audit trail;
// verifies the hash chain and downloads the signed export, each recorded
// under its own name; opens the reviews, a campaign with its decisions and
// the campaign's evidence export (recorded with the file's SHA-256), the
// findings and their downloads, and the dashboard without the live
// sessions. Its navigation lists exactly those pages, and no page shows it
// a form that changes anything but its own account.
func TestAuditorReadsEvidence(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeAuditorWorld(t, h)
	aud := newClient(t, h, nil)
	if r := aud.register(w.admin.invite("ivy", store.ConsoleAuditor)); r.Status != 200 || !strings.Contains(r.Body, `"next":"/console/audit"`) {
		t.Fatalf("auditor registration: %d %s, want it sent to the audit trail", r.Status, r.Body)
	}
	if r := aud.get("/console/"); r.Status != http.StatusSeeOther || r.location() != "/console/audit" {
		t.Errorf("auditor home: %d %q, want /console/audit", r.Status, r.location())
	}

	// Navigation: exactly the pages it may open, each of which opens.
	wantNav := []string{"/console/dashboard", "/console/audit", "/console/reviews", "/console/findings", "/console/me"}
	pages := []string{"/console/dashboard", "/console/audit", "/console/reviews", "/console/reviews/" + w.campaign, "/console/findings", "/console/me"}
	for _, p := range pages {
		r := aud.get(p)
		if r.Status != http.StatusOK {
			t.Errorf("auditor GET %s: %d %s", p, r.Status, r.Body)
			continue
		}
		if nav := navOf(t, r.Body); !slices.Equal(nav, wantNav) {
			t.Errorf("auditor's navigation on %s: %v, want %v", p, nav, wantNav)
		}
		// Forms that change something: only signing out, and on its
		// account page its own passkeys and browsers.
		for _, m := range postForms.FindAllStringSubmatch(r.Body, -1) {
			if a := m[1]; a != "/console/signout" && (p != "/console/me" || !strings.HasPrefix(a, "/console/me/") && a != "/console/signout-everywhere") {
				t.Errorf("auditor's %s has a form posting to %s", p, a)
			}
		}
	}
	if nav := navOf(t, w.admin.get("/console/dashboard").Body); len(nav) <= len(wantNav) || !slices.Contains(nav, "/console/accounts") {
		t.Errorf("the admin's navigation %v lost its entries", nav)
	}

	// The dashboard: the numbers and teardowns, not who is signed in now.
	dash, adminDash := aud.get("/console/dashboard"), w.admin.get("/console/dashboard")
	if !strings.Contains(dash.Body, `id="metrics-h"`) || !strings.Contains(dash.Body, `id="teardowns-h"`) || !strings.Contains(dash.Body, `id="kiosks-online"`) {
		t.Errorf("the auditor's dashboard lacks the program metrics, the teardowns or the kiosks:\n%s", dash.Body)
	}
	for _, s := range []string{`data-live=`, `id="live-block"`, `id="live-sessions"`, `data-user="nia"`, `data-session=`, "/console/site/"} {
		if !strings.Contains(adminDash.Body, s) {
			t.Errorf("the admin's dashboard lacks %s: the check below would prove nothing", s)
		}
		if strings.Contains(dash.Body, s) {
			t.Errorf("the auditor's dashboard shows live presence: %s", s)
		}
	}

	// The audit trail: verify, and the signed export; each on the record
	// under the auditor's name, and the verification in the export.
	if r := aud.do("GET", "/console/audit/verify", nil, ownPage...); r.Status != 200 || !strings.Contains(r.Body, `data-ok="true"`) {
		t.Errorf("auditor verifies the chain: %d %s", r.Status, r.Body)
	}
	exp := aud.do("GET", "/console/audit/export", nil, ownPage...)
	if exp.Status != 200 || exp.Header.Get("Content-Disposition") == "" {
		t.Fatalf("auditor exports the trail: %d %s", exp.Status, exp.Body)
	}
	signer, err := audit.LoadSigner(h.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.VerifySignedExport(signer.PublicKey(), 0, strings.NewReader(exp.Body)); err != nil || rep.Records == 0 {
		t.Errorf("the auditor's export does not verify with the hub's public key: %+v %v", rep, err)
	}
	if !strings.Contains(exp.Body, `"actor":"console:ivy","action":"audit.verify"`) {
		t.Errorf("the export lacks the auditor's verification:\n%s", exp.Body)
	}
	for _, action := range []string{"audit.verify", "audit.export"} {
		if recs := auditRecords(t, h, action); len(recs) != 1 || recs[0].Actor != "console:ivy" || recs[0].System != "console" || recs[0].Subject != "audit" {
			t.Errorf("%s records %+v, want one by console:ivy, system console", action, recs)
		}
	}

	// Access reviews: the campaigns, one campaign with its decisions, and
	// its evidence; no form to start or decide anything.
	rv := aud.get("/console/reviews")
	if !strings.Contains(rv.Body, `data-campaign="`+w.campaign+`"`) {
		t.Errorf("the auditor's reviews page lacks the campaign:\n%s", rv.Body)
	}
	for _, s := range []string{`id="campaign-form"`, `id="run-defaults"`, `href="/console/my-reviews"`} {
		if strings.Contains(rv.Body, s) {
			t.Errorf("the auditor's reviews page has %s", s)
		}
	}
	cp := aud.get("/console/reviews/" + w.campaign)
	if !strings.Contains(cp.Body, `data-item="`+w.niaRole.ID+`" data-decision="pending"`) || !strings.Contains(cp.Body, `data-item="`+w.kimRole.ID+`" data-decision="keep"`) ||
		!strings.Contains(cp.Body, "by console:ada@example.org") || !strings.Contains(cp.Body, `id="evidence-csv"`) {
		t.Errorf("the auditor's campaign page lacks the items, their decisions or the evidence link:\n%s", cp.Body)
	}
	if strings.Contains(cp.Body, `<button type="submit" name="decision"`) || strings.Contains(cp.Body, "/console/review-items/") {
		t.Error("the auditor's campaign page has the decision buttons")
	}
	ev := aud.do("GET", "/console/reviews/"+w.campaign+"/export?format=csv", nil, ownPage...)
	if ev.Status != 200 || !strings.Contains(ev.Body, w.kimRole.ID) {
		t.Fatalf("auditor's evidence export: %d %s", ev.Status, ev.Body)
	}
	sum := sha256.Sum256([]byte(ev.Body))
	recs := auditRecords(t, h, "review.export")
	var detail struct{ SHA256 string }
	if len(recs) != 1 || json.Unmarshal(recs[0].Detail, &detail) != nil || recs[0].Actor != "console:ivy" || recs[0].Subject != "review:"+w.campaign ||
		detail.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("review.export records %+v, want one by console:ivy with the file's SHA-256 %x", recs, sum)
	}

	// Findings, and their downloads; no Remediate.
	fp := aud.get("/console/findings")
	if !strings.Contains(fp.Body, `data-finding="`+w.finding+`"`) {
		t.Errorf("the auditor's findings page lacks rolf's finding:\n%s", fp.Body)
	}
	if strings.Contains(fp.Body, "/remediate") {
		t.Error("the auditor's findings page has Remediate")
	}
	if r := w.admin.get("/console/findings"); !strings.Contains(r.Body, "/console/findings/"+w.finding+"/remediate") {
		t.Error("the admin's findings page lost Remediate: the check above proves nothing")
	}
	for _, f := range []string{"csv", "json"} {
		if r := aud.do("GET", "/console/findings/export?format="+f, nil, ownPage...); r.Status != 200 || !strings.Contains(r.Body, w.finding) {
			t.Errorf("auditor's findings %s: %d %s", f, r.Status, r.Body)
		}
	}
}

// TestAuditorChangesNothing: an auditor gets 403 on the user, kiosk,
// token, policy, site and account pages, the supervisor pages and its
// review queue, and on every state-changing request, each aimed at a real
// record (the route matrix covers every route; this shows that a refusal
// is not a missing record's); nothing changes and nothing is recorded. The
// JSON API refuses its session. Its own account's actions work and are
// recorded under its name.
func TestAuditorChangesNothing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeAuditorWorld(t, h)
	aud := w.admin.auditor("ivy")
	adminID, ivyID := account(t, h, "ada@example.org").ID, account(t, h, "ivy").ID
	campaigns, err := h.Store().ListCampaigns(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	before := auditCount(t, h)
	for _, p := range []string{"/console/users", "/console/users/u-nia", "/console/devices", "/console/policy", "/console/tokens",
		"/console/accounts", "/console/sites", "/console/site/", "/console/site/users/u-nia", "/console/site/live", "/console/my-reviews"} {
		if r := aud.get(p); r.Status != http.StatusForbidden {
			t.Errorf("auditor GET %s: %d, want 403", p, r.Status)
		}
	}
	due := time.Now().UTC().Add(48 * time.Hour).Format(time.DateOnly)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/console/reviews", url.Values{"name": {"mine"}, "due": {due}}},
		{"/console/reviews/run", nil},
		{"/console/review-items/" + w.niaRole.ID, url.Values{"decision": {"revoke"}}},
		{"/console/review-items/" + w.niaRole.ID, url.Values{"decision": {"comment"}, "comment": {"looks fine"}}},
		{"/console/findings/" + w.finding + "/remediate", nil},
		{"/console/users/u-nia/signout", nil},
		{"/console/users/u-nia/disable", nil},
		{"/console/site/sessions/" + w.session + "/signout", nil},
		{"/console/devices/codes", url.Values{"name": {"north-9"}, "site": {"north"}}},
		{"/console/tokens", url.Values{"name": {"ivy-token"}, "scope": {"admin"}}},
		{"/console/policy/globals", url.Values{"version": {"1"}, "max_session": {"1h"}, "shift_grace": {"0s"}}},
		{"/console/sites", url.Values{"name": {"north"}, "time_zone": {"Europe/Berlin"}}},
		{"/console/accounts", url.Values{"name": {"eve"}, "role": {"admin"}}},
		{"/console/accounts", url.Values{"name": {"eve"}, "role": {"auditor"}}},
		{"/console/accounts/" + adminID + "/disable", nil},
		{"/console/accounts/" + adminID + "/passkeys/revoke", nil},
		{"/console/accounts/" + ivyID + "/invite", nil}, // not even a link for itself
	} {
		if r := aud.post(tc.path, tc.form); r.Status != http.StatusForbidden {
			t.Errorf("auditor POST %s %v: %d, want 403", tc.path, tc.form, r.Status)
		}
	}
	// The JSON API takes admins' sessions only.
	if r := aud.get("/api/v1/users/nia/grants"); r.Status != http.StatusForbidden {
		t.Errorf("auditor GET on the API: %d, want 403", r.Status)
	}
	if r := aud.do("POST", "/api/v1/users/nia/signout", map[string]string{}, "X-CSRF-Token", aud.csrf); r.Status != http.StatusForbidden {
		t.Errorf("auditor POST on the API: %d, want 403", r.Status)
	}

	if n := auditCount(t, h); n != before {
		recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{AfterSeq: before})
		t.Errorf("refused requests wrote %d audit records: %+v", n-before, recs)
	}
	if it := reviewItem(t, h, w.niaRole.ID); it.Decision != store.ReviewPending || it.Comment != "" {
		t.Errorf("nia's item = %+v, want it pending without a comment", it)
	}
	if cs, _ := h.Store().ListCampaigns(t.Context()); len(cs) != len(campaigns) {
		t.Errorf("%d campaigns, want %d", len(cs), len(campaigns))
	}
	if fs, _ := h.Governance().Findings(t.Context(), governance.FindingsOptions{}); !slices.ContainsFunc(fs, func(f governance.Finding) bool { return f.ID == w.finding }) {
		t.Error("rolf's finding was remediated")
	}
	if s, _ := h.Store().GetSession(t.Context(), w.session); !s.Ended.IsZero() {
		t.Error("nia's kiosk session was ended")
	}
	if u, _ := h.Store().GetUser(t.Context(), "u-nia"); u.State != store.UserActive {
		t.Errorf("nia is %v", u.State)
	}
	if a := account(t, h, "ada@example.org"); !a.Disabled.IsZero() {
		t.Error("the admin was disabled")
	}
	if _, err := h.Store().GetConsoleAccountByName(t.Context(), "eve"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("account eve: %v, want none", err)
	}
	if r := w.admin.get("/console/dashboard"); r.Status != 200 {
		t.Errorf("the admin after the refusals: %d", r.Status)
	}

	// Its own account: another passkey (fresh sign-in), and sign-out.
	if r := aud.post("/console/me/passkeys", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/register#sgi_") {
		t.Errorf("auditor adds a passkey: %d %q", r.Status, r.location())
	}
	if r := aud.post("/console/signout", nil); r.Status != http.StatusSeeOther {
		t.Errorf("auditor signs out: %d", r.Status)
	}
	if r := aud.get("/console/audit"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
		t.Errorf("after sign-out: %d %q", r.Status, r.location())
	}
	for _, action := range []string{"console.signin", "console.invite", "console.signout"} {
		recs := auditRecords(t, h, action)
		if len(recs) == 0 || recs[0].Actor != "console:ivy" || recs[0].System != "console" || recs[0].Subject != "console:"+ivyID {
			t.Errorf("newest %s record %+v, want the auditor's own", action, recs)
		}
	}
}

// TestInviteAuditor: an admin invites an auditor from Console accounts
// (the form offers the role); an auditor has no sites, and an invitation
// naming sites is refused rather than silently widened to everything. The
// invitation is audited with the role. admin bootstrap stays an admin
// matter: it does not turn an auditor into an admin.
func TestInviteAuditor(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	if r := admin.get("/console/accounts"); !strings.Contains(r.Body, `<option value="auditor">`) {
		t.Errorf("the invitation form does not offer the auditor role:\n%s", r.Body)
	}
	before := auditCount(t, h)
	if r := admin.post("/console/accounts", url.Values{"name": {"ivy"}, "role": {"auditor"}, "sites": {"north"}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(r.Body, "an auditor has no sites") {
		t.Errorf("auditor with a site: %d %s, want 400", r.Status, r.Body)
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("the refused invitation wrote %d audit records", n-before)
	}
	if _, err := h.Store().GetConsoleAccountByName(t.Context(), "ivy"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("account ivy after the refused invitation: %v", err)
	}
	// An empty "Other site" field, as the form sends it, is no site.
	r := admin.post("/console/accounts", url.Values{"name": {"ivy"}, "role": {"auditor"}, "sites": {""}})
	if r.Status != http.StatusCreated || !inviteToken.MatchString(r.Body) {
		t.Fatalf("invite auditor: %d %s", r.Status, r.Body)
	}
	a := account(t, h, "ivy")
	if a.Role != store.ConsoleAuditor || len(a.Sites) != 0 || a.CreatedBy != "console:ada@example.org" {
		t.Errorf("account %+v, want an auditor without sites made by the admin", a)
	}
	recs := auditRecords(t, h, "console.invite")
	var detail struct {
		Name, Role string
		Sites      []string
	}
	if len(recs) == 0 || json.Unmarshal(recs[0].Detail, &detail) != nil || recs[0].Actor != "console:ada@example.org" ||
		recs[0].Subject != "console:"+a.ID || detail.Role != store.ConsoleAuditor || detail.Name != "ivy" || len(detail.Sites) != 0 {
		t.Errorf("console.invite %+v, want the admin inviting ivy as auditor", recs)
	}
	if r := admin.get("/console/accounts"); !strings.Contains(r.Body, "<th scope=\"row\">ivy</th><td>auditor</td>") {
		t.Error("the accounts list does not show ivy as an auditor")
	}
	_, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ivy", true, time.Now())
	if err == nil || !strings.Contains(err.Error(), "role auditor") {
		t.Errorf("bootstrap naming the auditor: %v, want it refused", err)
	}
	if a := account(t, h, "ivy"); a.Role != store.ConsoleAuditor {
		t.Errorf("ivy's role after bootstrap: %s", a.Role)
	}
}

// An account name is the actor of the audit trail (console:<name>): names
// that read as another one there, or hide what they are, are refused.
func TestAccountNameRefused(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	for _, name := range []string{
		"ada@example.org\u202egro.elpmaxe", // right-to-left override
		"ada\u200b@example.org",            // zero-width space
		"ada\u2066@example.org\u2069",      // isolates
		"ada\u0085@example.org",            // C1 control (NEL)
		"ada\x00@example.org",
		"ada\xff@example.org", // not UTF-8
	} {
		r := admin.post("/console/accounts", url.Values{"name": {name}, "role": {"auditor"}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("invite %q: %d, want 400", name, r.Status)
		}
	}
	if _, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "root\u202e", false, time.Now()); err == nil {
		t.Error("bootstrap took a name with a right-to-left override")
	}
	if r := admin.post("/console/accounts", url.Values{"name": {"zoë@example.org"}, "role": {"auditor"}}); r.Status >= 300 {
		t.Errorf("invite of a name with a letter outside ASCII: %d %s", r.Status, r.Body)
	}
}
