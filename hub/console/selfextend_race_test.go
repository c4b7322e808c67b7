package console

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSelfExtendCheckedInTransaction: a console account linked to nobody
// extends bob's shift; between the handler's reads (its own early check
// included) and the extension's transaction, bob is renamed to the
// account's name, which links the account to bob. The extension is of the
// approver's own shift by then and is refused with the 403 the console
// shows for one: the check reads the account inside the transaction that
// stores the extension (sessionSelfIn), not before it. Nothing is stored.
func TestSelfExtendCheckedInTransaction(t *testing.T) {
	for _, tc := range []struct {
		name, account, role string
		sites               []string
	}{
		{"supervisor", "sam", store.ConsoleSupervisor, []string{"north"}},
		{"admin", "ada", store.ConsoleAdmin, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			r := newSelfRace(t)
			now := time.Now().UTC()
			if _, err := r.eng.SetShifts(ctx, scimActor, r.bob.ID, []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}, nil); err != nil {
				t.Fatal(err)
			}
			v := r.account(t, tc.account, tc.role, tc.sites...)
			r.renameBobTo(t, tc.account)
			err := r.c.siteExtend(httptest.NewRecorder(), post("/console/site/extensions", url.Values{"user": {"bob"}, "site": {"north"},
				"until": {"2h"}, "reason": {"late handover"}}), v)
			r.linked(t, tc.account)
			wantForbidden(t, err, "you cannot extend your own shift: ask another supervisor or an admin")
			if xs, err := r.st.ListShiftExtensions(ctx, r.bob.ID); err != nil || len(xs) != 0 {
				t.Errorf("extensions of bob after the refused self-extension: %+v, %v; want none", xs, err)
			}
			if recs, err := r.st.ListAudit(ctx, store.AuditQuery{Action: "shift.extend"}); err != nil || len(recs) != 0 {
				t.Errorf("shift.extend records after the refused self-extension: %d, %v; want none", len(recs), err)
			}
		})
	}
}
