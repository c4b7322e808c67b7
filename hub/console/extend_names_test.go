package console_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestExtendAskForSiteQuotesNames: an admin extending the shift of a
// worker of several sites without naming one is asked to choose, and told
// the worker's sites. SCIM allows a comma in a site's name, so the worker
// of the sites "north, south" and east works at two sites, and the
// message reads as two: the one with the comma quoted.
func TestExtendAskForSiteQuotesNames(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	now := time.Now().UTC()
	if _, err := h.Engine().CreateUser(t.Context(), lifecycleActor, store.User{ID: "u-ns", UserName: "ns.worker", Active: true, Sites: []string{"north, south", "east"},
		Shifts: []store.Shift{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	r := admin.post("/console/site/extensions", url.Values{"user": {"ns.worker"}, "until": {"2h"}, "reason": {"late handover"}})
	want := `choose the site where the extension counts: ns.worker works at "north, south", east`
	if msg := html.UnescapeString(r.Body); r.Status != http.StatusBadRequest || !strings.Contains(msg, want) {
		t.Errorf("admin extends without naming a site: %d, want 400 saying %q:\n%s", r.Status, want, msg)
	}
}
