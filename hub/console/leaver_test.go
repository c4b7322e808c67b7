package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

const (
	scimUserSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	scimFrontline   = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
)

// scimUser provisions a hub user through SCIM, as the identity provider
// does, and returns its ID. ext holds frontline attributes.
func scimUser(t *testing.T, h *hubtest.Hub, userName string, ext map[string]any) string {
	t.Helper()
	body := map[string]any{"schemas": []string{scimUserSchema}, "userName": userName, "active": true}
	if ext != nil {
		body["schemas"], body[scimFrontline] = []string{scimUserSchema, scimFrontline}, ext
	}
	r := h.Do(t, "POST", "/scim/v2/Users", body)
	id, _ := r.JSON()["id"].(string)
	if r.Status != http.StatusCreated || id == "" {
		t.Fatalf("SCIM POST %s: %d %s", userName, r.Status, r.Body)
	}
	return id
}

// scimPatch sends one SCIM PATCH replace of value for a user.
func scimPatch(t *testing.T, h *hubtest.Hub, id string, value map[string]any) {
	t.Helper()
	body := map[string]any{"schemas": []string{scimPatchSchema}, "Operations": []any{map[string]any{"op": "replace", "value": value}}}
	if r := h.Do(t, "PATCH", "/scim/v2/Users/"+id, body); r.Status != http.StatusOK {
		t.Fatalf("SCIM PATCH %s: %d %s", id, r.Status, r.Body)
	}
}

// consoleDisables returns the console.account_disable records about the
// console account with that ID.
func consoleDisables(t *testing.T, h *hubtest.Hub, accountID string) []store.AuditRecord {
	t.Helper()
	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Subjects: []string{"console:" + accountID}, Action: "console.account_disable"})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// keepCookie returns a function that puts c's session cookie back, as a
// browser (or an attacker) that ignored the hub's clearing it would send
// it again: each refusal below is then about the session, not a missing
// cookie.
func (c *client) keepCookie() func() {
	c.t.Helper()
	u, err := url.Parse(c.h.URL)
	if err != nil {
		c.t.Fatal(err)
	}
	cs := c.http.Jar.Cookies(u)
	if len(cs) == 0 {
		c.t.Fatal("no session cookie to keep")
	}
	return func() { c.http.Jar.SetCookies(u, cs) }
}

// signedOut fails the test unless c's console session no longer works:
// a page redirects to sign-in, a form post is 401 and changes nothing.
func signedOut(t *testing.T, h *hubtest.Hub, c *client, killSession string) {
	t.Helper()
	again := c.keepCookie()
	if r := c.get("/console/site/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
		t.Errorf("site page after the leaver: %d %q, want a redirect to sign-in", r.Status, r.location())
	}
	again()
	if r := c.post("/console/site/sessions/"+killSession+"/signout", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("force sign-out after the leaver: %d %s, want 401", r.Status, r.Body)
	}
	if s, err := h.Store().GetSession(t.Context(), killSession); err != nil || !s.Ended.IsZero() {
		t.Errorf("kiosk session %s after a refused sign-out: %+v, %v; want it live", killSession, s, err)
	}
}

