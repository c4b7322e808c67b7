package hub_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// storeToken stores a token of scope that expires at expires (zero: a
// token from before tokens expired) and returns its plaintext and record.
func storeToken(t *testing.T, h *hubtest.Hub, name, scope string, now, expires time.Time) (string, store.Token) {
	t.Helper()
	plain, tok, err := token.New(name, scope, now)
	if err != nil {
		t.Fatal(err)
	}
	tok.Expires = expires
	if _, err := h.Store().CreateToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return plain, tok
}

// TestSCIMExpiredToken: an expired SCIM token is refused with 401 in the
// SCIM error schema, with the very answer an unknown token gets (nothing
// says the token exists); the hub logs which token (ID and name, never the
// secret) was refused as expired, once per hour however often the
// identity provider retries. The same goes for admin tokens on /api/v1
// and /metrics.
func TestSCIMExpiredToken(t *testing.T) {
	var logs syncBuffer
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	now := clock.Now()
	scim, scimTok := storeToken(t, h, "okta-prod", store.ScopeSCIM, now, now.Add(time.Hour))
	admin, adminTok := storeToken(t, h, "ops-script", store.ScopeAdmin, now, now.Add(time.Hour))
	unknown := "sgt_0000000000000000_" + scim[len(scim)-43:]

	want(t, h.DoToken(t, scim, "GET", "/scim/v2/Users", nil), 200)
	if r := h.DoToken(t, admin, "GET", "/api/v1/policy", nil); r.Status != http.StatusOK {
		t.Fatalf("admin token before its expiry: %d", r.Status)
	}
	clock.Advance(time.Hour - time.Millisecond)
	want(t, h.DoToken(t, scim, "GET", "/scim/v2/Users", nil), 200) // remembered by the verification cache
	clock.Advance(time.Millisecond)                                // its expiry, within the cache time

	for _, rt := range []struct{ tok, method, path string }{
		{scim, "GET", "/scim/v2/Users"},
		{scim, "POST", "/scim/v2/Users"},
		{admin, "GET", "/api/v1/policy"},
		{admin, "GET", "/metrics"},
	} {
		got := h.DoToken(t, rt.tok, rt.method, rt.path, `{}`)
		other := h.DoToken(t, unknown, rt.method, rt.path, `{}`)
		if got.Status != http.StatusUnauthorized || string(got.Body) != string(other.Body) ||
			got.Header.Get("WWW-Authenticate") != other.Header.Get("WWW-Authenticate") {
			t.Errorf("%s %s with an expired token: %d %s (%q); want 401 and what an unknown token gets: %s (%q)",
				rt.method, rt.path, got.Status, got.Body, got.Header.Get("WWW-Authenticate"), other.Body, other.Header.Get("WWW-Authenticate"))
		}
	}
	wantError(t, h.DoToken(t, scim, "GET", "/scim/v2/Users", nil), 401, "")

	for _, tok := range []store.Token{scimTok, adminTok} {
		if n := strings.Count(logs.String(), "token_id="+tok.ID); n != 1 {
			t.Errorf("%d warnings naming token %s, want 1:\n%s", n, tok.ID, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "token_name=okta-prod") {
		t.Errorf("the warning does not name the token:\n%s", logs.String())
	}
	for _, p := range []string{scim, admin} {
		if strings.Contains(logs.String(), p[len(p)-43:]) {
			t.Errorf("the log holds a token's secret:\n%s", logs.String())
		}
	}
	clock.Advance(time.Hour)
	wantError(t, h.DoToken(t, scim, "GET", "/scim/v2/Users", nil), 401, "")
	if n := strings.Count(logs.String(), "token_id="+scimTok.ID); n != 2 {
		t.Errorf("%d warnings naming the SCIM token an hour later, want 2", n)
	}
}

// TestTokensWithoutExpiryWarned: a hub starting on tokens from before
// tokens expired (a migrated database) keeps accepting them and warns how
// many never expire, and how to rotate them.
func TestTokensWithoutExpiryWarned(t *testing.T) {
	h1 := hubtest.Start(t, hubtest.Options{})
	legacy, tok := storeToken(t, h1, "entra", store.ScopeSCIM, time.Now(), time.Time{})
	storeToken(t, h1, "old-ops", store.ScopeAdmin, time.Now(), time.Time{})
	h1.Stop()

	var logs syncBuffer
	h2 := hubtest.Start(t, hubtest.Options{DataDir: h1.DataDir, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if !strings.Contains(logs.String(), `"2 API tokens never expire; rotate them: shiftgate-hub token rotate --id ID"`) || !strings.Contains(logs.String(), tok.ID+" (entra)") {
		t.Errorf("start-up log:\n%s\nwant a warning counting 2 tokens without expiry, naming them", logs.String())
	}
	want(t, h2.DoToken(t, legacy, "GET", "/scim/v2/Users", nil), 200)
}

// TestTokenExpiryMetric: /metrics exports each usable token's expiry, and
// how many never expire.
func TestTokenExpiryMetric(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	now := clock.Now()
	prom, promTok := storeToken(t, h, "prometheus", store.ScopeMetrics, now, now.Add(10*24*time.Hour))
	_, legacy := storeToken(t, h, "legacy", store.ScopeSCIM, now, time.Time{})
	_, revoked := storeToken(t, h, "revoked", store.ScopeSCIM, now, now.Add(time.Hour))
	if _, err := h.Store().UpdateToken(t.Context(), revoked.ID, func(old store.Token) (store.Token, error) {
		old.Revoked = now
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	r := h.DoToken(t, prom, "GET", "/metrics", nil)
	body := string(r.Body)
	wantLine := fmt.Sprintf(`shiftgate_api_token_expiry_timestamp_seconds{id="%s",name="prometheus",scope="metrics"} %s`,
		promTok.ID, strconv.FormatFloat(float64(promTok.Expires.Unix()), 'g', -1, 64))
	if r.Status != 200 || !strings.Contains(body, wantLine+"\n") {
		t.Errorf("/metrics: %d, no line %q in:\n%s", r.Status, wantLine, grepLines(body, "shiftgate_api_token"))
	}
	if !strings.Contains(body, "\nshiftgate_api_tokens_without_expiry 1\n") {
		t.Errorf("/metrics does not count the token without expiry:\n%s", grepLines(body, "shiftgate_api_token"))
	}
	for _, id := range []string{legacy.ID, revoked.ID} {
		if strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("/metrics exports the expiry of token %s, which has none or is revoked", id)
		}
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTokenExpiryMetricRotation: a token a rotation replaced is left out
// of the expiry gauge as soon as it is rotated, so that the alert on
// coming expiries does not fire for the overlap the rotation planned; its
// successor is in. Once the successor is revoked, nothing carries on
// after the old token, and it is in again. A token whose name is not
// UTF-8 (made by the CLI before names were checked) is exported too, its
// name made valid, instead of being left out of every scrape.
func TestTokenExpiryMetricRotation(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	now := clock.Now()
	prom, _ := storeToken(t, h, "prometheus", store.ScopeMetrics, now, now.Add(300*24*time.Hour))
	_, okta := storeToken(t, h, "okta", store.ScopeSCIM, now, now.Add(10*24*time.Hour))
	_, odd := storeToken(t, h, "odd", store.ScopeSCIM, now, now.Add(20*24*time.Hour))
	if _, err := h.Store().UpdateToken(t.Context(), odd.ID, func(old store.Token) (store.Token, error) {
		old.Name = "odd\xffname"
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	var rot token.Rotation
	if err := h.Store().InTx(t.Context(), func(tx store.Ops) error {
		var err error
		rot, err = token.Rotate(t.Context(), tx, okta.ID, now, 24*time.Hour, time.Time{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	series := func() string {
		t.Helper()
		r := h.DoToken(t, prom, "GET", "/metrics", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("/metrics: %d", r.Status)
		}
		return grepLines(string(r.Body), "shiftgate_api_token_expiry_timestamp_seconds{")
	}
	got := series()
	if strings.Contains(got, `id="`+okta.ID+`"`) || !strings.Contains(got, `id="`+rot.New.ID+`",name="okta"`) {
		t.Errorf("after a rotation the gauge holds:\n%s\nwant the successor %s, not the rotated token %s", got, rot.New.ID, okta.ID)
	}
	if !strings.Contains(got, `id="`+odd.ID+`",name="odd�name"`) {
		t.Errorf("the gauge holds:\n%s\nwant token %s, its name made UTF-8", got, odd.ID)
	}
	if _, err := h.Store().UpdateToken(t.Context(), rot.New.ID, func(old store.Token) (store.Token, error) {
		old.Revoked = now
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Second) // past the verification cache
	if got := series(); !strings.Contains(got, `id="`+okta.ID+`"`) || strings.Contains(got, `id="`+rot.New.ID+`"`) {
		t.Errorf("after the successor was revoked the gauge holds:\n%s\nwant the rotated token %s back, not the revoked %s", got, okta.ID, rot.New.ID)
	}
}
