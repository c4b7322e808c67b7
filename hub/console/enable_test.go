package console_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// auditOf returns the records of action about the console account with
// that ID.
func auditOf(t *testing.T, h *hubtest.Hub, accountID, action string) []store.AuditRecord {
	t.Helper()
	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Subjects: []string{"console:" + accountID}, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// registerBegin starts a registration with an invite token and returns
// the status, without making a passkey.
func registerBegin(t *testing.T, h *hubtest.Hub, token string) resp {
	t.Helper()
	return newClient(t, h, nil).do("POST", "/console/auth/register/begin", map[string]string{"token": token})
}

// TestAdminEnablesAccount: a supervisor disabled as a leaver comes back
// only when an admin enables the account, and only after the identity
// provider enabled its hub user. Enabling shows a new one-time link; the
// account's old passkey and its earlier link stay refused, the link
// registers a passkey that signs in, and the audit trail has a
// console.account_enable with the revoked passkey. Only admins enable,
// never their own account, only disabled accounts, and only through a
// form with the CSRF token.
func TestAdminEnablesAccount(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	samID := scimUser(t, h, "Sam", map[string]any{"sites": []string{"north"}})
	sam := admin.supervisor("sam", "north")
	lee := admin.supervisor("lee", "north")
	acct := account(t, h, "sam")
	enable := "/console/accounts/" + acct.ID + "/enable"
	// A link sent before Sam left: enabling must not make it work again.
	oldLink := sam.addPasskey()

	scimPatch(t, h, samID, map[string]any{"active": false})
	if a := account(t, h, "sam"); a.Disabled.IsZero() {
		t.Fatalf("sam's console account is enabled after the leaver: %+v", a)
	}
	if r := admin.get("/console/accounts"); r.Status != http.StatusOK || !strings.Contains(r.Body, `action="`+enable+`"`) {
		t.Errorf("accounts page: %d, want an Enable form for the disabled account", r.Status)
	}

	stillDisabled := func(when string) {
		t.Helper()
		if a := account(t, h, "sam"); a.Disabled.IsZero() {
			t.Fatalf("%s: the account is enabled: %+v", when, a)
		}
		if n := len(auditOf(t, h, acct.ID, "console.account_enable")); n != 0 {
			t.Fatalf("%s: %d console.account_enable records, want none", when, n)
		}
	}
	if r := admin.post(enable, nil); r.Status != http.StatusConflict || !strings.Contains(r.Body, "enable the user in the identity provider first") {
		t.Errorf("enable while the hub user is disabled: %d %s, want 409 naming the identity provider", r.Status, r.Body)
	}
	stillDisabled("hub user disabled")

	scimPatch(t, h, samID, map[string]any{"active": true})
	if r := lee.post(enable, nil); r.Status != http.StatusForbidden {
		t.Errorf("a supervisor enabling an account: %d, want 403", r.Status)
	}
	stillDisabled("supervisor")
	if r := admin.do("POST", enable, url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("enable without the CSRF token: %d, want 403", r.Status)
	}
	stillDisabled("no CSRF token")
	if r := admin.post("/console/accounts/"+account(t, h, "ada@example.org").ID+"/enable", nil); r.Status != http.StatusBadRequest {
		t.Errorf("an admin enabling their own account: %d %s, want 400", r.Status, r.Body)
	}

	r := admin.post(enable, nil)
	m := inviteToken.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		t.Fatalf("enable: %d %s, want 201 with a new link", r.Status, r.Body)
	}
	if a := account(t, h, "sam"); !a.Disabled.IsZero() {
		t.Fatalf("the account is still disabled: %+v", a)
	}
	if r := newClient(t, h, sam.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("sam's old passkey after the enable: %d %s, want 401", r.Status, r.Body)
	}
	if r := registerBegin(t, h, oldLink); r.Status != http.StatusGone {
		t.Errorf("the link sent before the enable: %d %s, want 410", r.Status, r.Body)
	}
	fresh := newClient(t, h, nil)
	if r := fresh.register(m[1]); r.Status != http.StatusOK {
		t.Fatalf("register with the enable link: %d %s", r.Status, r.Body)
	}
	again := newClient(t, h, fresh.badge)
	if r := again.signin(); r.Status != http.StatusOK {
		t.Fatalf("sign-in with the new passkey: %d %s", r.Status, r.Body)
	}
	if r := again.get("/console/site/"); r.Status != http.StatusOK {
		t.Errorf("site page after the enable: %d", r.Status)
	}
	if r := newClient(t, h, sam.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("sam's old passkey after the new one registered: %d %s, want 401", r.Status, r.Body)
	}
	if r := registerBegin(t, h, m[1]); r.Status != http.StatusGone {
		t.Errorf("the enable link a second time: %d, want 410", r.Status)
	}

	recs := auditOf(t, h, acct.ID, "console.account_enable")
	if len(recs) != 1 {
		t.Fatalf("console.account_enable records = %+v, want one", recs)
	}
	var detail struct {
		Name            string   `json:"name"`
		PasskeysRevoked []string `json:"passkeysRevoked"`
		LinksVoided     int      `json:"linksVoided"`
	}
	if err := json.Unmarshal(recs[0].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(recs[0].Actor, "ada@example.org") || detail.Name != "sam" || len(detail.PasskeysRevoked) != 1 || detail.LinksVoided != 1 {
		t.Errorf("audit record by %s: %+v; want ada's, naming sam, one passkey revoked, one link voided", recs[0].Actor, detail)
	}

	if r := admin.post(enable, nil); r.Status != http.StatusConflict {
		t.Errorf("enabling an enabled account: %d %s, want 409", r.Status, r.Body)
	}
}

// TestBootstrapRefusesGoneHubUser: `admin bootstrap` naming an account
// whose hub user has left (disabled, or deleted) is refused up front with
// ErrHubUserGone, force or not, for an existing account and for a new
// one, and changes nothing. Once the identity provider enables the user,
// bootstrap works; a link it printed still cannot register while the
// user is gone again.
func TestBootstrapRefusesGoneHubUser(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	st := h.Store()
	admin := bootstrapAdmin(t, h)
	kimID := scimUser(t, h, "kim@example.org", nil)
	kim := newClient(t, h, nil)
	if r := kim.register(admin.invite("Kim@Example.org", store.ConsoleAdmin)); r.Status != http.StatusOK {
		t.Fatalf("register kim: %d %s", r.Status, r.Body)
	}
	kimAcct := account(t, h, "kim@example.org")
	scimPatch(t, h, kimID, map[string]any{"active": false})
	leeID := scimUser(t, h, "lee@example.org", nil)
	if r := h.Do(t, "DELETE", "/scim/v2/Users/"+leeID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("SCIM DELETE lee: %d %s", r.Status, r.Body)
	}

	for _, name := range []string{"KIM@example.org", "lee@example.org"} {
		_, err := console.Bootstrap(ctx, st, auditLog(t, h), name, true, time.Now())
		if !errors.Is(err, console.ErrHubUserGone) || !strings.Contains(err.Error(), "identity provider") {
			t.Errorf("bootstrap %s: %v, want ErrHubUserGone saying to enable the user in the identity provider", name, err)
		}
	}
	if a := account(t, h, "kim@example.org"); a.Disabled.IsZero() {
		t.Errorf("a refused bootstrap enabled kim's account: %+v", a)
	}
	if n := len(auditOf(t, h, kimAcct.ID, "console.bootstrap")); n != 0 {
		t.Errorf("%d console.bootstrap records for kim after the refusal, want none", n)
	}
	if _, err := st.GetConsoleAccountByName(ctx, "lee@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused bootstrap made an account for lee: %v", err)
	}

	scimPatch(t, h, kimID, map[string]any{"active": true})
	tok, err := console.Bootstrap(ctx, st, auditLog(t, h), "kim@example.org", true, time.Now())
	if err != nil {
		t.Fatalf("bootstrap after the re-hire: %v", err)
	}
	// The user leaves again past the lifecycle engine (which would also
	// disable the account): the registration still refuses the link.
	setState := func(state store.UserState) {
		t.Helper()
		if _, err := st.UpdateUser(ctx, kimID, func(u store.User) (store.User, error) {
			u.State, u.Active = state, state == store.UserActive
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setState(store.UserDisabled)
	if r := registerBegin(t, h, tok); r.Status != http.StatusForbidden {
		t.Errorf("bootstrap link while the hub user is disabled: %d %s, want 403", r.Status, r.Body)
	}
	setState(store.UserActive)
	fresh := newClient(t, h, nil)
	if r := fresh.register(tok); r.Status != http.StatusOK {
		t.Fatalf("bootstrap link with the hub user active: %d %s", r.Status, r.Body)
	}
	if r := newClient(t, h, kim.badge).signin(); r.Status != http.StatusUnauthorized {
		t.Errorf("kim's passkey from before the leaver: %d, want 401", r.Status)
	}
}

// TestBootstrapFindsAccountUnderUnicodeName: `admin bootstrap` finds an
// existing account as the store compares names (case, and how an accent
// is encoded), so a name typed with a decomposed É in another case reuses
// the admin account "Élodie" rather than colliding with it.
func TestBootstrapFindsAccountUnderUnicodeName(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	st := h.Store()
	if _, err := console.Bootstrap(ctx, st, auditLog(t, h), "Élodie", false, time.Now()); err != nil {
		t.Fatalf("bootstrap Élodie: %v", err)
	}
	if _, err := console.Bootstrap(ctx, st, auditLog(t, h), "E\u0301LODIE", false, time.Now()); err != nil {
		t.Fatalf("bootstrap E\\u0301LODIE again, before any passkey: %v, want the account Élodie reused", err)
	}
	all, err := st.ListConsoleAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Name != "Élodie" {
		t.Errorf("accounts %+v, want the one account Élodie", all)
	}
}
