package governance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.t) {
		panic(fmt.Sprintf("clock set back from %s to %s", c.t, t))
	}
	c.t = t
}

// env is a real store, audit log, lifecycle engine and governance service
// on one clock; revocations the engine hands on are collected in pushed.
type env struct {
	t      *testing.T
	clock  *clock
	st     store.Store
	log    *audit.Log
	engine *lifecycle.Engine
	gov    *governance.Service

	mu     sync.Mutex
	pushed []store.Revocation
}

var actor = lifecycle.Actor{Name: "token:t1 (admin)", System: "api"}

// decider is actor deciding review items: a token, no person.
var decider = governance.Decider{Actor: actor}

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func newEnv(t *testing.T, start time.Time) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, clock: &clock{t: start}, st: st}
	e.log, err = audit.New(make([]byte, 32), e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.engine, err = lifecycle.New(lifecycle.Config{Store: st, Audit: e.log, Now: e.clock.Now, OnRevoke: func(rs []store.Revocation) {
		e.mu.Lock()
		e.pushed = append(e.pushed, rs...)
		e.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.gov, err = governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"north", "south"} {
		if _, err := st.CreateSite(t.Context(), store.Site{ID: s, Name: s, TimeZone: "UTC", Created: start}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) at(t time.Time) *env { e.clock.Set(t); return e }

// wrappedEnv is a real store, audit log, lifecycle engine and governance
// service on one clock, as env is, but without its sites, and with the
// engine and the service using the store through a wrapper (one that
// records or fails what is done in it); raw is the store itself, for the
// test's own setup and checks, which the wrapper must not see.
type wrappedEnv struct {
	raw    store.Store
	clock  *clock
	log    *audit.Log
	engine *lifecycle.Engine
	gov    *governance.Service
}

// newWrappedEnv makes a wrappedEnv at start, whose store wrap wraps, and
// returns the wrapper too; logger, if not nil, is the service's logger.
func newWrappedEnv[S store.Store](t *testing.T, start time.Time, wrap func(store.Store) S, logger *slog.Logger) (S, wrappedEnv) {
	t.Helper()
	raw, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	st := wrap(raw)
	w := wrappedEnv{raw: raw, clock: &clock{t: start}}
	w.log, err = audit.New(make([]byte, 32), w.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	w.engine, err = lifecycle.New(lifecycle.Config{Store: st, Audit: w.log, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w.gov, err = governance.New(governance.Config{Store: st, Audit: w.log, Engine: w.engine, Now: w.clock.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return st, w
}

// user provisions a joiner now; doc holds the Enterprise extension, if any.
func (e *env) user(name string, sites []string, mod func(*store.User)) store.User {
	e.t.Helper()
	u := store.User{ID: uuid.NewString(), UserName: name, Active: true, Sites: sites}
	if mod != nil {
		mod(&u)
	}
	u, err := e.engine.CreateUser(context.Background(), actor, u)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// enterprise returns a user document with the Enterprise extension.
func enterprise(manager, department string) json.RawMessage {
	ext := map[string]any{}
	if manager != "" {
		ext["manager"] = map[string]string{"value": manager}
	}
	if department != "" {
		ext["department"] = department
	}
	b, _ := json.Marshal(map[string]any{enterpriseURN: ext})
	return b
}

// managedBy sets the user's manager to m, as a mod for user.
func managedBy(m store.User) func(*store.User) {
	return func(u *store.User) { u.Document = enterprise(m.ID, "") }
}

func (e *env) update(id string, fn func(*store.User)) store.User {
	e.t.Helper()
	u, err := e.engine.UpdateUser(context.Background(), actor, id, func(u store.User) (store.User, error) {
		fn(&u)
		return u, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// group creates the role or adds members to it now.
func (e *env) group(name string, members ...string) string {
	e.t.Helper()
	gs, _, err := e.st.ListGroups(context.Background(), store.GroupQuery{DisplayName: name})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(gs) == 0 {
		g, err := e.engine.CreateGroup(context.Background(), actor, store.Group{ID: uuid.NewString(), DisplayName: name, Members: members})
		if err != nil {
			e.t.Fatal(err)
		}
		return g.ID
	}
	_, err = e.engine.UpdateGroup(context.Background(), actor, gs[0].ID, func(g store.Group) (store.Group, error) {
		g.Members = slices.Clone(g.Members) // the engine diffs against the old slice
		for _, m := range members {
			if !slices.Contains(g.Members, m) {
				g.Members = append(g.Members, m)
			}
		}
		slices.Sort(g.Members)
		return g, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return gs[0].ID
}

// badge registers a credential now, as a kiosk registration does.
func (e *env) badge(userID string) []byte {
	e.t.Helper()
	id := []byte("cred-" + uuid.NewString())
	err := e.st.InTx(context.Background(), func(tx store.Ops) error {
		if _, err := tx.CreateCredential(context.Background(), store.Credential{ID: id, UserID: userID, State: store.CredentialActive, Created: e.clock.Now()}); err != nil {
			return err
		}
		_, err := e.log.Append(context.Background(), tx, audit.Entry{Actor: "agent:k", System: "agent", Action: "credential.registered", Subject: "user:" + userID})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// session opens a live kiosk session for the user now at site.
func (e *env) session(userID, site, role string) string {
	e.t.Helper()
	now := e.clock.Now()
	d := store.Device{ID: uuid.NewString(), Name: "kiosk-" + uuid.NewString()[:8], Site: site, Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}
	if _, err := e.st.CreateDevice(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
	s := store.Session{ID: uuid.NewString(), UserID: userID, DeviceID: d.ID, Role: role, Started: now, Expires: now.Add(8 * time.Hour)}
	if _, err := e.st.CreateSession(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
	return s.ID
}

// ack records the kiosk's acknowledgement of a session teardown now.
func (e *env) ack(sessionID string) {
	e.t.Helper()
	s, err := e.st.GetSession(context.Background(), sessionID)
	if err != nil {
		e.t.Fatal(err)
	}
	if n, err := e.st.AckRevocations(context.Background(), sessionID, s.DeviceID, e.clock.Now()); err != nil || n == 0 {
		e.t.Fatalf("ack %s: %d, %v", sessionID, n, err)
	}
}

func (e *env) numbers() governance.Report {
	e.t.Helper()
	r, err := e.gov.Numbers(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) actions(subject string) []string {
	e.t.Helper()
	recs, err := e.st.ListAudit(context.Background(), store.AuditQuery{Subject: subject})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Action)
	}
	return out
}

// itemOf returns user's item in the campaign, from its first page.
func (e *env) itemOf(campaignID string, user store.User) governance.ItemView {
	e.t.Helper()
	p, err := e.gov.CampaignItems(e.t.Context(), campaignID, governance.FirstPage())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range p.Items {
		if it.UserID == user.ID {
			return it
		}
	}
	e.t.Fatalf("no item of %s", user.UserName)
	return governance.ItemView{}
}

func (e *env) pushes() []store.Revocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.pushed)
}

func f(v float64) *float64 { return &v }

// oneNurseItem is an env at t0 with one user, ann (north), in the group
// Nurse, and a campaign of the Nurse role due in two days, whose one item
// (ann's Nurse role) it returns the ID of.
func oneNurseItem(t *testing.T) (*env, store.User, string) {
	t.Helper()
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, nil)
	e.group("Nurse", ann.ID)
	c, err := e.gov.StartCampaign(t.Context(), actor, governance.CampaignRequest{Name: "q", Due: t0.Add(48 * time.Hour), Scope: store.ReviewScope{Roles: []string{"Nurse"}}})
	if err != nil || len(c.Items) != 1 {
		t.Fatalf("campaign %+v, %v", c, err)
	}
	return e, ann, c.Items[0].ID
}
