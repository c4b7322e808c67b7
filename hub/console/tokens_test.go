package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

var newTokenOutput = regexp.MustCompile(`<output id="new-token">(sgt_[0-9a-f]{16}_[A-Za-z0-9_-]{43})</output>`)

// newTokenOn returns the token a create or rotate page shows once.
func newTokenOn(t *testing.T, r resp) string {
	t.Helper()
	m := newTokenOutput.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		t.Fatalf("no new token on the page: %d %s", r.Status, r.Body)
	}
	return m[1]
}

func idOf(plain string) string { return plain[len("sgt_") : len("sgt_")+16] }

// tokenRowOf returns the Tokens page's table row of token id.
func tokenRowOf(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr[^>]*data-token="` + id + `">.*?</tr>`).FindString(page)
	if m == "" {
		t.Fatalf("no row for token %s on the page", id)
	}
	return m
}

// tokenRecords returns the details of the audit records of action about
// token id.
func tokenRecords(t *testing.T, h *hubtest.Hub, action, id string) []store.AuditRecord {
	t.Helper()
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: action, Subject: "token:" + id})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func detailOf(t *testing.T, r store.AuditRecord) map[string]string {
	t.Helper()
	var d map[string]string
	if err := json.Unmarshal(r.Detail, &d); err != nil {
		t.Fatalf("detail %s: %v", r.Detail, err)
	}
	return d
}

// TestConsoleTokenCreateExpiry: the create form's expiry applies (the
// scope's default when none is chosen), is shown with the secret and is
// audited; "never", or more than two years, is refused.
func TestConsoleTokenCreateExpiry(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	now := clock.Now()
	for _, tc := range []struct {
		scope, expires string
		want           time.Time
	}{
		{"admin", "", now.Add(90 * 24 * time.Hour)},
		{"scim", "", now.Add(365 * 24 * time.Hour)},
		{"metrics", "30d", now.Add(30 * 24 * time.Hour)},
		{"scim", "2027-03-01", time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC)},
	} {
		if tc.want.Before(now) || tc.want.After(now.AddDate(2, 0, 0)) {
			continue // the date case, on a clock years from when it was written
		}
		r := admin.post("/console/tokens", url.Values{"name": {tc.scope + tc.expires}, "scope": {tc.scope}, "expires": {tc.expires}})
		plain := newTokenOn(t, r)
		tok, err := h.Store().GetToken(t.Context(), idOf(plain))
		if err != nil || !tok.Expires.Equal(tc.want) {
			t.Errorf("%s %q: expires %v, %v; want %v", tc.scope, tc.expires, tok.Expires, err, tc.want)
		}
		if !strings.Contains(r.Body, `id="new-token-expires">`+tc.want.Format("2006-01-02 15:04:05Z")) {
			t.Errorf("%s %q: the page does not show the expiry %v", tc.scope, tc.expires, tc.want)
		}
		recs := tokenRecords(t, h, "token.create", tok.ID)
		if len(recs) != 1 || detailOf(t, recs[0])["expires"] != tc.want.Format(time.RFC3339) || !strings.HasPrefix(recs[0].Actor, "console:") {
			t.Errorf("%s %q: token.create records %+v; want one by the console with the expiry", tc.scope, tc.expires, recs)
		}
	}
	for _, expires := range []string{"never", "0", "732d", now.AddDate(2, 0, 1).Format(time.DateOnly)} {
		r := admin.post("/console/tokens", url.Values{"name": {"x"}, "scope": {"admin"}, "expires": {expires}})
		if r.Status != http.StatusBadRequest || strings.Contains(r.Body, "sgt_") {
			t.Errorf("expires %q: %d; want 400 and no token", expires, r.Status)
		}
	}
}

// TestConsoleTokenRotate: the Rotate button issues a new token of the
// same name and scope, shown once; the old one works for the overlap and
// is refused after it, the new one throughout; the rotation is audited
// with both IDs; a rotated or revoked token cannot be rotated (409).
func TestConsoleTokenRotate(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	oldPlain := newTokenOn(t, admin.post("/console/tokens", url.Values{"name": {"entra"}, "scope": {"scim"}}))
	oldID := idOf(oldPlain)
	page := admin.get("/console/tokens").Body
	if row := tokenRowOf(t, page, oldID); !strings.Contains(row, `action="/console/tokens/`+oldID+`/rotate"`) || !strings.Contains(row, `name="csrf"`) {
		t.Fatalf("no rotate form with a CSRF token in the row: %s", row)
	}
	if r := admin.do("POST", "/console/tokens/"+oldID+"/rotate", url.Values{"overlap": {"1h"}}); r.Status != http.StatusForbidden {
		t.Errorf("rotate without the CSRF token: %d, want 403", r.Status)
	}

	r := admin.post("/console/tokens/"+oldID+"/rotate", url.Values{"overlap": {"1h"}, "expires": {"60d"}})
	newPlain := newTokenOn(t, r)
	newID := idOf(newPlain)
	if !strings.Contains(r.Body, `id="rotated"`) || !strings.Contains(r.Body, oldID) {
		t.Errorf("the page does not say which token the new one replaces and until when")
	}
	now := clock.Now()
	old, _ := h.Store().GetToken(t.Context(), oldID)
	next, _ := h.Store().GetToken(t.Context(), newID)
	if !old.Expires.Equal(now.Add(time.Hour)) || old.ReplacedBy != newID {
		t.Errorf("rotated token: expires %v, replaced by %q; want %v, %s", old.Expires, old.ReplacedBy, now.Add(time.Hour), newID)
	}
	if next.Name != "entra" || next.Scope != store.ScopeSCIM || !next.Expires.Equal(now.Add(60*24*time.Hour)) {
		t.Errorf("successor %+v", next)
	}
	recs := tokenRecords(t, h, "token.rotate", oldID)
	if len(recs) != 1 {
		t.Fatalf("%d token.rotate records, want 1", len(recs))
	}
	if d := detailOf(t, recs[0]); d["old_id"] != oldID || d["new_id"] != newID || strings.Contains(string(recs[0].Detail), newPlain[len("sgt_")+17:]) {
		t.Errorf("token.rotate detail %s; want both IDs and no secret", recs[0].Detail)
	}

	for _, p := range []string{oldPlain, newPlain} {
		if got := h.DoToken(t, p, "GET", "/scim/v2/Users", nil); got.Status != http.StatusOK {
			t.Errorf("during the overlap: %d", got.Status)
		}
	}
	if row := tokenRowOf(t, admin.get("/console/tokens").Body, oldID); !strings.Contains(row, "rotated to "+newID) || strings.Contains(row, "/rotate") {
		t.Errorf("the rotated token's row: %s; want it marked rotated, with no rotate form", row)
	}
	if r := admin.post("/console/tokens/"+oldID+"/rotate", url.Values{"overlap": {"0"}}); r.Status != http.StatusConflict || !strings.Contains(r.Body, newID) {
		t.Errorf("rotating again: %d; want 409 naming the successor", r.Status)
	}
	clock.Advance(time.Hour) // the admin's session idles out: from here on, bearer tokens only
	if got := h.DoToken(t, oldPlain, "GET", "/scim/v2/Users", nil); got.Status != http.StatusUnauthorized {
		t.Errorf("the old token after the overlap: %d, want 401", got.Status)
	}
	if got := h.DoToken(t, newPlain, "GET", "/scim/v2/Users", nil); got.Status != http.StatusOK {
		t.Errorf("the new token after the overlap: %d", got.Status)
	}
}

// TestConsoleTokenRotateNow: with no overlap the old token is refused by
// the very next request, although the hub verified it a moment before
// (the rotation drops it from the verification cache); a revoked token
// cannot be rotated.
func TestConsoleTokenRotateNow(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	plain := newTokenOn(t, admin.post("/console/tokens", url.Values{"name": {"ci"}, "scope": {"admin"}}))
	if got := h.DoToken(t, plain, "GET", "/metrics", nil); got.Status != http.StatusOK {
		t.Fatalf("new admin token: %d", got.Status)
	}
	r := admin.post("/console/tokens/"+idOf(plain)+"/rotate", url.Values{"overlap": {"0"}})
	next := newTokenOn(t, r)
	if !strings.Contains(r.Body, "refused from now on") {
		t.Errorf("the page does not say the old token stopped")
	}
	if got := h.DoToken(t, plain, "GET", "/metrics", nil); got.Status != http.StatusUnauthorized {
		t.Errorf("the old token right after rotate with no overlap: %d, want 401", got.Status)
	}
	if got := h.DoToken(t, next, "GET", "/metrics", nil); got.Status != http.StatusOK {
		t.Errorf("the new token: %d", got.Status)
	}
	if r := admin.post("/console/tokens/"+idOf(next)+"/revoke", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.Status)
	}
	if r := admin.post("/console/tokens/"+idOf(next)+"/rotate", nil); r.Status != http.StatusConflict || !strings.Contains(r.Body, "revoked") {
		t.Errorf("rotating a revoked token: %d; want 409 saying it is revoked", r.Status)
	}
	if r := admin.post("/console/tokens/0000000000000000/rotate", nil); r.Status != http.StatusNotFound {
		t.Errorf("rotating an unknown token: %d, want 404", r.Status)
	}
	if r := admin.post("/console/tokens/"+idOf(next)+"/rotate", url.Values{"overlap": {"8d"}}); r.Status != http.StatusBadRequest {
		t.Errorf("an overlap of 8 days: %d, want 400", r.Status)
	}
}

// TestConsoleTokenStates: the Tokens page shows each token's expiry and
// state, and highlights those that expire within 14 days and those that
// never expire (from before tokens expired).
func TestConsoleTokenStates(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	admin := bootstrapAdmin(t, h)
	now := clock.Now()
	put := func(name string, expires time.Time) string {
		_, tok, err := token.New(name, store.ScopeSCIM, now)
		if err != nil {
			t.Fatal(err)
		}
		tok.Expires = expires
		if _, err := h.Store().CreateToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		return tok.ID
	}
	active := put("active", now.Add(200*24*time.Hour))
	soon := put("soon", now.Add(3*24*time.Hour))
	legacy := put("legacy", time.Time{})
	expired := put("expired", now.Add(-time.Hour))
	// Rotated to active, in its overlap: nothing to act on.
	_, old, err := token.New("rotated", store.ScopeSCIM, now)
	if err != nil {
		t.Fatal(err)
	}
	old.Expires, old.ReplacedBy = now.Add(12*time.Hour), active
	if _, err := h.Store().CreateToken(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	page := admin.get("/console/tokens").Body
	for _, tc := range []struct {
		id, label string
		soon      bool
	}{
		{active, "active", false},
		{soon, "expires in 3 days", true},
		{legacy, "no expiry: rotate", true},
		{expired, "expired", false},
		{old.ID, "(rotated to " + active + ")", false},
	} {
		row := tokenRowOf(t, page, tc.id)
		if !strings.Contains(row, tc.label) || strings.Contains(row, `class="soon"`) != tc.soon {
			t.Errorf("row of %s: %s; want %q, highlighted %v", tc.id, row, tc.label, tc.soon)
		}
	}
	if row := tokenRowOf(t, page, legacy); !strings.Contains(row, "<td>never</td>") {
		t.Errorf("a token without expiry: %s; want its expiry shown as never", row)
	}
}

// TestConsoleTokenNameChecked: the create form refuses a name with a
// control character (an admin could otherwise hide a token from whoever
// reads token list in a terminal, with an escape sequence that erases
// its row) with 400 and the reason, and makes no token.
func TestConsoleTokenNameChecked(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	before, err := h.Store().ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ci\x1b[1A\x1b[2K", "ci\nprod", "ci\u202eprod", strings.Repeat("n", 101)} {
		r := admin.post("/console/tokens", url.Values{"name": {name}, "scope": {"admin"}})
		if r.Status != http.StatusBadRequest || strings.Contains(r.Body, "sgt_") || !strings.Contains(r.Body, "name") {
			t.Errorf("name %q: %d; want 400 saying what is wrong with the name, and no token", name, r.Status)
		}
	}
	if ts, err := h.Store().ListTokens(t.Context()); err != nil || len(ts) != len(before) {
		t.Errorf("tokens stored: %d, %v; want no new one", len(ts), err)
	}
}

// TestConsoleTokenRotateAfterSuccessorRevoked: once the successor of a
// rotated token is revoked, the old token's row offers Rotate again, and
// rotating it issues a new successor (201); it is refused (409) while
// the successor is in use.
func TestConsoleTokenRotateAfterSuccessorRevoked(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	oldID := idOf(newTokenOn(t, admin.post("/console/tokens", url.Values{"name": {"entra"}, "scope": {"scim"}})))
	first := idOf(newTokenOn(t, admin.post("/console/tokens/"+oldID+"/rotate", url.Values{"overlap": {"24h"}})))
	if r := admin.post("/console/tokens/"+oldID+"/rotate", url.Values{"overlap": {"24h"}}); r.Status != http.StatusConflict {
		t.Errorf("rotating again while the successor is in use: %d, want 409", r.Status)
	}
	if r := admin.post("/console/tokens/"+first+"/revoke", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke the successor: %d", r.Status)
	}
	if row := tokenRowOf(t, admin.get("/console/tokens").Body, oldID); !strings.Contains(row, `action="/console/tokens/`+oldID+`/rotate"`) {
		t.Errorf("the row of a token whose successor was revoked offers no Rotate: %s", row)
	}
	second := idOf(newTokenOn(t, admin.post("/console/tokens/"+oldID+"/rotate", url.Values{"overlap": {"24h"}})))
	if old, err := h.Store().GetToken(t.Context(), oldID); err != nil || old.ReplacedBy != second {
		t.Errorf("the old token: %+v, %v; want it replaced by %s", old, err, second)
	}
}
