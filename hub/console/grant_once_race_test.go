package console

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestGrantFormKeyChecksInTransaction: the grant form's key (the page's
// "once" field, which makes a form sent twice one grant) changes nothing
// of what the grant's transaction decides: a worker moved off the
// supervisor's sites between the handler's check and the transaction, or
// renamed to the account's name (a self-grant by then), gets no grant, as
// without a key.
func TestGrantFormKeyChecksInTransaction(t *testing.T) {
	form := url.Values{"user": {"bob"}, "role": {"Picker"}, "site": {"north"}, "until": {"4h"}, "reason": {"cover"}, "once": {"k-scope"}}

	t.Run("worker moved", func(t *testing.T) {
		r := newSelfRace(t)
		r.southSite(t)
		sam := r.account(t, "sam", store.ConsoleSupervisor, "north")
		r.moveBob(t, "south")
		err := r.c.siteGrant(httptest.NewRecorder(), post("/console/site/grants", form), sam)
		r.fired(t)
		wantForbidden(t, err, "no user bob at your sites")
		r.noGrantsOfBob(t, "the refused grant")
	})
	t.Run("self-grant", func(t *testing.T) {
		r := newSelfRace(t)
		sam := r.account(t, "sam", store.ConsoleSupervisor, "north")
		r.renameBobTo(t, "sam")
		err := r.c.siteGrant(httptest.NewRecorder(), post("/console/site/grants", form), sam)
		r.linked(t, "sam")
		wantForbidden(t, err, "you cannot grant yourself access: ask an admin")
		r.noGrantsOfBob(t, "the refused self-grant")
	})
}

// noGrantsOfBob says what bob was granted after what, a grant that should
// have been refused, if he has any grant.
func (r *selfRace) noGrantsOfBob(t *testing.T, after string) {
	t.Helper()
	if gs, err := r.st.ListGrants(t.Context(), r.bob.ID); err != nil || len(gs) != 0 {
		t.Errorf("grants of bob after %s: %+v, %v; want none", after, gs, err)
	}
}
