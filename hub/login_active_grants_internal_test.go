package hub

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/authn"
	"github.com/shiftgate/shiftgate/hub/store"
)

// grantRows is a store that counts the grants its reads return, inside
// transactions too: what a login reads of a worker's grants.
type grantRows struct {
	store.Store
	n *atomic.Int64
}

func (s grantRows) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error { return fn(grantRowOps{Ops: tx, n: s.n}) })
}

func (s grantRows) ListGrants(ctx context.Context, userID string) ([]store.Grant, error) {
	return grantRowOps{Ops: s.Store, n: s.n}.ListGrants(ctx, userID)
}

func (s grantRows) ListActiveGrants(ctx context.Context, userID string, at time.Time) ([]store.Grant, error) {
	return grantRowOps{Ops: s.Store, n: s.n}.ListActiveGrants(ctx, userID, at)
}

type grantRowOps struct {
	store.Ops
	n *atomic.Int64
}

func (o grantRowOps) ListGrants(ctx context.Context, userID string) ([]store.Grant, error) {
	gs, err := o.Ops.ListGrants(ctx, userID)
	o.n.Add(int64(len(gs)))
	return gs, err
}

func (o grantRowOps) ListActiveGrants(ctx context.Context, userID string, at time.Time) ([]store.Grant, error) {
	gs, err := o.Ops.ListActiveGrants(ctx, userID, at)
	o.n.Add(int64(len(gs)))
	return gs, err
}