// TestLeaverLosesConsole: a site supervisor whose hub user (the userName
// equal to the account's name, in any case) leaves — SCIM active=false,
// SCIM DELETE, or the end date passing on the scheduler — loses the
// console in the same change: the live-update stream ends, the next page
// redirects to sign-in, a force sign-out is refused (401) and does
// nothing, the passkey no longer signs in, and the audit trail has a
// console.account_disable by the leaver's actor, reason "user
// deprovisioned". The admin, who is no hub user, keeps working. A re-hire
// (the IdP enabling the user again, or a new user of the name after a
// DELETE) does not enable the console account.
func TestLeaverLosesConsole(t *testing.T) {
	for _, tc := range []struct {
		name string
		// end is in the user's frontline attributes when not zero.
		end func(now time.Time) time.Time
		// leave makes Sam a leaver; rehire brings Sam back.
		leave, rehire func(t *testing.T, h *hubtest.Hub, id string)
		actor, system string // "" actor: the SCIM token's, "token:…"
	}{
		{
			name:   "SCIM active=false",
			leave:  func(t *testing.T, h *hubtest.Hub, id string) { scimPatch(t, h, id, map[string]any{"active": false}) },
			rehire: func(t *testing.T, h *hubtest.Hub, id string) { scimPatch(t, h, id, map[string]any{"active": true}) },
			system: "scim",
		},
		{
			name: "SCIM DELETE",
			leave: func(t *testing.T, h *hubtest.Hub, id string) {
				if r := h.Do(t, "DELETE", "/scim/v2/Users/"+id, nil); r.Status != http.StatusNoContent {
					t.Fatalf("SCIM DELETE: %d %s", r.Status, r.Body)
				}
			},
			rehire: func(t *testing.T, h *hubtest.Hub, _ string) {
				scimUser(t, h, "SAM", map[string]any{"sites": []string{"north"}})
			},
			system: "scim",
		},
		{
			name: "end date on the scheduler",
			end:  func(now time.Time) time.Time { return now.Add(10 * time.Minute) },
			leave: func(t *testing.T, h *hubtest.Hub, _ string) {
				h.Clock.Advance(11 * time.Minute)
				d, err := h.Engine().RunDue(t.Context())
				if err != nil || d.Deprovisioned != 1 {
					t.Fatalf("scheduler pass: %+v, %v; want one leaver", d, err)
				}
			},
			rehire: func(t *testing.T, h *hubtest.Hub, id string) {
				scimPatch(t, h, id, map[string]any{"active": true, scimFrontline + ":endDate": h.Clock.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)})
			},
			actor: "scheduler", system: "scheduler",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := hubtest.NewClock(time.Now())
			h := hubtest.Start(t, hubtest.Options{Clock: clock})
			ctx := t.Context()
			w := makeWorld(t, h)
			admin := bootstrapAdmin(t, h)
			ext := map[string]any{"sites": []string{"north"}}
			if tc.end != nil {
				ext["endDate"] = tc.end(clock.Now()).UTC().Format(time.RFC3339)
			}
			samID := scimUser(t, h, "Sam", ext)
			sup := admin.supervisor("sam", "north")
			if r := sup.get("/console/site/"); r.Status != http.StatusOK {
				t.Fatalf("site page before: %d", r.Status)
			}
			live := sup.events()
			live.expect("sessions")

			tc.leave(t, h, samID)

			live.expect("signedout")
			live.expectEnd()
			signedOut(t, h, sup, w.northSession.ID)
			if r := sup.signin(); r.Status != http.StatusUnauthorized {
				t.Errorf("passkey sign-in after the leaver: %d %s, want 401", r.Status, r.Body)
			}
			acct := account(t, h, "sam")
			if acct.Disabled.IsZero() {
				t.Errorf("console account %+v is enabled after its hub user left", acct)
			}
			recs := consoleDisables(t, h, acct.ID)
			if len(recs) != 1 {
				t.Fatalf("console.account_disable records = %+v, want one", recs)
			}
			rec := recs[0]
			var detail struct {
				Name          string `json:"name"`
				Reason        string `json:"reason"`
				User          string `json:"user"`
				SessionsEnded int    `json:"sessionsEnded"`
			}
			if err := json.Unmarshal(rec.Detail, &detail); err != nil {
				t.Fatal(err)
			}
			wantActor := rec.Actor == tc.actor
			if tc.actor == "" {
				wantActor = strings.HasPrefix(rec.Actor, "token:") && strings.Contains(rec.Actor, "(test-idp)")
			}
			if !wantActor || rec.System != tc.system || detail.Reason != "user deprovisioned" || detail.Name != "sam" || detail.User != samID || detail.SessionsEnded != 1 {
				t.Errorf("audit record %s/%s %+v; want the %s actor, reason user deprovisioned, sam's one session", rec.Actor, rec.System, detail, tc.system)
			}

			// The admin, whose name is no hub user's, is untouched.
			if r := admin.get("/console/dashboard"); r.Status != http.StatusOK {
				t.Errorf("admin dashboard after the leaver: %d", r.Status)
			}
			if a := account(t, h, "ada@example.org"); !a.Disabled.IsZero() {
				t.Errorf("admin account disabled: %+v", a)
			}

			// A re-hire does not enable the console account: an admin does.
			tc.rehire(t, h, samID)
			us, _, err := h.Store().ListUsers(ctx, store.UserQuery{UserName: "sam", States: []store.UserState{store.UserActive}})
			if err != nil || len(us) != 1 {
				t.Fatalf("active users named sam after the re-hire: %+v, %v", us, err)
			}
			if a := account(t, h, "sam"); a.Disabled.IsZero() {
				t.Errorf("console account enabled again by the re-hire: %+v", a)
			}
			if r := sup.signin(); r.Status != http.StatusUnauthorized {
				t.Errorf("passkey sign-in after the re-hire: %d %s, want 401", r.Status, r.Body)
			}
			if n := len(consoleDisables(t, h, acct.ID)); n != 1 {
				t.Errorf("%d console.account_disable records after the re-hire, want still 1", n)
			}
		})
	}
}

