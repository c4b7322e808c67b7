package hub

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// TestAPISelfSetShiftsCheckedInTransaction: a console admin whose account
// is linked to nobody calls PUT /api/v1/users/bob/shifts with its session.
// The handler's early check (Console.Decider's UserID) finds no hub user
// for the account; then, as the change's transaction begins, bob is
// renamed to the account's name, which links the account to bob. The
// shifts are the caller's own by then, and the change is answered with the
// API's 403 for one: who.Self is read inside the change's transaction
// (renameStore, as for the extension). Nothing is stored or audited.
func TestAPISelfSetShiftsCheckedInTransaction(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &renameStore{Store: db}
	key := make([]byte, 32)
	alog, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: alog, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: st, Audit: alog, Engine: eng, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Config{Store: st, Engine: eng, Audit: alog, AuditKey: key, AuditSigner: signer,
		RPID: "hub.example.test", Origin: "https://hub.example.test", Governance: gov})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{st: st, engine: eng, gov: gov, console: c}

	scim := lifecycle.Actor{Name: "token:okta", System: "scim"}
	now := time.Now().UTC().Truncate(time.Second)
	before := []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}
	bob, err := eng.CreateUser(ctx, scim, store.User{ID: "u-bob", UserName: "bob", Active: true, Sites: []string{"north"}, Shifts: before})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: "acct-kim", Name: "kim", Role: store.ConsoleAdmin,
		WebAuthnID: []byte("handle-kim"), CreatedBy: "test", Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	st.before = func() {
		if _, err := eng.UpdateUser(context.Background(), scim, bob.ID, func(u store.User) (store.User, error) {
			u.UserName = "kim"
			return u, nil
		}); err != nil {
			t.Error(err)
		}
	}

	// A shift running all night: the caller's own sign-in window widened.
	body := `[{"start": "` + now.Add(-2*time.Hour).Format(time.RFC3339) + `", "end": "` + now.Add(10*time.Hour).Format(time.RFC3339) + `"}]`
	req := httptest.NewRequest(http.MethodPut, "/api/v1/users/bob/shifts", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetPathValue("userName", "bob")
	w := httptest.NewRecorder()
	if err := s.apiSetShifts(w, req, lifecycle.Actor{Name: "console:kim", System: "console"}); err != nil {
		t.Fatalf("set shifts: %v, want a 403 answer", err)
	}

	if !st.fired {
		t.Fatal("the rename did not run before a transaction: the test did not race")
	}
	if a, err := db.GetConsoleAccountByName(ctx, "kim"); err != nil || a.UserID != bob.ID {
		t.Fatalf("account kim after the rename: %+v, %v; want it linked to bob", a, err)
	}
	var got struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != http.StatusForbidden || err != nil ||
		got.Error != "you cannot change your own shifts: ask another admin" {
		t.Errorf("answer %d %s, want 403 saying you cannot change your own shifts", w.Code, w.Body)
	}
	if u, err := db.GetUser(ctx, bob.ID); err != nil || !shift.Equal(u.Shifts, before) {
		t.Errorf("shifts of bob after the refused change: %v, %v; want %v", u.Shifts, err, before)
	}
	if recs, err := db.ListAudit(ctx, store.AuditQuery{Action: "user.shifts_replace"}); err != nil || len(recs) != 0 {
		t.Errorf("user.shifts_replace records after the refused change: %d, %v; want none", len(recs), err)
	}
}
