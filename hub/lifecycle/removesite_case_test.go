package lifecycle_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRemoveSiteMatchesKioskSiteInAnyCase: a site removed from a user ends
// the sessions at kiosks enrolled at it in another case ("South" removed,
// the kiosk at "south"), and records one revocation for the site, the
// session's, spelt as the user's record spelt it, where the kiosk's
// spelling made a second, session-less one beside it.
func TestRemoveSiteMatchesKioskSiteInAnyCase(t *testing.T) {
	f := newExtendFixture(t)
	ctx := t.Context()
	if _, err := f.eng.UpdateUser(ctx, actor, "u-ana", func(u store.User) (store.User, error) {
		u.Sites = []string{"North"}
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := f.st.GetSession(ctx, "s-South")
	if err != nil || s.Ended.IsZero() {
		t.Fatalf("s-South: %+v, %v; want ended", s, err)
	}
	revs, err := f.st.ListRevocations(ctx, store.RevocationQuery{UserID: "u-ana"})
	if err != nil {
		t.Fatal(err)
	}
	var site []store.Revocation
	for _, r := range revs {
		if r.Detail == "site:South" || r.Detail == "site:south" {
			site = append(site, r)
		}
	}
	if len(site) != 1 || site[0].SessionID != "s-South" || site[0].Detail != "site:South" {
		t.Errorf("revocations of the removed site: %+v, want one, for s-South, detail site:South", site)
	}
	recs, err := f.st.ListAudit(ctx, store.AuditQuery{Subject: "user:u-ana", Action: "user.entitlements_removed"})
	if err != nil || len(recs) == 0 {
		t.Fatalf("user.entitlements_removed: %v, %v", recs, err)
	}
	var d struct {
		Ended map[string][]string `json:"sessionsEnded"`
	}
	if err := json.Unmarshal(recs[len(recs)-1].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Ended["South"], []string{"s-South"}) || len(d.Ended) != 1 {
		t.Errorf("sessionsEnded %v, want South: [s-South]", d.Ended)
	}
}
