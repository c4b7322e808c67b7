package console

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestTokenOfDisabledAccountRefusedInTransaction: an admin's console
// account is disabled after its Create or Rotate on the Tokens page
// passed the session check and before the transaction that makes the
// token. The disable revoked the admin tokens the account had made
// (token.RevokeOfDisabledMaker); a token made after it would be a working
// admin token of a disabled maker, shown to the person just disabled, that
// nothing revokes. Both are refused with 403 from inside that transaction:
// no token is made, and the rotated token keeps no successor.
func TestTokenOfDisabledAccountRefusedInTransaction(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	now := time.Now().UTC()

	kim := r.account(t, "kim", store.ConsoleAdmin)
	r.disableAccount(t, kim.account.ID)
	err := r.c.tokenCreate(httptest.NewRecorder(), post("/console/tokens", url.Values{"name": {"kim-scripts"}, "scope": {"admin"}}), kim)
	r.fired(t)
	wantForbidden(t, err, "your console account was disabled")
	if ts, err := r.st.ListTokens(ctx); err != nil || len(ts) != 0 {
		t.Errorf("tokens after the disabled account's create: %+v, %v; want none", ts, err)
	}

	// A token the CLI operator made, for lee to rotate.
	_, ops, err := token.NewExpiring("ops", store.ScopeAdmin, now, now.AddDate(0, 0, 90))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.CreateToken(ctx, ops); err != nil {
		t.Fatal(err)
	}
	lee := r.account(t, "lee", store.ConsoleAdmin)
	r.disableAccount(t, lee.account.ID)
	req := post("/console/tokens/"+ops.ID+"/rotate", url.Values{"overlap": {"24h"}})
	req.SetPathValue("id", ops.ID)
	err = r.c.tokenRotate(httptest.NewRecorder(), req, lee)
	r.fired(t)
	wantForbidden(t, err, "your console account was disabled")
	ts, err := r.st.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].ID != ops.ID || ts[0].ReplacedBy != "" || !ts[0].Expires.Equal(ops.Expires) {
		t.Errorf("tokens after the disabled account's rotate: %+v; want only %s, not rotated", ts, ops.ID)
	}
	for _, action := range []string{"token.create", "token.rotate"} {
		if recs, err := r.st.ListAudit(ctx, store.AuditQuery{Action: action}); err != nil || len(recs) != 0 {
			t.Errorf("%s records: %d, %v; want none", action, len(recs), err)
		}
	}
}
