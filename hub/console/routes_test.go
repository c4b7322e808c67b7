package console_test

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// consoleRoute is a route as console.go registers it.
type consoleRoute struct {
	method, pattern, level string
}

// registeredRoutes reads every route console.go registers, with the access
// level it demands, from the source: the matrix below must name each one,
// so a route added later without a row fails the test.
func registeredRoutes(t *testing.T) []consoleRoute {
	t.Helper()
	src, err := os.ReadFile("console.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []consoleRoute
	for _, m := range regexp.MustCompile(`(?m)^\s*handle\("([A-Z]+) (/console/[^"]*)", (\w+), `).FindAllStringSubmatch(string(src), -1) {
		out = append(out, consoleRoute{m[1], m[2], m[3]})
	}
	if len(out) < 50 {
		t.Fatalf("found %d routes in console.go: has the way routes are registered changed?", len(out))
	}
	return out
}

// TestRouteMatrix enumerates every console route and checks, for each:
//
//   - without a session, a page redirects to sign-in and anything else is
//     refused with 401;
//   - a supervisor of north gets 403 on every admin route, and on every
//     site route given south's kiosk, session, worker, grant or site, or a
//     record that does not exist;
//   - an auditor gets 403 on every admin and site route, and on every POST
//     but those on its own account (signedIn); it reads the evidence
//     routes, which must be GETs, and nothing else;
//   - every POST, the sign-in ceremony's included, is refused with 403
//     from another origin, and every POST of a signed-in route without
//     the session's CSRF token;
//   - every signed-in GET is refused with 403 when another site has the
//     browser fetch it other than by a link;
//
// and that none of these refusals writes an audit record or ends a kiosk
// session (the auditor's one chain verification, one audit export and one
// findings export, which it may run, are recorded as its own).
func TestRouteMatrix(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	aud := admin.auditor("ivy")
	anon := newClient(t, h, nil)
	adminID := account(t, h, "ada@example.org").ID

	const (
		forbidden = http.StatusForbidden
		allowed   = http.StatusOK
		skip      = 0 // a stream: it would not end
	)
	type row struct {
		path string     // with south's IDs, or IDs that exist nowhere
		form url.Values // for POSTs
		sup  int        // a supervisor of north gets this
		aud  int        // an auditor gets this
	}
	rows := map[string]row{
		"GET /console/signin":                         {"/console/signin", nil, allowed, allowed},
		"GET /console/register":                       {"/console/register", nil, allowed, allowed},
		"POST /console/auth/login/begin":              {"/console/auth/login/begin", nil, allowed, allowed},
		"POST /console/auth/login/finish":             {"/console/auth/login/finish", nil, skip, skip},
		"POST /console/auth/register/begin":           {"/console/auth/register/begin", nil, skip, skip},
		"POST /console/auth/register/finish":          {"/console/auth/register/finish", nil, skip, skip},
		"GET /console/{$}":                            {"/console/", nil, allowed, allowed},
		"GET /console/me":                             {"/console/me", nil, allowed, allowed},
		"POST /console/signout":                       {"/console/signout", nil, skip, skip},
		"POST /console/signout-everywhere":            {"/console/signout-everywhere", nil, skip, skip},
		"POST /console/me/passkeys":                   {"/console/me/passkeys", nil, skip, skip},
		"POST /console/me/sessions/{id}/end":          {"/console/me/sessions/0011223344556677/end", nil, http.StatusNotFound, http.StatusNotFound},
		"GET /console/dashboard":                      {"/console/dashboard", nil, forbidden, allowed},
		"GET /console/users":                          {"/console/users", nil, forbidden, forbidden},
		"GET /console/users/{id}":                     {"/console/users/" + w.northUser.ID, nil, forbidden, forbidden},
		"POST /console/users/{id}/signout":            {"/console/users/" + w.northUser.ID + "/signout", nil, forbidden, forbidden},
		"POST /console/users/{id}/disable":            {"/console/users/" + w.northUser.ID + "/disable", nil, forbidden, forbidden},
		"POST /console/credentials/{id}/revoke":       {"/console/credentials/00/revoke", nil, forbidden, forbidden},
		"GET /console/devices":                        {"/console/devices", nil, forbidden, forbidden},
		"POST /console/devices/codes":                 {"/console/devices/codes", url.Values{"name": {"n-9"}, "site": {"north"}}, forbidden, forbidden},
		"POST /console/devices/{id}/disable":          {"/console/devices/" + w.northKiosk.ID + "/disable", nil, forbidden, forbidden},
		"GET /console/policy":                         {"/console/policy", nil, forbidden, forbidden},
		"POST /console/policy/globals":                {"/console/policy/globals", url.Values{"version": {"1"}, "max_session": {"1h"}, "shift_grace": {"0s"}}, forbidden, forbidden},
		"POST /console/policy/roles":                  {"/console/policy/roles", url.Values{"version": {"1"}, "name": {"Porter"}}, forbidden, forbidden},
		"POST /console/policy/roles/delete":           {"/console/policy/roles/delete", url.Values{"version": {"1"}, "name": {"Nurse"}}, forbidden, forbidden},
		"POST /console/policy/other":                  {"/console/policy/other", url.Values{"version": {"1"}}, forbidden, forbidden},
		"GET /console/sites":                          {"/console/sites", nil, forbidden, forbidden},
		"POST /console/sites":                         {"/console/sites", url.Values{"name": {"north"}, "time_zone": {"Europe/Berlin"}}, forbidden, forbidden},
		"GET /console/tokens":                         {"/console/tokens", nil, forbidden, forbidden},
		"POST /console/tokens":                        {"/console/tokens", url.Values{"name": {"x"}, "scope": {"admin"}}, forbidden, forbidden},
		"POST /console/tokens/{id}/revoke":            {"/console/tokens/x/revoke", nil, forbidden, forbidden},
		"POST /console/tokens/{id}/rotate":            {"/console/tokens/x/rotate", url.Values{"overlap": {"0"}}, forbidden, forbidden},
		"GET /console/audit":                          {"/console/audit", nil, forbidden, allowed},
		"GET /console/audit/verify":                   {"/console/audit/verify", nil, forbidden, allowed},
		"GET /console/audit/export":                   {"/console/audit/export", nil, forbidden, allowed},
		"GET /console/accounts":                       {"/console/accounts", nil, forbidden, forbidden},
		"POST /console/accounts":                      {"/console/accounts", url.Values{"name": {"eve"}, "role": {"admin"}}, forbidden, forbidden},
		"POST /console/accounts/{id}/invite":          {"/console/accounts/" + adminID + "/invite", url.Values{"revoke": {"passkeys"}}, forbidden, forbidden},
		"POST /console/accounts/{id}/passkeys/revoke": {"/console/accounts/" + adminID + "/passkeys/revoke", nil, forbidden, forbidden},
		"POST /console/accounts/{id}/disable":         {"/console/accounts/" + adminID + "/disable", nil, forbidden, forbidden},
		"POST /console/accounts/{id}/enable":          {"/console/accounts/" + adminID + "/enable", nil, forbidden, forbidden},
		"GET /console/reviews":                        {"/console/reviews", nil, forbidden, allowed},
		"POST /console/reviews":                       {"/console/reviews", url.Values{"name": {"q"}, "due": {"48h"}}, forbidden, forbidden},
		"POST /console/reviews/run":                   {"/console/reviews/run", nil, forbidden, forbidden},
		"GET /console/reviews/{id}":                   {"/console/reviews/x", nil, forbidden, http.StatusNotFound},
		"GET /console/reviews/{id}/export":            {"/console/reviews/x/export?format=csv", nil, forbidden, http.StatusNotFound},
		"GET /console/findings":                       {"/console/findings", nil, forbidden, allowed},
		"GET /console/findings/export":                {"/console/findings/export?format=csv", nil, forbidden, allowed},
		"POST /console/findings/{id}/remediate":       {"/console/findings/x/remediate", nil, forbidden, forbidden},
		"GET /console/my-reviews":                     {"/console/my-reviews", nil, allowed, forbidden},
		"POST /console/review-items/{id}":             {"/console/review-items/no-such-item", url.Values{"decision": {"revoke"}}, forbidden, forbidden},
		"GET /console/site/{$}":                       {"/console/site/", nil, allowed, forbidden},
		"GET /console/site/live":                      {"/console/site/live", nil, allowed, forbidden},
		"GET /console/site/events":                    {"/console/site/events", nil, skip, forbidden},
		"GET /console/site/users/{id}":                {"/console/site/users/" + w.southUser.ID, nil, forbidden, forbidden},
		"POST /console/site/sessions/{id}/signout":    {"/console/site/sessions/" + w.southSession.ID + "/signout", nil, forbidden, forbidden},
		"POST /console/site/devices/{id}/signout":     {"/console/site/devices/" + w.southKiosk.ID + "/signout", nil, forbidden, forbidden},
		"POST /console/site/enrollments":              {"/console/site/enrollments", url.Values{"user": {w.northUser.UserName}, "device": {w.southKiosk.ID}}, forbidden, forbidden},
		"POST /console/site/grants":                   {"/console/site/grants", url.Values{"user": {w.northUser.UserName}, "role": {"Nurse"}, "site": {"south"}, "until": {"4h"}, "reason": {"x"}}, forbidden, forbidden},
		"POST /console/site/grants/{id}/revoke":       {"/console/site/grants/" + w.southGrant.ID + "/revoke", nil, forbidden, forbidden},
		"POST /console/site/extensions":               {"/console/site/extensions", url.Values{"user": {w.southUser.UserName}, "site": {"south"}, "until": {"1h"}, "reason": {"x"}}, forbidden, forbidden},
	}
	// A site route given a record that exists nowhere is 403 as well.
	nowhere := map[string]string{
		"GET /console/site/users/{id}":             "/console/site/users/no-such-user",
		"POST /console/site/sessions/{id}/signout": "/console/site/sessions/no-such-session/signout",
		"POST /console/site/devices/{id}/signout":  "/console/site/devices/no-such-kiosk/signout",
		"POST /console/site/grants/{id}/revoke":    "/console/site/grants/no-such-grant/revoke",
	}

	routes := registeredRoutes(t)
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt.method+" "+rt.pattern] = true
	}
	for k := range rows {
		if !seen[k] {
			t.Errorf("the matrix names %s, which console.go does not register", k)
		}
	}

	before := auditCount(t, h)
	for _, rt := range routes {
		key := rt.method + " " + rt.pattern
		rw, ok := rows[key]
		if !ok {
			t.Errorf("console.go registers %s (%s) and the matrix has no row for it: add one", key, rt.level)
			continue
		}
		if rt.level == "adminOnly" && rw.sup != forbidden {
			t.Errorf("%s is for admins, and the matrix lets a supervisor through", key)
		}
		post := rt.method == http.MethodPost
		// What an auditor may reach, whatever a row says: its own
		// account, and the evidence, which is read only.
		switch {
		case rt.level == "evidence" && rt.method != http.MethodGet:
			t.Errorf("%s is an evidence route, which auditors reach: it must be a GET", key)
		case rt.level != "public" && rt.level != "signedIn" && rt.level != "evidence" && rw.aud != forbidden:
			t.Errorf("%s is for %s, and the matrix lets an auditor through", key, rt.level)
		}
		form := func(csrf string) url.Values {
			f := url.Values{}
			for k, v := range rw.form {
				f[k] = slices.Clone(v)
			}
			if csrf != "" {
				f.Set("csrf", csrf)
			}
			return f
		}

		// Another origin: every POST, public or not.
		if post {
			for _, hdr := range [][]string{{"Origin", "https://evil.example"}, {"Origin", "null"}, {"Sec-Fetch-Site", "same-site"}, {"Sec-Fetch-Site", "cross-site"}} {
				if r := admin.do("POST", rw.path, form(admin.csrf), hdr...); r.Status != forbidden {
					t.Errorf("%s with %s: %s: %d, want 403", key, hdr[0], hdr[1], r.Status)
				}
			}
		}
		if rt.level == "public" {
			continue
		}

		// No session.
		r := anon.do(rt.method, rw.path, form(""))
		switch {
		case !post && (r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin?next=")):
			t.Errorf("%s without a session: %d %q, want a redirect to sign-in", key, r.Status, r.location())
		case post && r.Status != http.StatusUnauthorized:
			t.Errorf("%s without a session: %d, want 401", key, r.Status)
		}

		if post {
			// No CSRF token, or a made-up one.
			for _, tok := range []string{"", "forged"} {
				if r := admin.do("POST", rw.path, form(tok)); r.Status != forbidden {
					t.Errorf("%s with CSRF token %q: %d, want 403", key, tok, r.Status)
				}
			}
		} else {
			// Another site has the browser fetch the page: an image, a
			// script, a fetch, a frame.
			for _, hdr := range [][]string{
				{"Sec-Fetch-Site", "same-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"},
				{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty"},
				{"Sec-Fetch-Site", "same-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"},
			} {
				if r := admin.do("GET", rw.path, nil, hdr...); r.Status != forbidden {
					t.Errorf("%s fetched by another site as %s: %d, want 403", key, hdr[5], r.Status)
				}
			}
		}

		// A supervisor of north, and an auditor.
		paths := []string{rw.path}
		if p, ok := nowhere[key]; ok {
			paths = append(paths, p)
		}
		for _, who := range []struct {
			name string
			c    *client
			want int
		}{{"supervisor of north", sup, rw.sup}, {"auditor", aud, rw.aud}} {
			if who.want == skip {
				continue
			}
			for _, p := range paths {
				var r resp
				if post {
					r = who.c.do("POST", p, form(who.c.csrf))
				} else {
					r = who.c.get(p)
				}
				got := r.Status
				if got == http.StatusSeeOther && who.want == allowed {
					got = allowed // "/console/" sends the account to its start page
				}
				if got != who.want {
					t.Errorf("%s: %s %s: %d, want %d", who.name, rt.method, p, r.Status, who.want)
				}
			}
		}
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{AfterSeq: before})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, rec := range recs {
		if rec.Actor == "console:ivy" && (rec.Action == "audit.verify" || rec.Action == "audit.export" || rec.Action == "findings.export") {
			continue // the auditor's own, allowed above
		}
		actions = append(actions, rec.Actor+" "+rec.Action)
	}
	if len(actions) > 0 || len(recs) != 3 {
		t.Errorf("the requests above wrote %d audit records: refusals wrote %v; the auditor's verification and exports one each", len(recs), actions)
	}
	for _, id := range []string{w.northSession.ID, w.southSession.ID} {
		if s, _ := h.Store().GetSession(t.Context(), id); !s.Ended.IsZero() {
			t.Errorf("kiosk session %s was ended", id)
		}
	}
	if r := admin.get("/console/dashboard"); r.Status != http.StatusOK {
		t.Errorf("the admin's session after the refusals: %d", r.Status)
	}
}
