package hub

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPISetShiftsRefusalsNameTheUserName: every refusal of PUT
// /api/v1/users/{userName}/shifts names the worker by the userName the
// caller gave, never by the internal ID the engine works with (which the
// caller never sent and no API call takes), as for an extension: a
// worker deleted after the handler found it (404, as for a name nobody
// has), a console account disabled while its request was made (403), and
// shifts the engine refuses (400). None of them changes the shifts.
func TestAPISetShiftsRefusalsNameTheUserName(t *testing.T) {
	r, scim := newNamesRace(t)
	ctx := t.Context()
	const cyID = "0193a1c2-0000-7000-8000-00000000000c"
	if _, err := r.s.engine.CreateUser(ctx, scim, store.User{ID: cyID, UserName: "cy", Active: true, Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	day := r.now.Add(24 * time.Hour).Truncate(time.Hour)
	shifts := `[{"start":"` + day.Format(time.RFC3339) + `","end":"` + day.Add(8*time.Hour).Format(time.RFC3339) + `"}]`
	set := func(actor lifecycle.Actor, userName, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPut, "/api/v1/users/"+userName+"/shifts", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetPathValue("userName", userName)
		w := httptest.NewRecorder()
		if err := r.s.apiSetShifts(w, req, actor); err != nil {
			r.s.writeAPIError(w, req, err)
		}
		var got struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: answer %d %s is not the API's JSON error", userName, w.Code, w.Body)
		}
		return w.Code, got.Error
	}
	check := func(name string, code int, msg string, wantCode int, userID, want string) {
		t.Helper()
		if code != wantCode || !strings.Contains(msg, want) || strings.Contains(msg, userID) || strings.Contains(msg, "set shifts of") {
			t.Errorf("%s: %d %q, want %d saying %q, without the ID %s or the engine's operation", name, code, msg, wantCode, want, userID)
		}
	}
	token := lifecycle.Actor{Name: "token:ops", System: "cli"}

	code, msg := set(token, "cy", `[{"start":"`+day.Format(time.RFC3339)+`","end":"`+day.Add(-time.Hour).Format(time.RFC3339)+`"}]`)
	check("end before start", code, msg, http.StatusBadRequest, cyID, "ends before it starts")

	// bob is deleted after the handler found him, before the change.
	r.st.before = func() {
		if err := r.s.engine.DeleteUser(context.Background(), scim, r.bob.ID); err != nil {
			t.Error(err)
		}
	}
	code, msg = set(token, "bob", shifts)
	check("deleted meanwhile", code, msg, http.StatusNotFound, r.bob.ID, "no user bob")

	// The console account kim, calling with its session, is disabled
	// after its session was checked, before the change of cy's shifts.
	r.st.before = func() {
		if err := r.db.InTx(context.Background(), func(tx store.Ops) error {
			_, _, err := store.DisableConsoleAccount(context.Background(), tx, "acct-kim", time.Now())
			return err
		}); err != nil {
			t.Error(err)
		}
	}
	code, msg = set(lifecycle.Actor{Name: "console:kim", System: "console"}, "cy", shifts)
	check("account disabled meanwhile", code, msg, http.StatusForbidden, cyID, "your console account was disabled")

	if recs, err := r.db.ListAudit(ctx, store.AuditQuery{Action: "user.shifts_replace"}); err != nil || len(recs) != 0 {
		t.Errorf("user.shifts_replace records after refusals: %d, %v; want none", len(recs), err)
	}
}
