package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// links returns the console.account_link records of the console account
// with that ID, newest first.
func links(t *testing.T, h *hubtest.Hub, accountID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, rec := range auditOf(t, h, accountID, "console.account_link") {
		d := map[string]any{"actor": rec.Actor, "system": rec.System}
		if err := json.Unmarshal(rec.Detail, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestRenamedHubUserKeepsConsole: a supervisor invited under their
// userName is linked to their hub user by ID. The identity provider
// renaming the user leaves the console account enabled and linked, under
// its own name: the supervisor keeps working, the Accounts page shows
// the hub user's new name, the console still knows the account for the
// user's (it may not extend its own shift), and the user's leaving
// disables the account and signs it out.
func TestRenamedHubUserKeepsConsole(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	samID := scimUser(t, h, "Sam", map[string]any{"sites": []string{"north"}})
	sup := admin.supervisor("sam", "north")
	acct := account(t, h, "sam")
	if acct.UserID != samID {
		t.Fatalf("invited account linked to %q, want sam's hub user %s", acct.UserID, samID)
	}
	if l := links(t, h, acct.ID); len(l) != 1 || l[0]["reason"] != "account created" || l[0]["user"] != samID || l[0]["userName"] != "Sam" ||
		!strings.Contains(l[0]["actor"].(string), "ada@example.org") {
		t.Errorf("console.account_link records of the invited account: %v", l)
	}

	scimPatch(t, h, samID, map[string]any{"userName": "sam.smith"})
	if r := sup.get("/console/site/"); r.Status != http.StatusOK {
		t.Errorf("site page after the rename: %d, want 200", r.Status)
	}
	if a := account(t, h, "sam"); !a.Disabled.IsZero() || a.UserID != samID {
		t.Errorf("account after the rename: %+v, want enabled and linked to %s", a, samID)
	}
	if n := len(consoleDisables(t, h, acct.ID)); n != 0 {
		t.Errorf("%d console.account_disable records after the rename, want none", n)
	}
	if r := admin.get("/console/accounts"); r.Status != http.StatusOK || !strings.Contains(r.Body, "<td>sam.smith</td>") {
		t.Errorf("accounts page after the rename: %d, want sam's hub user shown as sam.smith", r.Status)
	}
	if r := sup.post("/console/site/extensions", url.Values{"user": {"sam.smith"}, "until": {"2h"}, "reason": {"late handover"}}); r.Status != http.StatusForbidden ||
		!strings.Contains(r.Body, "your own shift") {
		t.Errorf("the renamed supervisor extending their own shift: %d %s, want 403", r.Status, r.Body)
	}

	scimPatch(t, h, samID, map[string]any{"active": false})
	signedOut(t, h, sup, w.northSession.ID)
	if a := account(t, h, "sam"); a.Disabled.IsZero() {
		t.Errorf("account after the renamed user left: %+v, want disabled", a)
	}
	if recs := consoleDisables(t, h, acct.ID); len(recs) != 1 {
		t.Errorf("console.account_disable records after the leaver: %d, want 1", len(recs))
	}
}

// TestBootstrapAdminLinkedBySCIM: the first admin is made by `admin
// bootstrap` before the identity provider provisions them, linked to
// nobody. The SCIM create of their userName (in any case) links the
// account, audited with the SCIM token as actor; from then on the admin
// may not review their own access, also after the identity provider
// renames them, and their leaving signs them out of the console.
func TestBootstrapAdminLinkedBySCIM(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	admin := bootstrapAdmin(t, h)
	acct := account(t, h, "ada@example.org")
	if acct.UserID != "" {
		t.Fatalf("bootstrapped admin linked to %q before any hub user", acct.UserID)
	}
	adaID := scimUser(t, h, "Ada@Example.org", map[string]any{"sites": []string{"north"}})
	if a := account(t, h, "ada@example.org"); a.UserID != adaID {
		t.Fatalf("admin account after the SCIM create: linked to %q, want %s", a.UserID, adaID)
	}
	if l := links(t, h, acct.ID); len(l) != 1 || l[0]["reason"] != "user created" || l[0]["user"] != adaID || l[0]["system"] != "scim" {
		t.Errorf("console.account_link records: %v, want one by the SCIM token", l)
	}

	scimPatch(t, h, adaID, map[string]any{"userName": "ada.lovelace@example.org"})
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{adaID}}); err != nil {
		t.Fatal(err)
	}
	campaign := startCampaign(t, admin)
	own := item(t, h, campaign, adaID, store.ReviewItemRole, "Nurse")
	if r := admin.get("/console/my-reviews"); r.Status != http.StatusOK || strings.Contains(r.Body, `data-item="`+own.ID+`"`) {
		t.Errorf("My reviews of the renamed admin: %d, offers their own item", r.Status)
	}
	if r := admin.post("/console/review-items/"+own.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "own access") {
		t.Errorf("the renamed admin keeping their own access: %d %s, want 403", r.Status, r.Body)
	}
	if r := admin.do("POST", "/api/v1/reviews/"+campaign+"/items/"+own.ID, map[string]string{"decision": "keep"}, console.CSRFHeader, admin.csrf); r.Status != http.StatusForbidden {
		t.Errorf("the renamed admin keeping their own access through the API: %d %s, want 403", r.Status, r.Body)
	}
	if it := reviewItem(t, h, own.ID); it.Decision != store.ReviewPending {
		t.Errorf("refused decisions changed the item: %+v", it)
	}

	if r := h.Do(t, "DELETE", "/scim/v2/Users/"+adaID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("SCIM DELETE: %d %s", r.Status, r.Body)
	}
	if a := account(t, h, "ada@example.org"); a.Disabled.IsZero() {
		t.Errorf("admin account after the admin left: %+v, want disabled", a)
	}
	if r := admin.get("/console/dashboard"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
		t.Errorf("dashboard after the admin left: %d %q, want a redirect to sign-in", r.Status, r.location())
	}
}
