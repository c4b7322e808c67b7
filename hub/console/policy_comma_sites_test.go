package console_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestPolicyFormRefusesACommaListOfSites: the role form's sites field
// took "north, east" as two sites before it took one site per line. An
// admin who types that on one line now, where north and east are sites
// the hub knows (a kiosk's, a registered one) and no site is named
// "north, east", means two sites: saved as one that exists nowhere, the
// role counted at no site and the page said only "saved". The save is
// refused (400, the page saying to put each site on a line of its own)
// and the policy is unchanged; a comma-holding name the hub knows, or one
// the rule held already, is still taken as typed.
func TestPolicyFormRefusesACommaListOfSites(t *testing.T) {
	h, admin := commaSitesHub(t)
	eng := h.Engine()
	rules := eng.Rules().Clone()
	rules.Roles["Ward"] = policy.RoleRule{Apps: []string{"ehr"}, Sites: []string{"south, annex"}, EmploymentTypes: []string{"employee"}}
	if _, err := eng.UpdatePolicy(t.Context(), lifecycleActor, eng.Policy().Version, rules); err != nil {
		t.Fatal(err)
	}
	version := policyVersion(t, h)

	f := roleForm(t, admin.get("/console/policy").Body, "Ward")
	f.values.Set("sites", "north, east")
	r := admin.post(f.action, f.values)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "line of its own") {
		t.Errorf("Ward's sites typed as \"north, east\": %d %s %.300s; want 400 saying to put each site on a line of its own", r.Status, r.location(), r.Body)
	}
	if got := eng.Rules().Rule("Ward").Sites; !slices.Equal(got, []string{"south, annex"}) || policyVersion(t, h) != version {
		t.Fatalf("after the refused save Ward counts at %q (version %d); want it unchanged", got, policyVersion(t, h))
	}

	// A known site with a comma, and the one the rule held, are names.
	f.values.Set("sites", "south, annex\r\nwest, central\r\nnorth\r\neast")
	if r := admin.post(f.action, f.values); r.Status != http.StatusSeeOther || r.location() != "/console/policy?ok=policy-saved" {
		t.Fatalf("Ward's sites one per line: %d %s %.300s", r.Status, r.location(), r.Body)
	}
	want := []string{"south, annex", "west, central", "north", "east"}
	if got := eng.Rules().Rule("Ward").Sites; !slices.Equal(got, want) {
		t.Errorf("Ward counts at %q, want %q", got, want)
	}
}

// commaSitesHub is a hub with the registered sites north, east and
// "west, central" (one site), and its bootstrap admin signed in.
func commaSitesHub(t *testing.T) (*hubtest.Hub, *client) {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	now := time.Now().UTC()
	for _, s := range []string{"north", "east", "west, central"} {
		if _, err := h.Store().CreateSite(t.Context(), store.Site{ID: "site-" + s, Name: s, TimeZone: "UTC", Created: now}); err != nil {
			t.Fatal(err)
		}
	}
	return h, admin
}
