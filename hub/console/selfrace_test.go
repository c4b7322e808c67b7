package console

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// raceStore is the hub's store with a change made once, as the next
// transaction begins: what another request commits after a handler read
// the store and before the handler's deciding transaction starts.
type raceStore struct {
	store.Store
	mu     sync.Mutex
	before func()
	fired  bool
}

func (s *raceStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
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

// armed makes f the change the next transaction starts after.
func (s *raceStore) arm(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before, s.fired = f, false
}

func (s *raceStore) hasFired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}

// selfRace is a console on a raceStore with a worker, bob, at site north
// and a role, Picker, to grant.
type selfRace struct {
	c   *Console
	st  *raceStore
	eng *lifecycle.Engine
	bob store.User
}

var scimActor = lifecycle.Actor{Name: "token:okta", System: "scim"}

func newSelfRace(t *testing.T) *selfRace {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &raceStore{Store: db}
	key := make([]byte, 32)
	log, err := audit.New(key, time.Now)
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
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: st, Audit: log, Engine: eng, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Store: st, Engine: eng, Audit: log, AuditKey: key, AuditSigner: signer,
		RPID: "hub.example.test", Origin: "https://hub.example.test", Governance: gov})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSite(ctx, store.Site{ID: "north", Name: "north", TimeZone: "UTC", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	bob, err := eng.CreateUser(ctx, scimActor, store.User{ID: "u-bob", UserName: "bob", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateGroup(ctx, scimActor, store.Group{ID: "g-picker", DisplayName: "Picker"}); err != nil {
		t.Fatal(err)
	}
	return &selfRace{c: c, st: st, eng: eng, bob: bob}
}

// account stores a console account linked to no hub user: no user has its
// name yet (an account made before the identity provider provisioned its
// person, as `admin bootstrap` makes the first admin).
func (r *selfRace) account(t *testing.T, name, role string, sites ...string) *viewer {
	t.Helper()
	now := time.Now().UTC()
	a, err := r.st.CreateConsoleAccount(t.Context(), store.ConsoleAccount{ID: "acct-" + name, Name: name, Role: role, Sites: sites,
		WebAuthnID: []byte("handle-" + name), CreatedBy: "test", Created: now, Modified: now})
	if err != nil {
		t.Fatal(err)
	}
	return &viewer{account: a}
}

// renameBobTo arms the race: as the deciding transaction begins, the
// identity provider renames bob to name, which links the console account
// of that name, linked to nobody until then, to bob. The account's person
// is bob from then on.
func (r *selfRace) renameBobTo(t *testing.T, name string) {
	r.st.arm(func() {
		if _, err := r.eng.UpdateUser(context.Background(), scimActor, r.bob.ID, func(u store.User) (store.User, error) {
			u.UserName = name
			return u, nil
		}); err != nil {
			t.Error(err)
		}
	})
}

func (r *selfRace) linked(t *testing.T, name string) {
	t.Helper()
	if !r.st.hasFired() {
		t.Fatal("the rename did not run before a transaction: the test did not race")
	}
	if a, err := r.st.GetConsoleAccountByName(t.Context(), name); err != nil || a.UserID != r.bob.ID {
		t.Fatalf("account %s after the rename: %+v, %v; want it linked to bob", name, a, err)
	}
}

func post(target string, form url.Values) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func wantForbidden(t *testing.T, err error, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want 403 saying %q", msg)
	} else if code, got := status(err); code != http.StatusForbidden || !strings.Contains(got, msg) {
		t.Errorf("got %d %q (%v), want 403 saying %q", code, got, err, msg)
	}
}

// TestSelfGrantCheckedInTransaction: a supervisor's console account linked
// to nobody grants bob a role; between the handler's reads and the grant's
// transaction, bob is renamed to the account's name, which links the
// account to bob. The grant is a self-grant by then and is refused with the
// 403 the supervisor sees for one: the check reads the account inside the
// transaction that creates the grant, not before it.
func TestSelfGrantCheckedInTransaction(t *testing.T) {
	r := newSelfRace(t)
	v := r.account(t, "sam", store.ConsoleSupervisor, "north")
	r.renameBobTo(t, "sam")
	w := httptest.NewRecorder()
	err := r.c.siteGrant(w, post("/console/site/grants", url.Values{"user": {"bob"}, "role": {"Picker"}, "site": {"north"},
		"until": {"4h"}, "reason": {"cover"}}), v)
	r.linked(t, "sam")
	wantForbidden(t, err, "you cannot grant yourself access: ask an admin")
	if gs, err := r.st.ListGrants(t.Context(), r.bob.ID); err != nil || len(gs) != 0 {
		t.Errorf("grants of bob after the refused self-grant: %+v, %v; want none", gs, err)
	}
}

// TestSelfReviewCheckedInTransaction: an admin's console account linked to
// nobody keeps an access-review item about bob; between the handler's
// reads and the decision's transaction, bob is renamed to the account's
// name, which links the account to bob. The item is about the admin's own
// access by then and the decision is refused with 403: governance reads the
// account inside the decision's transaction. The same holds for the
// Decider the JSON API decides and grants with (a console admin's session).
func TestSelfReviewCheckedInTransaction(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	v := r.account(t, "ada", store.ConsoleAdmin)
	now := time.Now().UTC()
	item := store.ReviewItem{ID: "item-bob-north", CampaignID: "camp", UserID: r.bob.ID, Kind: store.ReviewItemSite, Entitlement: "north",
		ReviewerKind: governance.ReviewerAdmins, Decision: store.ReviewPending, Created: now}
	apiItem := item
	apiItem.ID, apiItem.Kind, apiItem.Entitlement, apiItem.GroupID = "item-bob-picker", store.ReviewItemRole, "Picker", "g-picker"
	if _, err := r.st.CreateCampaign(ctx, store.Campaign{ID: "camp", Name: "Q", Due: now.Add(14 * 24 * time.Hour), Created: now, CreatedBy: "test"},
		[]store.ReviewItem{item, apiItem}); err != nil {
		t.Fatal(err)
	}

	r.renameBobTo(t, "ada")
	req := post("/console/reviews/items/"+item.ID, url.Values{"decision": {"keep"}, "comment": {"still needed"}})
	req.SetPathValue("id", item.ID)
	err := r.c.reviewDecide(httptest.NewRecorder(), req, v)
	r.linked(t, "ada")
	wantForbidden(t, err, "nobody reviews their own access")
	if it, err := r.st.GetReviewItem(ctx, item.ID); err != nil || it.Decision != store.ReviewPending {
		t.Errorf("item after the refused self-review: %+v, %v; want pending", it, err)
	}

	// The JSON API's Decider, for the console admin calling with its
	// session, read before another rename: checked again inside the
	// decision's and the grant's transactions.
	if _, err := r.eng.UpdateUser(ctx, scimActor, r.bob.ID, func(u store.User) (store.User, error) { u.UserName = "bob"; return u, nil }); err != nil {
		t.Fatal(err)
	}
	r2 := r.account(t, "kim", store.ConsoleAdmin)
	who, err := r.c.Decider(ctx, r2.actor())
	if err != nil || who.UserID != "" {
		t.Fatalf("decider kim: %+v, %v; want no hub user yet", who, err)
	}
	r.renameBobTo(t, "kim")
	if _, err := r.c.cfg.Governance.Decide(ctx, who, apiItem.ID, "revoke", ""); !errors.Is(err, governance.ErrForbidden) {
		t.Errorf("API decision by kim after bob became kim: %v, want ErrForbidden", err)
	}
	r.linked(t, "kim")
	_, err = r.eng.GrantAccessAs(ctx, who.Actor, who.Self, store.Grant{UserID: r.bob.ID, Role: "Picker", Site: "north", Reason: "cover", End: time.Now().Add(time.Hour)})
	if !errors.Is(err, lifecycle.ErrSelfGrant) {
		t.Errorf("API grant by kim to bob, now kim: %v, want ErrSelfGrant", err)
	}
}
