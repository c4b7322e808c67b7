package console_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestUnlinkedAccountOfSharedName: a file from before names were folded
// may hold two hub users whose names differ in non-ASCII case only (Zoë,
// ZOË) and a console account of that name (zoë), which the link migration
// leaves linked to nobody: either user may be its person. Before accounts
// were linked by ID, either user's leaving disabled it and either being
// disabled refused it; it still does. Linked to nobody, it was neither:
// its person's leaving left it signed in.
func TestUnlinkedAccountOfSharedName(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	st := h.Store()
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	zoeID := scimUser(t, h, "Zoë", map[string]any{"sites": []string{"north"}})
	twin(t, h, zoeID, "ZOË")
	twinID := zoeID + "-twin"

	acct, sup := unlinkedSupervisor(t, h, admin, "zoë", "north")
	if r := sup.get("/console/site/"); r.Status != http.StatusOK {
		t.Fatalf("site page of zoë: %d", r.Status)
	}

	// One of the users disabled (straight in the store, past the leaver
	// path): the account is refused, not disabled; enabled again, it works.
	setState := func(id string, state store.UserState) {
		t.Helper()
		if _, err := st.UpdateUser(ctx, id, func(u store.User) (store.User, error) {
			u.State, u.Active = state, state == store.UserActive
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setState(twinID, store.UserDisabled)
	again := sup.keepCookie()
	if r := sup.get("/console/site/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
		t.Errorf("site page while ZOË is disabled: %d %q, want a redirect to sign-in", r.Status, r.location())
	}
	again()
	if a := account(t, h, "zoë"); !a.Disabled.IsZero() || a.UserID != "" {
		t.Fatalf("the check changed the account: %+v", a)
	}
	setState(twinID, store.UserActive)
	if r := sup.get("/console/site/"); r.Status != http.StatusOK {
		t.Fatalf("site page with both users active again: %d", r.Status)
	}

	// Zoë leaves: the account goes with her, in the leaver's transaction.
	scimPatch(t, h, zoeID, map[string]any{"active": false})
	signedOut(t, h, sup, w.northSession.ID)
	a := account(t, h, "zoë")
	if a.Disabled.IsZero() || a.UserID != "" {
		t.Errorf("account after Zoë left: %+v, want disabled, still linked to nobody", a)
	}
	if d := consoleDisables(t, h, acct.ID); len(d) != 1 {
		t.Errorf("%d console.account_disable records, want 1", len(d))
	} else if dd := recordDetail(t, d[0]); dd["user"] != zoeID || dd["linked"] != false || dd["reason"] != "user deprovisioned" {
		t.Errorf("console.account_disable detail %v", dd)
	}
	// And an admin may not enable it while Zoë is disabled.
	if r := admin.post("/console/accounts/"+acct.ID+"/enable", nil); r.Status != http.StatusConflict {
		t.Errorf("enable while Zoë is disabled: %d %s, want 409", r.Status, r.Body)
	}
}

// unlinkedSupervisor stores a supervisor account of sites linked to no hub
// user, as the link migration leaves the account of a name two users
// share, and registers a passkey for it through an admin's new link.
func unlinkedSupervisor(t *testing.T, h *hubtest.Hub, admin *client, name string, sites ...string) (store.ConsoleAccount, *client) {
	t.Helper()
	handle := make([]byte, 32)
	rand.Read(handle)
	now := time.Now().UTC()
	acct, err := h.Store().CreateConsoleAccount(t.Context(), store.ConsoleAccount{ID: "acct-" + name, Name: name, Role: store.ConsoleSupervisor, Sites: sites,
		WebAuthnID: handle, CreatedBy: "migration", Created: now, Modified: now})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, h, nil)
	if r := c.register(admin.reinvite(acct.ID, nil)); r.Status != http.StatusOK {
		t.Fatalf("register %s: %d %s", name, r.Status, r.Body)
	}
	return acct, c
}

// TestUnlinkedAccountOfSharedNameOwnAccess: the account zoë, linked to
// nobody while Zoë and ZOË share its name, may not review either one's
// access (as the name rule kept it from before accounts were linked by
// ID); once ZOË is renamed, Zoë is the one user of its name, and it may
// neither grant her access nor extend her shift (zoe.b it may). An admin account linked
// to nobody (made before accounts were linked) whose name a hub user has
// may not decide that user's item, from the console or the JSON API.
func TestUnlinkedAccountOfSharedNameOwnAccess(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	makeReviewWorld(t, h)
	admin := bootstrapAdmin(t, h)
	if _, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "u-zoe", UserName: "Zoë", Active: true, Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	twin(t, h, "u-zoe", "ZOË")
	// The admin's hub user, stored past the lifecycle engine (which would
	// link the account): the admin account stays linked to nobody.
	now := time.Now().UTC()
	if _, err := h.Store().CreateUser(ctx, store.User{ID: "u-ada", UserName: "Ada@Example.org", Active: true, State: store.UserActive,
		Sites: []string{"north"}, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	if a := account(t, h, "ada@example.org"); a.UserID != "" {
		t.Fatalf("admin linked to %q, want nobody", a.UserID)
	}
	_, sup := unlinkedSupervisor(t, h, admin, "zoë", "north")
	campaign := startCampaign(t, admin)

	nia := item(t, h, campaign, "u-nia", store.ReviewItemSite, "north")
	my := sup.get("/console/my-reviews")
	if my.Status != http.StatusOK || !strings.Contains(my.Body, `data-item="`+nia.ID+`"`) {
		t.Fatalf("My reviews of zoë: %d, want nia's item offered", my.Status)
	}
	for _, id := range []string{"u-zoe", "u-zoe-twin"} {
		it := item(t, h, campaign, id, store.ReviewItemSite, "north")
		if it.ReviewerKind != "supervisor" {
			t.Fatalf("site item of %s goes to %s, want a supervisor", id, it.ReviewerKind)
		}
		if strings.Contains(my.Body, `data-item="`+it.ID+`"`) {
			t.Errorf("My reviews of zoë offers the item of %s", id)
		}
		if r := sup.post("/console/review-items/"+it.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusForbidden {
			t.Errorf("zoë keeping the access of %s: %d %s, want 403", id, r.Status, r.Body)
		}
		if got := reviewItem(t, h, it.ID); got.Decision != store.ReviewPending {
			t.Errorf("refused decision changed item %+v", got)
		}
	}

	ada := item(t, h, campaign, "u-ada", store.ReviewItemSite, "north")
	if r := admin.do("POST", "/api/v1/reviews/"+campaign+"/items/"+ada.ID, map[string]string{"decision": "keep"}, console.CSRFHeader, admin.csrf); r.Status != http.StatusForbidden {
		t.Errorf("admin keeping the access of its namesake through the API: %d %s, want 403", r.Status, r.Body)
	}
	if r := admin.post("/console/review-items/"+ada.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "own access") {
		t.Errorf("admin keeping the access of its namesake: %d %s, want 403", r.Status, r.Body)
	}
	if got := reviewItem(t, h, ada.ID); got.Decision != store.ReviewPending {
		t.Errorf("refused decision changed item %+v", got)
	}

	scimPatch(t, h, "u-zoe-twin", map[string]any{"userName": "zoe.b"})
	if r := sup.post("/console/site/grants", url.Values{"user": {"Zoë"}, "role": {"Nurse"}, "site": {"north"}, "until": {"3h"}, "reason": {"cover"}}); r.Status != http.StatusForbidden ||
		!strings.Contains(r.Body, "grant yourself") {
		t.Errorf("zoë granting Zoë access: %d %s, want 403", r.Status, r.Body)
	}
	if r := sup.post("/console/site/extensions", url.Values{"user": {"Zoë"}, "until": {"2h"}, "reason": {"late handover"}}); r.Status != http.StatusForbidden ||
		!strings.Contains(r.Body, "your own shift") {
		t.Errorf("zoë extending Zoë's shift: %d %s, want 403", r.Status, r.Body)
	}
	if r := sup.post("/console/site/grants", url.Values{"user": {"zoe.b"}, "role": {"Nurse"}, "site": {"north"}, "until": {"3h"}, "reason": {"cover"}}); r.Status != http.StatusSeeOther {
		t.Errorf("zoë granting zoe.b access: %d %s, want it done", r.Status, r.Body)
	}
}
