package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestAdminTokenRevokedWithItsMaker: the admin xena, linked to her hub
// user, makes an admin, a SCIM and a metrics token on the Tokens page and
// uses each. Her account is then disabled, by another admin's Disable or
// by the leaver path (the identity provider sets her inactive). Her admin
// token is refused (401) from the next request on, on a clock that does
// not move, so not after the token verifier's cache time but because the
// disabling made it forget the token; the token is stored revoked, and a
// token.revoke by whoever disabled the account says why. Her SCIM and
// metrics tokens keep working (revoking a SCIM token would stop
// provisioning for everyone): they are reported as
// orphaned/token_of_inactive_maker instead, and the revoked admin token
// is not. Enabling her account again does not bring the token back.
func TestAdminTokenRevokedWithItsMaker(t *testing.T) {
	for _, tc := range []struct {
		name string
		// disable disables xena's account (ID acct, hub user userID) as
		// actor does.
		disable func(t *testing.T, h *hubtest.Hub, admin *client, acct, userID string)
		actor   string // "" for the SCIM token's
	}{
		{
			name: "admin disables the account",
			disable: func(t *testing.T, h *hubtest.Hub, admin *client, acct, _ string) {
				if r := admin.post("/console/accounts/"+acct+"/disable", nil); r.Status != http.StatusSeeOther {
					t.Fatalf("disable xena: %d %s", r.Status, r.Body)
				}
			},
			actor: "console:ada@example.org",
		},
		{
			name: "leaver path",
			disable: func(t *testing.T, h *hubtest.Hub, _ *client, _, userID string) {
				scimPatch(t, h, userID, map[string]any{"active": false})
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hubtest.Start(t, hubtest.Options{Clock: hubtest.NewClock(time.Now())})
			admin := bootstrapAdmin(t, h)
			userID := scimUser(t, h, "xena", nil)
			xena := newClient(t, h, nil)
			if r := xena.register(admin.invite("xena", store.ConsoleAdmin)); r.Status != http.StatusOK {
				t.Fatalf("register xena: %d %s", r.Status, r.Body)
			}
			acct := account(t, h, "xena")
			if acct.UserID != userID {
				t.Fatalf("xena's account is linked to %q, want %s", acct.UserID, userID)
			}
			adminTok := newTokenOn(t, xena.post("/console/tokens", url.Values{"name": {"xena-scripts"}, "scope": {"admin"}}))
			scimTok := newTokenOn(t, xena.post("/console/tokens", url.Values{"name": {"okta-prod"}, "scope": {"scim"}}))
			metricsTok := newTokenOn(t, xena.post("/console/tokens", url.Values{"name": {"prometheus"}, "scope": {"metrics"}}))
			works := func(what, tok, path string) int {
				t.Helper()
				return h.DoToken(t, tok, "GET", path, nil).Status
			}
			// Each is verified, and so remembered by the verifier, before
			// the disable.
			for _, c := range []struct{ what, tok, path string }{
				{"admin", adminTok, "/api/v1/policy"}, {"SCIM", scimTok, "/scim/v2/Users"}, {"metrics", metricsTok, "/metrics"},
			} {
				if s := works(c.what, c.tok, c.path); s != http.StatusOK {
					t.Fatalf("xena's %s token before: %d, want 200", c.what, s)
				}
			}

			tc.disable(t, h, admin, acct.ID, userID)

			if a := account(t, h, "xena"); a.Disabled.IsZero() {
				t.Fatalf("xena's account is enabled after the disable")
			}
			if s := works("admin", adminTok, "/api/v1/policy"); s != http.StatusUnauthorized {
				t.Errorf("xena's admin token after her account was disabled: %d, want 401 at once", s)
			}
			if s := works("SCIM", scimTok, "/scim/v2/Users"); s != http.StatusOK {
				t.Errorf("xena's SCIM token after her account was disabled: %d, want 200 (it keeps provisioning)", s)
			}
			if s := works("metrics", metricsTok, "/metrics"); s != http.StatusOK {
				t.Errorf("xena's metrics token after her account was disabled: %d, want 200", s)
			}
			for _, c := range []struct {
				tok     string
				revoked bool
			}{{adminTok, true}, {scimTok, false}, {metricsTok, false}} {
				got, err := h.Store().GetToken(t.Context(), idOf(c.tok))
				if err != nil || got.Revoked.IsZero() == c.revoked {
					t.Errorf("token %s (%s) after the disable: %+v, %v; want revoked %v", idOf(c.tok), got.Scope, got, err, c.revoked)
				}
			}
			recs := tokenRecords(t, h, "token.revoke", idOf(adminTok))
			if len(recs) != 1 {
				t.Fatalf("token.revoke records of xena's admin token: %d, want 1", len(recs))
			}
			d := detailOf(t, recs[0])
			if d["reason"] != token.ReasonMakerDisabled || d["name"] != "xena-scripts" || d["scope"] != store.ScopeAdmin || d["madeBy"] != acct.ID {
				t.Errorf("token.revoke detail %v, want the token's name and scope, its maker and the reason %q", d, token.ReasonMakerDisabled)
			}
			if tc.actor != "" && recs[0].Actor != tc.actor || tc.actor == "" && recs[0].System != "scim" {
				t.Errorf("token.revoke by %s (%s), want the disabling actor", recs[0].Actor, recs[0].System)
			}
			for _, tok := range []string{scimTok, metricsTok} {
				if recs := tokenRecords(t, h, "token.revoke", idOf(tok)); len(recs) != 0 {
					t.Errorf("token %s was recorded revoked: %d records", idOf(tok), len(recs))
				}
			}

			fs := h.DoToken(t, adminTokOf(t, h), "GET", "/api/v1/findings", nil)
			if fs.Status != http.StatusOK {
				t.Fatalf("findings: %d %s", fs.Status, fs.Body)
			}
			for _, c := range []struct {
				tok  string
				want bool
			}{{adminTok, false}, {scimTok, true}, {metricsTok, true}} {
				if got := containsEntitlement(fs.Body, "token:"+idOf(c.tok)); got != c.want {
					t.Errorf("a finding about token %s: %v, want %v", idOf(c.tok), got, c.want)
				}
			}

			if tc.actor == "" {
				return // the leaver's account is enabled once the user is back
			}
			if r := admin.post("/console/accounts/"+acct.ID+"/enable", nil); r.Status != http.StatusCreated {
				t.Fatalf("enable xena again: %d %s", r.Status, r.Body)
			}
			if s := works("admin", adminTok, "/api/v1/policy"); s != http.StatusUnauthorized {
				t.Errorf("xena's admin token after her account was enabled again: %d, want 401 (a revocation is final)", s)
			}
		})
	}
}

// adminTokOf makes an admin token as the CLI operator would, to read
// the findings with.
func adminTokOf(t *testing.T, h *hubtest.Hub) string {
	t.Helper()
	return h.Token(t, "auditor", store.ScopeAdmin)
}

// containsEntitlement reports whether the findings answer body names
// entitlement ent.
func containsEntitlement(body []byte, ent string) bool {
	return regexp.MustCompile(`"entitlement":\s*"` + regexp.QuoteMeta(ent) + `"`).Match(body)
}
