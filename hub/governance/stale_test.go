package governance_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// beforeTx is a store that runs race, once, just before its next
// transaction begins: a change that commits between the findings report a
// remediation is decided on and the remediation's own transaction.
type beforeTx struct {
	store.Store
	mu   sync.Mutex
	race func()
}

func (s *beforeTx) InTx(ctx context.Context, fn func(store.Ops) error) error {
	s.mu.Lock()
	race := s.race
	s.race = nil
	s.mu.Unlock()
	if race != nil {
		race()
	}
	return s.Store.InTx(ctx, fn)
}

// racing returns a governance service on e's store, log and clock whose
// next transaction runs race first. race changes the state through e.
func (e *env) racing(race func()) *governance.Service {
	e.t.Helper()
	st := &beforeTx{Store: e.st, race: race}
	engine, err := lifecycle.New(lifecycle.Config{Store: st, Audit: e.log, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: engine, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	return gov
}

// TestRemediateRechecksTheFinding: a remediation acts on the finding as it
// stands inside its own transaction, not as the report found it. When the
// state changed in between so that the finding no longer holds (the user
// re-enabled, signed in, given a new badge, a site or a later end date),
// it is a conflict and nothing changes; when what the remediation removes
// is gone already, the outcome is "already gone"; an unrelated change
// does not stop it.
func TestRemediateRechecksTheFinding(t *testing.T) {
	day := 24 * time.Hour
	ctx := context.Background()
	type setup struct {
		rule string
		user store.User
		// race is the change that commits before the remediation's
		// transaction; check asserts what must hold after it.
		race  func()
		check func(t *testing.T)
	}
	activeCreds := func(e *env, userID string, want int) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			cs, err := e.st.ListCredentials(ctx, userID)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, c := range cs {
				if c.State == store.CredentialActive {
					n++
				}
			}
			if n != want {
				t.Errorf("%d active credentials, want %d", n, want)
			}
		}
	}
	member := func(e *env, userID string, want bool) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			gs, _, err := e.st.ListGroups(ctx, store.GroupQuery{MemberID: userID})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(gs) > 0; got != want {
				t.Errorf("member of a group: %v, want %v", got, want)
			}
		}
	}
	state := func(e *env, userID string, want store.UserState) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			if u, err := e.st.GetUser(ctx, userID); err != nil || u.State != want {
				t.Errorf("user is %v (%v), want %v", u.State, err, want)
			}
		}
	}
	disabledWithBadge := func(e *env) (store.User, []byte) {
		u := e.user("ann", []string{"north"}, nil)
		e.at(t0.Add(time.Hour)).update(u.ID, func(u *store.User) { u.Active = false })
		id := []byte("left-behind")
		if _, err := e.st.CreateCredential(ctx, store.Credential{ID: id, UserID: u.ID, State: store.CredentialActive, Created: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		return u, id
	}
	tests := []struct {
		name    string
		setup   func(e *env) setup
		outcome string // "" for a conflict
	}{
		{"credential of a user re-enabled", func(e *env) setup {
			u, _ := disabledWithBadge(e)
			return setup{governance.RuleCredentialWithoutUser, u,
				func() { e.update(u.ID, func(u *store.User) { u.Active = true }) },
				activeCreds(e, u.ID, 1)}
		}, ""},
		{"credential revoked meanwhile", func(e *env) setup {
			u, id := disabledWithBadge(e)
			return setup{governance.RuleCredentialWithoutUser, u,
				func() {
					if err := e.engine.RevokeCredential(ctx, actor, id, "lost"); err != nil {
						t.Fatal(err)
					}
				},
				activeCreds(e, u.ID, 0)}
		}, governance.OutcomeGone},
		{"session of a user re-enabled", func(e *env) setup {
			u := e.user("ann", []string{"north"}, nil)
			e.at(t0.Add(time.Hour)).update(u.ID, func(u *store.User) { u.Active = false })
			sid := e.session(u.ID, "north", "Nurse")
			return setup{governance.RuleSessionWithoutUser, u,
				func() { e.update(u.ID, func(u *store.User) { u.Active = true }) },
				func(t *testing.T) {
					if s, err := e.st.GetSession(ctx, sid); err != nil || !s.Ended.IsZero() {
						t.Errorf("session: %+v, %v; want it live", s, err)
					}
				}}
		}, ""},
		{"dormant badge used", func(e *env) setup {
			u := e.user("ann", []string{"north"}, nil)
			id := e.badge(u.ID)
			e.at(t0.Add(40 * day))
			return setup{governance.RuleNoLogin, u,
				func() {
					if err := e.st.RecordCredentialUse(ctx, id, 0, 1, e.clock.Now()); err != nil {
						t.Fatal(err)
					}
				},
				activeCreds(e, u.ID, 1)}
		}, ""},
		{"dormant badge replaced", func(e *env) setup {
			u := e.user("ann", []string{"north"}, nil)
			e.badge(u.ID)
			e.at(t0.Add(40 * day))
			return setup{governance.RuleNoLogin, u, func() { e.badge(u.ID) }, activeCreds(e, u.ID, 2)}
		}, ""},
		{"end date moved later", func(e *env) setup {
			u := e.user("ann", []string{"north"}, func(u *store.User) { u.EndDate = t0.Add(day) })
			e.at(t0.Add(2 * day))
			return setup{governance.RuleEndDatePassed, u,
				func() { e.update(u.ID, func(u *store.User) { u.EndDate = t0.Add(30 * day) }) },
				state(e, u.ID, store.UserActive)}
		}, ""},
		{"duplicate externalId resolved", func(e *env) setup {
			u := e.user("jo1", []string{"north"}, func(u *store.User) { u.ExternalID = "E1" })
			e.at(t0.Add(time.Second))
			jo2 := e.user("jo2", []string{"north"}, func(u *store.User) { u.ExternalID = "E1" })
			return setup{governance.RuleDuplicateExternalID, u,
				func() { e.update(jo2.ID, func(u *store.User) { u.ExternalID = "E2" }) },
				state(e, u.ID, store.UserActive)}
		}, ""},
		{"credentials given an entitlement", func(e *env) setup {
			u := e.user("ann", nil, nil)
			e.badge(u.ID)
			return setup{governance.RuleCredentialsNoEntitlement, u,
				func() { e.update(u.ID, func(u *store.User) { u.Sites = []string{"north"} }) },
				activeCreds(e, u.ID, 1)}
		}, ""},
		{"role holder given a site", func(e *env) setup {
			u := e.user("ann", nil, nil)
			e.group("Nurse", u.ID)
			return setup{governance.RuleRoleWithoutSite, u,
				func() { e.update(u.ID, func(u *store.User) { u.Sites = []string{"north"} }) },
				member(e, u.ID, true)}
		}, ""},
		{"role given again after the move", func(e *env) setup {
			u := e.user("ann", []string{"north", "south"}, nil)
			gid := e.group("Nurse", u.ID)
			e.at(t0.Add(day)).update(u.ID, func(u *store.User) { u.Sites = []string{"south"} })
			return setup{governance.RuleRoleKeptAfterMove, u,
				func() {
					e.at(t0.Add(2 * day))
					if _, err := e.engine.UpdateGroup(ctx, actor, gid, func(g store.Group) (store.Group, error) {
						g.Members = nil
						return g, nil
					}); err != nil {
						t.Fatal(err)
					}
					e.group("Nurse", u.ID)
				},
				member(e, u.ID, true)}
		}, ""},
		{"unrelated change", func(e *env) setup {
			u := e.user("ann", nil, nil)
			e.group("Nurse", u.ID)
			return setup{governance.RuleRoleWithoutSite, u,
				func() { e.user("bea", []string{"north"}, nil) },
				member(e, u.ID, false)}
		}, "done"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, t0)
			s := tc.setup(e)
			fs, err := e.gov.Findings(ctx, governance.FindingsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(fs, func(f governance.Finding) bool { return f.Rule == s.rule && f.UserID == s.user.ID })
			if i < 0 {
				t.Fatalf("no %s finding about %s in %+v", s.rule, s.user.UserName, fs)
			}
			audited := len(e.actions("user:" + s.user.ID))

			r, err := e.racing(s.race).Remediate(ctx, actor, fs[i].ID, governance.FindingsOptions{})
			if tc.outcome == "" {
				if !errors.Is(err, governance.ErrConflict) {
					t.Fatalf("remediate after the change: %+v, %v; want a conflict", r, err)
				}
			} else if err != nil || r.Outcome != tc.outcome {
				t.Fatalf("remediate after the change: %+v, %v; want outcome %q", r, err, tc.outcome)
			}
			s.check(t)
			remediated := slices.Contains(e.actions("user:" + s.user.ID)[audited:], "finding.remediate")
			if want := tc.outcome != ""; remediated != want {
				t.Errorf("finding.remediate audited: %v, want %v", remediated, want)
			}
		})
	}
}
