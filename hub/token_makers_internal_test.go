package hub

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
	"github.com/shiftgate/shiftgate/hub/token"
)

// makersStore is the store of a hub's data directory before the hub
// starts, in which a test makes the console accounts and API tokens that
// an older hub, the CLI or the console left; the hub starts on the
// directory once db is closed.
type makersStore struct {
	db *sqlite.DB
	t0 time.Time // when the accounts and tokens were made
}

// openMakersStore opens the store of dir with the enabled console admins
// names, each with the account ID "acct-"+name, made at t0.
func openMakersStore(t *testing.T, dir string, t0 time.Time, admins ...string) *makersStore {
	t.Helper()
	db, err := OpenStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range admins {
		a := store.ConsoleAccount{ID: "acct-" + name, Name: name, Role: store.ConsoleAdmin, WebAuthnID: []byte("handle-" + name),
			CreatedBy: "test", Created: t0, Modified: t0}
		if _, err := db.CreateConsoleAccount(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	return &makersStore{db: db, t0: t0}
}

// mintedToken is an API token as its maker got it: the secret, which only
// the maker holds, and the record the store keeps.
type mintedToken struct {
	secret string
	tok    store.Token
}

// mint stores a token named name of scope, made at t0 by the console
// account by ("" for the CLI) and valid for six months.
func (m *makersStore) mint(t *testing.T, name, scope, by string) mintedToken {
	t.Helper()
	secret, tok, err := token.NewExpiring(name, scope, m.t0, m.t0.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}
	tok.CreatedBy = by
	if tok, err = m.db.CreateToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return mintedToken{secret, tok}
}

// disableAlone disables the console account id an hour after t0 as a hub
// from before an account's admin tokens went with it did: the account
// alone, its tokens left working in the store.
func (m *makersStore) disableAlone(t *testing.T, id string) {
	t.Helper()
	if _, err := m.db.UpdateConsoleAccount(t.Context(), id, func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.Disabled = m.t0.Add(time.Hour)
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// startMakersHub starts a hub (not serving) on the data directory dir,
// its clock standing at now, logging to the returned buffer; the caller
// closes it, as a test that starts a second hub on dir closes the first
// before.
func startMakersHub(t *testing.T, dir string, now time.Time) (*Server, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	s, err := New(t.Context(), Config{DataDir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

// bearerGet serves a GET of path on s's handler with secret as the
// bearer token, as a script or an identity provider calls the hub.
func bearerGet(s *Server, path, secret string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	return w
}

// leaverMakers is the world of the tests of a maker whose hub user left:
// ada, a first admin made by `admin bootstrap` before the identity
// provider provisioned her (her account linked to nobody), made an admin
// and a SCIM token on the console, ann an admin token, and the CLI one;
// the hub runs a day later.
type leaverMakers struct {
	s                                     *Server
	logs                                  *lockedBuffer
	now                                   time.Time
	adaAdmin, adaSCIM, annAdmin, cliAdmin mintedToken
	okta                                  lifecycle.Actor // ada's SCIM token as the actor
}

func newLeaverMakers(t *testing.T) leaverMakers {
	t.Helper()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ms := openMakersStore(t, dir, t0, "ada", "ann")
	m := leaverMakers{now: t0.Add(24 * time.Hour)}
	m.adaAdmin = ms.mint(t, "ada-script", store.ScopeAdmin, "acct-ada")
	m.adaSCIM = ms.mint(t, "okta-prod", store.ScopeSCIM, "acct-ada")
	m.annAdmin = ms.mint(t, "ann-script", store.ScopeAdmin, "acct-ann")
	m.cliAdmin = ms.mint(t, "ops", store.ScopeAdmin, "")
	if err := ms.db.Close(); err != nil {
		t.Fatal(err)
	}
	m.s, m.logs = startMakersHub(t, dir, m.now)
	t.Cleanup(func() { m.s.Close() })
	m.okta = lifecycle.Actor{Name: token.Actor(m.adaSCIM.tok), System: "scim"}
	return m
}

// adaArrivesDisabled has the identity provider create ada's hub user
// already disabled (active false), which links her account to it and
// leaves the account enabled.
func (m leaverMakers) adaArrivesDisabled(t *testing.T) store.User {
	t.Helper()
	u, err := m.s.engine.CreateUser(t.Context(), m.okta, store.User{ID: "u-ada", UserName: "ada", Active: false})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// enable has the identity provider enable hub user u.
func (m leaverMakers) enable(t *testing.T, u store.User) {
	t.Helper()
	if _, err := m.s.engine.UpdateUser(t.Context(), m.okta, u.ID, func(u store.User) (store.User, error) {
		u.Active = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
}
