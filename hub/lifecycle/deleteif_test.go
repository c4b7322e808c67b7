package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

var errStale = errors.New("injected: stale version")

// storeState is what a delete could change: every user, group, session
// and revocation, and the head of the audit chain.
type storeState struct {
	Users       []store.User
	Groups      []store.Group
	Sessions    []store.Session
	Revocations []store.Revocation
	AuditSeq    int64
}

func stateOf(t *testing.T, st store.Store) storeState {
	t.Helper()
	ctx := t.Context()
	var s storeState
	var err error
	if s.Users, _, err = st.ListUsers(ctx, store.UserQuery{}); err != nil {
		t.Fatal(err)
	}
	if s.Groups, _, err = st.ListGroups(ctx, store.GroupQuery{}); err != nil {
		t.Fatal(err)
	}
	if s.Sessions, err = st.ListSessions(ctx, store.SessionQuery{}); err != nil {
		t.Fatal(err)
	}
	if s.Revocations, err = st.ListRevocations(ctx, store.RevocationQuery{}); err != nil {
		t.Fatal(err)
	}
	if s.AuditSeq, _, err = st.AuditHead(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// countingWave is a lifecycle.Wave that counts what it was given.
type countingWave struct{ pushes int }

func (w *countingWave) Push([]store.Revocation) { w.pushes++ }
func (*countingWave) Wait(ctx context.Context)  {}
func (*countingWave) End()                      {}

// A delete whose check fails (a SCIM If-Match naming an older version)
// changes nothing and tells no kiosk: the check runs on the resource as
// the transaction read it, before the early push of a group delete and
// before any write. The check's error comes back for errors.Is.
func TestDeleteIfFailingCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		wave bool // early pushes go to a Wave (Config.NewWave), not OnRevoke
		del  func(*testing.T, *lifecycle.Engine, *groupFixture, func(int64) error) error
		// version is the stored version of what is deleted.
		version func(*groupFixture) int64
	}{
		{
			name: "group",
			del: func(t *testing.T, eng *lifecycle.Engine, f *groupFixture, check func(int64) error) error {
				return eng.DeleteGroupIf(t.Context(), actor, f.group.ID, func(g store.Group) error { return check(g.Version) })
			},
			version: func(f *groupFixture) int64 { return f.group.Version },
		},
		{
			name: "group with a wave",
			wave: true,
			del: func(t *testing.T, eng *lifecycle.Engine, f *groupFixture, check func(int64) error) error {
				return eng.DeleteGroupIf(t.Context(), actor, f.group.ID, func(g store.Group) error { return check(g.Version) })
			},
			version: func(f *groupFixture) int64 { return f.group.Version },
		},
		{
			name: "user",
			del: func(t *testing.T, eng *lifecycle.Engine, f *groupFixture, check func(int64) error) error {
				return eng.DeleteUserIf(t.Context(), actor, f.members[0], func(u store.User) error { return check(u.Version) })
			},
			version: func(f *groupFixture) int64 {
				u, err := f.st.GetUser(t.Context(), f.members[0])
				if err != nil {
					t.Fatal(err)
				}
				return u.Version
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newGroupFixture(t)
			p := &pushLog{st: f.st, liveThen: map[string]bool{}}
			w := &countingWave{}
			waves := 0
			cfg := lifecycle.Config{Store: f.st, Audit: f.log, Now: func() time.Time { return t0.Add(time.Hour) }, OnRevoke: p.onRevoke}
			if tc.wave {
				cfg.NewWave = func() lifecycle.Wave { waves++; return w }
			}
			eng, err := lifecycle.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			before := stateOf(t, f.st)
			want := tc.version(f)
			var seen []int64
			err = tc.del(t, eng, f, func(v int64) error {
				seen = append(seen, v)
				return errStale
			})
			if !errors.Is(err, errStale) {
				t.Fatalf("delete with a failing check: %v, want the check's error", err)
			}
			if len(seen) != 1 || seen[0] != want {
				t.Errorf("check saw versions %v, want the stored %d once", seen, want)
			}
			if len(p.sessions) != 0 || waves != 0 || w.pushes != 0 {
				t.Errorf("pushed %v to OnRevoke, %d pushes in %d waves; want nothing pushed", p.sessions, w.pushes, waves)
			}
			if diff := cmp.Diff(before, stateOf(t, f.st)); diff != "" {
				t.Errorf("store changed by a delete whose check failed (-before +after):\n%s", diff)
			}

			// The same delete with a passing check goes through.
			if err := tc.del(t, eng, f, func(int64) error { return nil }); err != nil {
				t.Fatalf("delete with a passing check: %v", err)
			}
			if revs, _ := f.st.ListRevocations(t.Context(), store.RevocationQuery{}); len(revs) == 0 {
				t.Error("delete with a passing check recorded no revocation")
			}
		})
	}
}

// A deleted user is ErrNotFound before the check is asked: a SCIM DELETE
// of a tombstone is 404 whatever its If-Match.
func TestDeleteUserIfTombstone(t *testing.T) {
	f := newGroupFixture(t)
	eng := f.engine(t, f.st, nil)
	id := f.members[1]
	if err := eng.DeleteUser(t.Context(), actor, id); err != nil {
		t.Fatal(err)
	}
	called := false
	err := eng.DeleteUserIf(t.Context(), actor, id, func(store.User) error { called = true; return errStale })
	if !errors.Is(err, store.ErrNotFound) || called {
		t.Errorf("delete of a tombstone: %v (check called: %v), want ErrNotFound without the check", err, called)
	}
}
