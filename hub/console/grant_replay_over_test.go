package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A grant form sent again after the grant it made was revoked makes no
// second grant (its key made one), and the page does not say "Access
// granted": it says nothing was granted, and to reload the page.
func TestGrantFormSentAgainAfterRevoke(t *testing.T) {
	ctx := t.Context()
	h, w, admin := adminWorld(t, "Nurse")
	sup := admin.supervisor("sam", "north")
	form := url.Values{"user": {w.northUser.UserName}, "role": {"Nurse"}, "site": {"north"}, "until": {"4h"}, "reason": {"cover"},
		"once": {sup.formKey("/console/site/", grantOnceField)}}
	if r := sup.post("/console/site/grants", form); r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "ok=grant-created") {
		t.Fatalf("grant: %d to %q %s", r.Status, r.location(), r.Body)
	}
	gs, err := h.Store().ListGrants(ctx, w.northUser.ID)
	if err != nil || len(gs) != 1 {
		t.Fatalf("grants after the form: %+v, %v; want 1", gs, err)
	}
	if _, err := h.Engine().RevokeGrant(ctx, lifecycleActor, gs[0].ID, "not needed"); err != nil {
		t.Fatal(err)
	}

	r := sup.post("/console/site/grants", form)
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "ok=grant-replayed-over") {
		t.Fatalf("the form sent again after its grant was revoked: %d to %q; want the page saying nothing was granted", r.Status, r.location())
	}
	if p := sup.get(r.location()); !strings.Contains(p.Body, "Nothing was granted") {
		t.Errorf("the page after it does not say nothing was granted:\n%s", p.Body)
	}
	if gs, err := h.Store().ListGrants(ctx, w.northUser.ID); err != nil || len(gs) != 1 {
		t.Errorf("grants after the form sent again: %d, %v; want still 1", len(gs), err)
	}
}