// grantHub is a hub on a clock stopped at now, with kiosk k1 at north and
// ana, a worker of south (north only through grants), whose badge it
// returns registered.
func grantHub(t *testing.T, now time.Time) (*Server, store.User, authenticator.Authenticator) {
	t.Helper()
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	if _, err := s.st.CreateDevice(ctx, store.Device{ID: "k1", Name: "kiosk-k1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	u, err := s.st.CreateUser(ctx, store.User{ID: "u1", UserName: "ana", Active: true, State: store.UserActive, Sites: []string{"south"}, Created: now, Modified: now})
	if err != nil {
		t.Fatal(err)
	}
	env, badge := registerRequest(t, s, "k1", u)
	if reply, err := s.channel.Request(channelCtx(t), "k1", env); err != nil || reply.Type != wire.TypeRegistered {
		t.Fatalf("register: %s %s, %v", reply.Type, reply.Data, err)
	}
	return s, u, badge
}

// loginEnvelope is a login of badge at k1, on a challenge k1 fetched.
func loginEnvelope(t *testing.T, s *Server, badge authenticator.Authenticator) wire.Envelope {
	t.Helper()
	ch, err := s.channel.rp.BeginLogin("k1")
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := authenticator.Authenticate(t.Context(), badge, ch.Origin, ch.Options)
	if err != nil {
		t.Fatal(err)
	}
	env, err := wire.New(wire.TypeLogin, "l1", "", wire.Login{Credential: assertion})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// loginAt taps badge on k1 and returns the hub's answer.
func loginAt(t *testing.T, s *Server, badge authenticator.Authenticator) wire.Envelope {
	t.Helper()
	reply, err := s.channel.Request(channelCtx(t), "k1", loginEnvelope(t, s, badge))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return reply
}

// TestLoginReadsOnlyGrantsInForce: a worker with a grant a week for ten
// years (500 over, 20 revoked before their end) and one running, plus
// one yet to start, signs in with the running grant, and the login reads
// that one grant alone. Before, it read all 522 on every tap.
func TestLoginReadsOnlyGrantsInForce(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s, u, badge := grantHub(t, now)
	ctx := t.Context()
	week := 7 * 24 * time.Hour
	running := store.Grant{ID: "running", UserID: u.ID, Role: "Nurse", Site: "north", Reason: "cover", Approver: "cli",
		Start: now.Add(-time.Hour), End: now.Add(3 * time.Hour), Created: now.Add(-time.Hour)}
	err := s.st.InTx(ctx, func(tx store.Ops) error {
		for i := range 520 {
			start := now.Add(-time.Duration(521-i) * week)
			g := store.Grant{ID: fmt.Sprintf("old-%03d", i), UserID: u.ID, Role: "Nurse", Site: "north", Reason: "cover", Approver: "cli",
				Start: start, End: start.Add(week - time.Hour), Created: start}
			if i >= 500 {
				// Revoked early: their ends are still to come.
				g.Start, g.End, g.Revoked = now.Add(-time.Duration(i)*time.Minute), now.Add(week), now.Add(-time.Minute)
			}
			if _, err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
		}
		if _, err := tx.CreateGrant(ctx, running); err != nil {
			return err
		}
		_, err := tx.CreateGrant(ctx, store.Grant{ID: "upcoming", UserID: u.ID, Role: "Supervisor", Site: "north", Reason: "cover", Approver: "cli",
			Start: now.Add(time.Hour), End: now.Add(week), Created: now})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// The relying party runs the login's transaction: it gets the
	// counting store, the rest of the hub keeps the real one.
	var rows atomic.Int64
	rp, err := authn.New(authn.Config{RPID: "localhost", RPDisplayName: "Shiftgate", Origin: "https://localhost:8443",
		Store: grantRows{Store: s.st, n: &rows}, Audit: s.audit, Now: s.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.channel.rp = rp

	reply := loginAt(t, s, badge)
	var g wire.SessionGrant
	if reply.Type != wire.TypeSessionGrant || reply.Unmarshal(&g) != nil {
		t.Fatalf("login answered %s %s, want %s", reply.Type, reply.Data, wire.TypeSessionGrant)
	}
	if g.Role != "Nurse" || !g.ExpiresAt.Equal(running.End) {
		t.Errorf("session as %q until %s, want Nurse until the running grant's end %s", g.Role, g.ExpiresAt, running.End)
	}
	if n := rows.Load(); n != 1 {
		t.Errorf("the login read %d grants, want 1: the one in force", n)
	}
}

// TestLoginByGrantState: a worker whose only way into north is a grant
// signs in there while it runs (from its first instant, until the grant's
// end), and is refused before it starts, from its end on, once it is
// revoked, and with a grant for another site. policy.Decide's grant edges
// hold through the login's read of the grants in force.
func TestLoginByGrantState(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	h := time.Hour
	tests := []struct {
		name       string
		start, end time.Duration // from now
		revoked    bool
		site       string
		want       bool
	}{
		{name: "running", start: -h, end: 2 * h, want: true},
		{name: "starts now", start: 0, end: 2 * h, want: true},
		{name: "ends a nanosecond after now", start: -h, end: time.Nanosecond, want: true},
		{name: "upcoming", start: time.Nanosecond, end: 2 * h},
		{name: "ends now", start: -h, end: 0},
		{name: "ended", start: -3 * h, end: -h},
		{name: "revoked", start: -h, end: 2 * h, revoked: true},
		{name: "another site", start: -h, end: 2 * h, site: "south"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, u, badge := grantHub(t, now)
			gr := store.Grant{ID: "g1", UserID: u.ID, Role: "Nurse", Site: "north", Reason: "cover", Approver: "cli",
				Start: now.Add(tc.start), End: now.Add(tc.end), Created: now.Add(-4 * h)}
			if tc.site != "" {
				gr.Site = tc.site
			}
			if tc.revoked {
				gr.Revoked = now.Add(-time.Minute)
			}
			if _, err := s.st.CreateGrant(t.Context(), gr); err != nil {
				t.Fatal(err)
			}
			reply := loginAt(t, s, badge)
			if !tc.want {
				var r wire.LoginRefused
				if reply.Type != wire.TypeLoginRefused || reply.Unmarshal(&r) != nil || r.Reason != wire.RefusedNotAllowedHere {
					t.Errorf("login answered %s %s, want %s (%s)", reply.Type, reply.Data, wire.TypeLoginRefused, wire.RefusedNotAllowedHere)
				}
				return
			}
			var g wire.SessionGrant
			if reply.Type != wire.TypeSessionGrant || reply.Unmarshal(&g) != nil {
				t.Fatalf("login answered %s %s, want %s", reply.Type, reply.Data, wire.TypeSessionGrant)
			}
			if g.Role != "Nurse" || !g.ExpiresAt.Equal(gr.End) {
				t.Errorf("session as %q until %s, want Nurse until the grant's end %s", g.Role, g.ExpiresAt, gr.End)
			}
		})
	}
}
