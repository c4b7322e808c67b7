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
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// renameStore is the hub's store with a change made once, as the next
// transaction begins: what another request commits after a handler read
// the store and before the handler's deciding transaction starts.
type renameStore struct {
	store.Store
	mu     sync.Mutex
	before func()
	fired  bool
}

func (s *renameStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	s.mu.Lock()
	f := s.before
	s.before = nil
	s.mu.Unlock()
	if f != nil {
		f()
		s.mu.Lock()
		s.fired = true
		s.mu.Unlock()
	}
	return s.Store.InTx(ctx, fn)
}

// selfRace is a hub (Server with its store wrapped in renameStore) with
// bob, who works at north on shifts, and the console admin account kim,
// linked to nobody: as the next transaction begins, bob is renamed kim,
// which links the account to him. A handler called as console:kim has read
// the account as nobody's in its early check, and finds in its deciding
// transaction that it is deciding on its caller's own access.
type selfRace struct {
	s   *Server
	st  *renameStore
	db  *sqlite.DB
	bob store.User
	now time.Time
}

func newSelfRace(t *testing.T, shifts func(now time.Time) []store.Shift) *selfRace {
	t.Helper()
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
	scim := lifecycle.Actor{Name: "token:okta", System: "scim"}
	now := time.Now().UTC().Truncate(time.Second)
	bob, err := eng.CreateUser(ctx, scim, store.User{ID: "u-bob", UserName: "bob", Active: true, Sites: []string{"north"}, Shifts: shifts(now)})
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
	return &selfRace{s: &Server{st: st, engine: eng, gov: gov, console: c}, st: st, db: db, bob: bob, now: now}
}

// call calls handler with body as console:kim for bob's path and checks
// that the race ran: the rename came before a transaction and linked kim
// to bob. It returns the handler's answer.
func (r *selfRace) call(t *testing.T, handler func(http.ResponseWriter, *http.Request, lifecycle.Actor) error, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetPathValue("userName", "bob")
	w := httptest.NewRecorder()
	if err := handler(w, req, lifecycle.Actor{Name: "console:kim", System: "console"}); err != nil {
		t.Fatalf("%s %s: %v, want an answer", method, path, err)
	}
	if !r.st.fired {
		t.Fatal("the rename did not run before a transaction: the test did not race")
	}
	if a, err := r.db.GetConsoleAccountByName(t.Context(), "kim"); err != nil || a.UserID != r.bob.ID {
		t.Fatalf("account kim after the rename: %+v, %v; want it linked to bob", a, err)
	}
	return w
}

// wantForbidden checks that w is the API's 403 saying msg.
func wantForbidden(t *testing.T, w *httptest.ResponseRecorder, msg string) {
	t.Helper()
	var got struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != http.StatusForbidden || err != nil || got.Error != msg {
		t.Errorf("answer %d %s, want 403 saying %q", w.Code, w.Body, msg)
	}
}

// TestAPISelfExtendCheckedInTransaction: a console admin whose account is
// linked to nobody calls POST /api/v1/users/bob/extend with its session.
// The handler's early check (Console.Decider's UserID) finds no hub user
// for the account; then, as the extension's transaction begins, bob is
// renamed to the account's name, which links the account to bob
// (selfRace). The extension is of the caller's own shift by then and is
// answered with the API's 403 for one: who.Self is read inside the
// extension's transaction. Nothing is stored.
func TestAPISelfExtendCheckedInTransaction(t *testing.T) {
	r := newSelfRace(t, func(now time.Time) []store.Shift {
		return []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}
	})
	body := `{"site": "north", "until": "` + r.now.Add(2*time.Hour).Format(time.RFC3339) + `", "reason": "late handover"}`
	w := r.call(t, r.s.apiExtendShift, http.MethodPost, "/api/v1/users/bob/extend", body)
	wantForbidden(t, w, "you cannot extend your own shift: ask another admin")
	if xs, err := r.db.ListShiftExtensions(t.Context(), r.bob.ID); err != nil || len(xs) != 0 {
		t.Errorf("extensions of bob after the refused self-extension: %+v, %v; want none", xs, err)
	}
	if recs, err := r.db.ListAudit(t.Context(), store.AuditQuery{Action: "shift.extend"}); err != nil || len(recs) != 0 {
		t.Errorf("shift.extend records after the refused self-extension: %d, %v; want none", len(recs), err)
	}
}
