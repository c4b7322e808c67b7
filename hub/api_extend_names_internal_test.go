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

// TestAPIExtendRefusalsNameTheUserName: every refusal of POST
// /api/v1/users/{userName}/extend names the worker by the userName the
// caller gave, never by the internal ID the engine works with (which the
// caller never sent and no API call takes): each refusal the engine
// makes (no shifts, disabled, no site, several sites, another site, a
// shift that already runs longer, no shift to extend), a worker deleted
// after the handler found it (404, as for a name nobody has), and a
// console account disabled while its request was made (403).
func TestAPIExtendRefusalsNameTheUserName(t *testing.T) {
	r, scim := newNamesRace(t)
	ctx := t.Context()
	now := r.now
	running := []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}
	ended := []store.Shift{{Start: now.Add(-8 * time.Hour), End: now.Add(-3 * time.Hour)}}
	for _, u := range []store.User{
		{ID: "0193a1c2-0000-7000-8000-00000000000c", UserName: "cy", Active: true, Sites: []string{"north"}},
		{ID: "0193a1c2-0000-7000-8000-00000000000d", UserName: "di", Active: false, Sites: []string{"north"}, Shifts: running},
		{ID: "0193a1c2-0000-7000-8000-00000000000e", UserName: "ed", Active: true, Shifts: running},
		{ID: "0193a1c2-0000-7000-8000-00000000000f", UserName: "fa", Active: true, Sites: []string{"north", "south"}, Shifts: running},
		{ID: "0193a1c2-0000-7000-8000-000000000010", UserName: "gil", Active: true, Sites: []string{"north"}, Shifts: ended},
	} {
		if _, err := r.s.engine.CreateUser(ctx, scim, u); err != nil {
			t.Fatal(err)
		}
	}
	until := now.Add(2 * time.Hour).Format(time.RFC3339)
	extend := func(actor lifecycle.Actor, userName, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/users/"+userName+"/extend", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetPathValue("userName", userName)
		w := httptest.NewRecorder()
		if err := r.s.apiExtendShift(w, req, actor); err != nil {
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
	token := lifecycle.Actor{Name: "token:ops", System: "cli"}
	check := func(name string, code int, msg string, wantCode int, userName, userID, want string) {
		t.Helper()
		if code != wantCode || !strings.Contains(msg, userName) || !strings.Contains(msg, want) || strings.Contains(msg, userID) {
			t.Errorf("%s: %d %q, want %d saying %q, naming %s and not its ID %s", name, code, msg, wantCode, want, userName, userID)
		}
	}
	for _, tc := range []struct {
		name, user, id, body, want string
	}{
		{"no shifts", "cy", "0193a1c2-0000-7000-8000-00000000000c", `{"until":"` + until + `","reason":"x"}`, "has no shifts"},
		{"disabled", "di", "0193a1c2-0000-7000-8000-00000000000d", `{"until":"` + until + `","reason":"x"}`, "is disabled"},
		{"no site", "ed", "0193a1c2-0000-7000-8000-00000000000e", `{"until":"` + until + `","reason":"x"}`, "has no site"},
		{"several sites", "fa", "0193a1c2-0000-7000-8000-00000000000f", `{"until":"` + until + `","reason":"x"}`, "works at several sites"},
		{"another site", "bob", r.bob.ID, `{"site":"east","until":"` + until + `","reason":"x"}`, `does not work at site "east"`},
		{"shorter than the shift", "bob", r.bob.ID, `{"until":"` + now.Add(10*time.Minute).Format(time.RFC3339) + `","reason":"x"}`, "already runs until"},
		{"no shift to extend", "gil", "0193a1c2-0000-7000-8000-000000000010", `{"until":"` + until + `","reason":"x"}`, "has no shift at site north to extend"},
	} {
		code, msg := extend(token, tc.user, tc.body)
		check(tc.name, code, msg, http.StatusBadRequest, tc.user, tc.id, tc.want)
		if strings.Contains(msg, "invalid request") || strings.Contains(msg, "extend shift of") {
			t.Errorf("%s: %q names the engine's operation and sentinel", tc.name, msg)
		}
	}

	// bob is deleted after the handler found him, before the extension.
	r.st.before = func() {
		if err := r.s.engine.DeleteUser(context.Background(), scim, r.bob.ID); err != nil {
			t.Error(err)
		}
	}
	code, msg := extend(token, "bob", `{"until":"`+until+`","reason":"x"}`)
	check("deleted meanwhile", code, msg, http.StatusNotFound, "bob", r.bob.ID, "no user bob")

	// The console account kim, calling with its session, is disabled
	// after its session was checked, before the extension of cy's shift.
	r.st.before = func() {
		if err := r.db.InTx(context.Background(), func(tx store.Ops) error {
			_, _, err := store.DisableConsoleAccount(context.Background(), tx, "acct-kim", time.Now())
			return err
		}); err != nil {
			t.Error(err)
		}
	}
	code, msg = extend(lifecycle.Actor{Name: "console:kim", System: "console"}, "cy", `{"until":"`+until+`","reason":"x"}`)
	if code != http.StatusForbidden || !strings.Contains(msg, "your console account was disabled") || strings.Contains(msg, "0193a1c2-0000-7000-8000-00000000000c") || strings.Contains(msg, "extend shift of") {
		t.Errorf("account disabled meanwhile: %d %q, want 403 saying so, without the worker's ID", code, msg)
	}
	if recs, err := r.db.ListAudit(ctx, store.AuditQuery{Action: "shift.extend"}); err != nil || len(recs) != 0 {
		t.Errorf("shift.extend records after refusals: %d, %v; want none", len(recs), err)
	}
}

// newNamesRace is the hub of the tests that a refusal names the worker by
// userName: a self-race hub (newSelfRace) whose worker's shift runs from
// two hours ago to half an hour ahead, with no hook before its writes,
// and the SCIM actor that provisions the tests' other workers.
func newNamesRace(t *testing.T) (*selfRace, lifecycle.Actor) {
	t.Helper()
	r := newSelfRace(t, func(now time.Time) []store.Shift {
		return []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}
	})
	r.st.before = nil
	return r, lifecycle.Actor{Name: "token:okta", System: "scim"}
}
