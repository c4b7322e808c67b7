package console_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestPolicyFormRefusesACommaListAfterAKnownCommaSite: a site the hub
// knows whose name holds a comma ("west, central") is taken as typed, but
// that must not let the lines after it through unchecked. An admin who
// keeps such a site on the first line and types "north, east" (two known
// sites, no site so named) on the next means two sites; the save is
// refused as it is without the first line, and the policy is unchanged.
func TestPolicyFormRefusesACommaListAfterAKnownCommaSite(t *testing.T) {
	h, admin := commaSitesHub(t)
	eng := h.Engine()
	version := policyVersion(t, h)
	before := eng.Rules().Rule("Nurse").Sites

	f := roleForm(t, admin.get("/console/policy").Body, "Nurse")
	f.values.Set("sites", "west, central\r\nnorth, east")
	r := admin.post(f.action, f.values)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "line of its own") {
		t.Errorf("Nurse's sites typed as \"west, central\" then \"north, east\": %d %s %.300s; want 400 saying to put each site on a line of its own", r.Status, r.location(), r.Body)
	}
	if got := eng.Rules().Rule("Nurse").Sites; !slices.Equal(got, before) || policyVersion(t, h) != version {
		t.Fatalf("after the refused save Nurse counts at %q (version %d); want %q (version %d)", got, policyVersion(t, h), before, version)
	}
}
