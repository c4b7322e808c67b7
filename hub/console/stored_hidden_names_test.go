package console_test

import (
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSitesPageKeepsStoredSiteName: a site registered (by an older hub)
// under a name that store.Hidden came to refuse later, one ending in a
// variation selector, keeps working: its time zone can be changed on the
// page. Registering a new site under such a name is still refused.
func TestSitesPageKeepsStoredSiteName(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	if _, err := h.Store().CreateSite(ctx, store.Site{ID: store.NewID(), Name: "North\ufe0f", TimeZone: "UTC", Created: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)

	r := admin.post("/console/sites", url.Values{"name": {"North\ufe0f"}, "time_zone": {"Europe/Berlin"}})
	if body := html.UnescapeString(r.Body); r.Status != http.StatusOK || !strings.Contains(body, "now reads times in Europe/Berlin (it was UTC)") {
		t.Fatalf("change the zone of the stored site North\\ufe0f: %d, want 200 saying what changed: %s", r.Status, body)
	}
	if s, err := h.Store().GetSiteByName(ctx, "North\ufe0f"); err != nil || s.TimeZone != "Europe/Berlin" {
		t.Errorf("North\\ufe0f in the store: %+v, %v; want Europe/Berlin", s, err)
	}

	r = admin.post("/console/sites", url.Values{"name": {"South\ufe0f"}, "time_zone": {"Europe/Berlin"}})
	if body := html.UnescapeString(r.Body); r.Status != http.StatusBadRequest || !strings.Contains(body, "invisible formatting character") {
		t.Errorf("register South\\ufe0f: %d, want 400 about the invisible character: %s", r.Status, body)
	}
	if _, err := h.Store().GetSiteByName(ctx, "South\ufe0f"); err == nil {
		t.Error("South\\ufe0f was registered")
	}
}

// TestPolicyPageKeepsStoredNames: a policy stored (by an older hub) with a
// role whose name store.Hidden came to refuse later can still be edited on
// the policy page: an unrelated change (the rule for other roles) is
// saved, and the role keeps its name.
func TestPolicyPageKeepsStoredNames(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	doc := []byte(`{"max_session":"12h","shift_grace":"15m","roles":[{"name":"Lead\ufe0f","apps":["wms"],"sites":["North\ufe0f"]}],"other":{"apps":[]}}`)
	if _, err := h.Store().UpdatePolicy(t.Context(), func(store.PolicyVersion) (store.PolicyVersion, error) {
		return store.PolicyVersion{Document: doc, ChangedBy: "console:kim", Changed: time.Now()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	p, err := h.Engine().LoadPolicy(t.Context(), lifecycleActor)
	if err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	r := admin.post("/console/policy/other", url.Values{"version": {strconv.FormatInt(p.Version, 10)}, "apps": {"browser"}})
	if r.Status != http.StatusOK && r.Status != http.StatusSeeOther {
		t.Fatalf("save the rule for other roles: %d, want it saved: %s", r.Status, html.UnescapeString(r.Body))
	}
	got := h.Engine().Policy()
	if _, ok := got.Rules.Roles["Lead\ufe0f"]; got.Version != p.Version+1 || !ok || len(got.Rules.Other.Apps) != 1 {
		t.Errorf("after the save: version %d, roles %v, other %v; want version %d with the stored role and the new rule for others",
			got.Version, got.Rules.Roles, got.Rules.Other, p.Version+1)
	}
}
