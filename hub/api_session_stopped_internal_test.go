package hub

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestAPIOfDisabledAccountRefusedInTransaction: the console admin kim
// calls the JSON API, with its signed-in session or with an admin token it
// made on the console, to grant bob a role, extend bob's shift and keep an
// access-review item about bob. Each request passed the session or token
// check; then, as its deciding transaction begins, kim's account is
// disabled (selfRace's store, armed with the disable instead of the
// rename). Each is answered 403 saying why, as kim's console session is:
// Console.Decider's and AccountDecider's Self refuse the disabled account
// inside the transaction (sessionSelfIn). Disabling the account revokes
// the token, but these requests are past the token check. Nothing is
// stored or audited.
func TestAPIOfDisabledAccountRefusedInTransaction(t *testing.T) {
	for _, via := range []string{"session", "token"} {
		t.Run(via, func(t *testing.T) { testAPIOfDisabledAccount(t, via) })
	}
}

func testAPIOfDisabledAccount(t *testing.T, via string) {
	ctx := t.Context()
	r := newSelfRace(t, func(now time.Time) []store.Shift {
		return []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}
	})
	r.st.before = nil // bob keeps his name: kim stays linked to nobody
	r.s.cfg.Logger = slog.New(slog.DiscardHandler)
	if _, err := r.db.CreateSite(ctx, store.Site{ID: "north", Name: "north", TimeZone: "UTC", Created: r.now}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.engine.CreateGroup(ctx, lifecycle.Actor{Name: "token:okta", System: "scim"}, store.Group{ID: "g-picker", DisplayName: "Picker"}); err != nil {
		t.Fatal(err)
	}
	item := store.ReviewItem{ID: "item-bob-north", CampaignID: "camp", UserID: r.bob.ID, Kind: store.ReviewItemSite, Entitlement: "north",
		ReviewerKind: governance.ReviewerAdmins, Decision: store.ReviewPending, Created: r.now}
	if _, err := r.db.CreateCampaign(ctx, store.Campaign{ID: "camp", Name: "Q", Due: r.now.Add(14 * 24 * time.Hour), Created: r.now, CreatedBy: "test"},
		[]store.ReviewItem{item}); err != nil {
		t.Fatal(err)
	}
	actor := lifecycle.Actor{Name: "console:kim", System: "console"}
	if via == "token" {
		_, tok, err := token.New("kim-scripts", store.ScopeAdmin, r.now)
		if err != nil {
			t.Fatal(err)
		}
		tok.CreatedBy = "acct-kim"
		if tok, err = r.db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		actor = lifecycle.Actor{Name: token.Actor(tok), System: "api"}
	}
	audited := func(action string) int {
		t.Helper()
		recs, err := r.db.ListAudit(ctx, store.AuditQuery{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	before := map[string]int{}
	for _, action := range []string{"grant.create", "shift.extend", "review.decide"} {
		before[action] = audited(action)
	}

	for _, tc := range []struct {
		name, method, path, body string
		handler                  func(http.ResponseWriter, *http.Request, lifecycle.Actor) error
	}{
		{"grant", http.MethodPost, "/api/v1/grants",
			`{"user": "bob", "role": "Picker", "site": "north", "end": "` + r.now.Add(time.Hour).Format(time.RFC3339) + `", "reason": "cover"}`,
			r.s.apiCreateGrant},
		{"extend", http.MethodPost, "/api/v1/users/bob/extend",
			`{"site": "north", "until": "` + r.now.Add(2*time.Hour).Format(time.RFC3339) + `", "reason": "late handover"}`,
			r.s.apiExtendShift},
		{"decide", http.MethodPost, "/api/v1/reviews/camp/items/" + item.ID, `{"decision": "keep", "comment": "still needed"}`,
			r.s.apiDecide},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Enabled again for each request: the disable is what races it.
			if _, err := r.db.UpdateConsoleAccount(ctx, "acct-kim", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
				a.Disabled = time.Time{}
				return a, nil
			}); err != nil {
				t.Fatal(err)
			}
			r.st.mu.Lock()
			r.st.before, r.st.fired = func() {
				if err := r.db.InTx(context.Background(), func(tx store.Ops) error {
					_, _, err := store.DisableConsoleAccount(context.Background(), tx, "acct-kim", time.Now().UTC())
					return err
				}); err != nil {
					t.Error(err)
				}
			}, false
			r.st.mu.Unlock()

			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.SetPathValue("userName", "bob")
			req.SetPathValue("id", "camp")
			req.SetPathValue("item", item.ID)
			w := httptest.NewRecorder()
			// As s.admin renders a handler's error.
			if err := tc.handler(w, req, actor); err != nil {
				r.s.writeAPIError(w, req, err)
			}
			r.st.mu.Lock()
			fired := r.st.fired
			r.st.mu.Unlock()
			if !fired {
				t.Fatal("the disable did not run before a transaction: the test did not race")
			}
			var got struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != http.StatusForbidden || err != nil ||
				!strings.Contains(got.Error, "your console account was disabled") {
				t.Errorf("answer %d %s, want 403 saying the console account was disabled", w.Code, w.Body)
			}
		})
	}
	if gs, err := r.db.ListGrants(ctx, r.bob.ID); err != nil || len(gs) != 0 {
		t.Errorf("grants of bob after the disabled account's grant: %+v, %v; want none", gs, err)
	}
	if xs, err := r.db.ListShiftExtensions(ctx, r.bob.ID); err != nil || len(xs) != 0 {
		t.Errorf("extensions of bob after the disabled account's extension: %+v, %v; want none", xs, err)
	}
	if it, err := r.db.GetReviewItem(ctx, item.ID); err != nil || it.Decision != store.ReviewPending {
		t.Errorf("item after the disabled account's decision: %+v, %v; want pending", it, err)
	}
	for action, n := range before {
		if got := audited(action); got != n {
			t.Errorf("refused requests wrote %d %s records", got-n, action)
		}
	}
}