// TestConsoleRefusedWhileHubUserGone: an account that is enabled while
// its hub user (the one it is linked to) is disabled or deleted — enabled
// again by mistake, a restored backup — can neither use a live session
// (page, form, JSON API, live stream) nor sign in; it works again once
// that user is active again. A new user given the deleted user's name is
// somebody else and does not make it work. An account linked to no hub
// user is not affected.
func TestConsoleRefusedWhileHubUserGone(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	st := h.Store()
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	kimID := scimUser(t, h, "Kim@Example.org", map[string]any{"sites": []string{"north"}})
	tok := admin.invite("kim@example.org", store.ConsoleAdmin)
	kim := newClient(t, h, nil)
	if r := kim.register(tok); r.Status != http.StatusOK {
		t.Fatalf("register kim: %d %s", r.Status, r.Body)
	}
	setState := func(id string, state store.UserState) {
		t.Helper()
		// Straight in the store, past the lifecycle engine (which would
		// disable the console account too): the state this check is for.
		if _, err := st.UpdateUser(ctx, id, func(u store.User) (store.User, error) {
			u.State, u.Active = state, state == store.UserActive
			if state == store.UserDeleted {
				u.Deleted = time.Now().UTC()
			}
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	works := func(when string) {
		t.Helper()
		if r := kim.get("/console/dashboard"); r.Status != http.StatusOK {
			t.Errorf("%s: dashboard %d, want 200", when, r.Status)
		}
	}
	refused := func(when string) {
		t.Helper()
		again := kim.keepCookie()
		if r := kim.get("/console/dashboard"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/signin") {
			t.Errorf("%s: dashboard %d %q, want a redirect to sign-in", when, r.Status, r.location())
		}
		again()
		if r := kim.post("/console/users/"+w.northUser.ID+"/signout", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: force sign-out %d, want 401", when, r.Status)
		}
		again()
		if r := kim.do("GET", "/api/v1/sites", nil, "Accept", "application/json"); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: JSON API with the console session %d %s, want 401", when, r.Status, r.Body)
		}
		if r := kim.signin(); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: passkey sign-in %d %s, want 401", when, r.Status, r.Body)
		}
		if s, _ := st.GetSession(ctx, w.northSession.ID); !s.Ended.IsZero() {
			t.Fatalf("%s: a refused request ended a kiosk session", when)
		}
		if a := account(t, h, "kim@example.org"); !a.Disabled.IsZero() {
			t.Fatalf("%s: the check disabled the account %+v; it only refuses", when, a)
		}
	}
	works("hub user active")
	if r := kim.do("GET", "/api/v1/sites", nil, "Accept", "application/json"); r.Status != http.StatusOK {
		t.Fatalf("JSON API with kim's console session: %d %s", r.Status, r.Body)
	}

	live := admin.supervisor("sam", "north")
	samID := scimUser(t, h, "SAM", nil)
	stream := live.events()
	stream.expect("sessions")
	setState(samID, store.UserDisabled)
	stream.expect("signedout")
	stream.expectEnd()

	setState(kimID, store.UserDisabled)
	refused("hub user disabled")
	if r := admin.get("/console/dashboard"); r.Status != http.StatusOK {
		t.Errorf("admin without a hub user: dashboard %d", r.Status)
	}

	setState(kimID, store.UserActive)
	if r := kim.signin(); r.Status != http.StatusOK {
		t.Fatalf("sign-in with the hub user active again: %d %s", r.Status, r.Body)
	}
	works("hub user active again")

	setState(kimID, store.UserDeleted)
	refused("hub user deleted")

	// A new user of the name after the DELETE is somebody else: the
	// account stays the deleted user's, and refused.
	scimUser(t, h, "kim@example.org", nil)
	refused("a new user of the name")
	if a := account(t, h, "kim@example.org"); a.UserID != kimID {
		t.Errorf("kim's account is linked to %q after a new user of the name came, want the deleted %s", a.UserID, kimID)
	}
}
