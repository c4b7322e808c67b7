package lifecycle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// roleGrantFixture: three nurses of North, members of the group Nurse,
// each signed in; now is t0+1h.
//
//   - ana covers at South through a grant of Nurse there until t0+5h:
//     besides her North session (s-ana-north, under the group) she has
//     one at South (s-ana-south), which only the grant gives.
//   - bo has a grant of Nurse at North itself until t0+4h on top of the
//     group: her session (s-bo) runs to t0+9h, as a group role outlives
//     any grant.
//   - cy has a grant of Nurse at West, not where she is signed in
//     (s-cy, North).
//
// filler more members without sessions make the group as large as asked
// (a large group's sessions are read in one scan of all live sessions).
type roleGrantFixture struct {
	st  store.Store
	eng *lifecycle.Engine
	now time.Time

	mu     sync.Mutex
	pushed []string                 // sessions handed to OnRevoke
	moved  []lifecycle.ExpiryChange // handed to OnExpiry
}

func newRoleGrantFixture(t *testing.T, filler int) *roleGrantFixture {
	t.Helper()
	ctx := t.Context()
	st, log := openStore(t)
	f := &roleGrantFixture{st: st, now: t0.Add(time.Hour)}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return f.now },
		OnRevoke: func(rs []store.Revocation) {
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, r := range rs {
				if r.SessionID != "" {
					f.pushed = append(f.pushed, r.SessionID)
				}
			}
		},
		OnExpiry: func(ms []lifecycle.ExpiryChange) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.moved = append(f.moved, ms...)
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	for _, site := range []string{"north", "south", "west"} {
		if _, err := st.CreateSite(ctx, store.Site{ID: site, Name: site, TimeZone: "UTC", Created: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateDevice(ctx, store.Device{ID: "d-" + site, Name: site + "-1", Site: site, Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
			t.Fatal(err)
		}
	}
	// Kiosks of their own for the others at North, so that each session
	// is the only one on its kiosk.
	for _, id := range []string{"d-north-bo", "d-north-cy"} {
		if _, err := st.CreateDevice(ctx, store.Device{ID: id, Name: id, Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"ana", "bo", "cy"} {
		if _, err := eng.CreateUser(ctx, actor, store.User{ID: "u-" + name, UserName: name, Active: true, Sites: []string{"North"}}); err != nil {
			t.Fatal(err)
		}
	}
	members := []string{"u-ana", "u-bo", "u-cy"}
	for i := range filler {
		u, err := eng.CreateUser(ctx, actor, store.User{ID: fmt.Sprintf("u-filler%d", i), UserName: fmt.Sprintf("filler%d", i), Active: true, Sites: []string{"North"}})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, u.ID)
	}
	if _, err := eng.CreateGroup(ctx, actor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: members}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []store.Grant{
		{UserID: "u-ana", Role: "Nurse", Site: "South", End: t0.Add(5 * time.Hour), Reason: "cover at South"},
		{UserID: "u-bo", Role: "nurse", Site: "north", End: t0.Add(4 * time.Hour), Reason: "overlap"},
		{UserID: "u-cy", Role: "Nurse", Site: "west", End: t0.Add(5 * time.Hour), Reason: "cover at West"},
	} {
		if _, err := eng.GrantAccess(ctx, actor, g); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []store.Session{
		{ID: "s-ana-north", UserID: "u-ana", DeviceID: "d-north", Role: "Nurse", Expires: t0.Add(9 * time.Hour)},
		{ID: "s-ana-south", UserID: "u-ana", DeviceID: "d-south", Role: "Nurse", Expires: t0.Add(5 * time.Hour)},
		{ID: "s-bo", UserID: "u-bo", DeviceID: "d-north-bo", Role: "Nurse", Expires: t0.Add(9 * time.Hour)},
		{ID: "s-cy", UserID: "u-cy", DeviceID: "d-north-cy", Role: "Nurse", Expires: t0.Add(9 * time.Hour)},
	} {
		s.Started = t0.Add(30 * time.Minute)
		if _, err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestRoleLossKeepsSessionsAGrantStillGives: a change that takes the role
// Nurse away (members removed from its group, the group deleted or
// renamed, an access review's removal) ends each session under it only
// where the user no longer holds the role. A session the user holds
// through a running grant at its kiosk's site goes on, neither ended nor
// pushed (ana at South): a kiosk told to tear it down would see her sign
// in again at once with the same grant, after losing her work mid-shift.
// A session that held the role through the group, where a grant of it
// runs too, goes on to the grant's end (bo: shortened from t0+9h to t0+4h,
// kiosk told, audited), as a session started through the grant alone
// would. A grant at another site keeps nothing here (cy), and a session
// at the user's site without a grant there ends (ana at North).
//
// Before, every session under the role ended, whatever grant the user
// held: role removal never looked at grants, while a grant's revocation
// looks at the group (endGrantSessions).
func TestRoleLossKeepsSessionsAGrantStillGives(t *testing.T) {
	for _, tc := range []struct {
		name   string
		filler int
		change func(ctx context.Context, eng *lifecycle.Engine) error
	}{
		{"members removed", 0, func(ctx context.Context, eng *lifecycle.Engine) error {
			_, err := eng.UpdateGroup(ctx, actor, "g-nurse", func(g store.Group) (store.Group, error) {
				g.Members = nil
				return g, nil
			})
			return err
		}},
		{"group deleted", 0, func(ctx context.Context, eng *lifecycle.Engine) error {
			return eng.DeleteGroup(ctx, actor, "g-nurse")
		}},
		{"large group deleted", 40, func(ctx context.Context, eng *lifecycle.Engine) error {
			return eng.DeleteGroup(ctx, actor, "g-nurse")
		}},
		{"group renamed", 0, func(ctx context.Context, eng *lifecycle.Engine) error {
			_, err := eng.UpdateGroup(ctx, actor, "g-nurse", func(g store.Group) (store.Group, error) {
				g.DisplayName = "Registered Nurse"
				return g, nil
			})
			return err
		}},
		{"review removes each member", 0, func(ctx context.Context, eng *lifecycle.Engine) error {
			return eng.Do(ctx, func(tx *lifecycle.Tx) error {
				for _, uid := range []string{"u-ana", "u-bo", "u-cy"} {
					if err := tx.RemoveMember(ctx, actor, "g-nurse", uid); err != nil {
						return err
					}
				}
				return nil
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			f := newRoleGrantFixture(t, tc.filler)
			if err := tc.change(ctx, f.eng); err != nil {
				t.Fatal(err)
			}
			type state struct {
				live    bool
				reason  string
				expires time.Time
			}
			want := map[string]state{
				"s-ana-north": {reason: lifecycle.ReasonEntitlementRemoved, expires: t0.Add(9 * time.Hour)},
				"s-ana-south": {live: true, expires: t0.Add(5 * time.Hour)},
				"s-bo":        {live: true, expires: t0.Add(4 * time.Hour)},
				"s-cy":        {reason: lifecycle.ReasonEntitlementRemoved, expires: t0.Add(9 * time.Hour)},
			}
			for id, w := range want {
				s, err := f.st.GetSession(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				got := state{live: s.Ended.IsZero(), reason: s.EndReason, expires: s.Expires}
				if got.live != w.live || got.reason != w.reason || !got.expires.Equal(w.expires) {
					t.Errorf("%s: live %v, ended %q, expires %s; want live %v, ended %q, expires %s",
						id, got.live, got.reason, got.expires, w.live, w.reason, w.expires)
				}
			}
			slices.Sort(f.pushed)
			if want := []string{"s-ana-north", "s-cy"}; !slices.Equal(f.pushed, want) {
				t.Errorf("session.revoke pushed for %v, want %v", f.pushed, want)
			}
			if len(f.moved) != 1 || f.moved[0].Session.ID != "s-bo" || !f.moved[0].Session.Expires.Equal(t0.Add(4*time.Hour)) {
				t.Errorf("kiosks told of moved expiries %+v, want s-bo to t0+4h", f.moved)
			}
			// The store agrees with the pushes: a revocation for each
			// session ended, none for one kept.
			for _, id := range []string{"s-ana-south", "s-bo"} {
				if rs, err := f.st.ListRevocations(ctx, store.RevocationQuery{SessionID: id}); err != nil || len(rs) != 0 {
					t.Errorf("revocations of kept session %s: %+v (%v)", id, rs, err)
				}
			}
			for _, id := range []string{"s-ana-north", "s-cy"} {
				if rs, err := f.st.ListRevocations(ctx, store.RevocationQuery{SessionID: id}); err != nil || len(rs) != 1 {
					t.Errorf("revocations of ended session %s: %+v (%v), want one", id, rs, err)
				}
			}
			removed := entitlementRecords(t, f.st, "user:u-ana")
			if len(removed) != 1 || !slices.Equal(removed[0].SessionsEnded, []string{"s-ana-north"}) || !slices.Equal(removed[0].SessionsKept, []string{"s-ana-south"}) {
				t.Errorf("ana's user.entitlements_removed: %+v, want s-ana-north ended and s-ana-south kept", removed)
			}
			if got := expiryChanges(t, f.st, "user:u-bo"); len(got) != 1 || got[0]["session"] != "s-bo" || got[0]["endsBy"] != "grant_end" {
				t.Errorf("bo's session.expiry_change records: %v, want one for s-bo ending by grant_end", got)
			}
		})
	}
}

type removedDetail struct {
	Roles         []string `json:"roles"`
	SessionsEnded []string `json:"sessionsEnded"`
	SessionsKept  []string `json:"sessionsKept"`
}

// entitlementRecords returns the details of subject's
// user.entitlements_removed audit records.
func entitlementRecords(t *testing.T, st store.Store, subject string) []removedDetail {
	t.Helper()
	var out []removedDetail
	for _, r := range auditOf(t, st, subject, "user.entitlements_removed") {
		var d removedDetail
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// expiryChanges returns the details of subject's session.expiry_change
// audit records.
func expiryChanges(t *testing.T, st store.Store, subject string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range auditOf(t, st, subject, "session.expiry_change") {
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func auditOf(t *testing.T, st store.Store, subject, action string) []store.AuditRecord {
	t.Helper()
	recs, err := st.ListAudit(t.Context(), store.AuditQuery{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditRecord
	for _, r := range recs {
		if r.Subject == subject {
			out = append(out, r)
		}
	}
	return out
}

// TestRedecideTakesJoinerActiveAtStart: a joiner may sign in from the
// instant their start date comes, before the scheduler has recorded the
// activation (the login decides the user active then: hub's
// channel.timeInput). A policy change committed in between decides the
// live session again; it must read the user the way the login did, not
// as the pending record says. Before, the re-decision saw "user is
// pending" and ended the new starter's first session
// (entitlement_removed), whatever the change was.
func TestRedecideTakesJoinerActiveAtStart(t *testing.T) {
	ctx := t.Context()
	f := newRoleGrantFixture(t, 0)
	f.now = t0
	start := t0.Add(30 * time.Minute)
	if _, err := f.eng.CreateUser(ctx, actor, store.User{ID: "u-dee", UserName: "dee", Active: true, Sites: []string{"North"}, StartDate: start}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.UpdateGroup(ctx, actor, "g-nurse", func(g store.Group) (store.Group, error) {
		g.Members = append(g.Members, "u-dee")
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Signed in a second after the start; the scheduler has not run.
	f.now = start.Add(2 * time.Second)
	if _, err := f.st.CreateDevice(ctx, store.Device{ID: "d-north-dee", Name: "north-dee", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.CreateSession(ctx, store.Session{ID: "s-dee", UserID: "u-dee", DeviceID: "d-north-dee", Role: "Nurse", Started: start.Add(time.Second), Expires: start.Add(9 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if u, err := f.st.GetUser(ctx, "u-dee"); err != nil || u.State != store.UserPending {
		t.Fatalf("dee before the scheduler's pass: %+v (%v), want pending", u.State, err)
	}
	p, err := f.eng.LoadPolicy(ctx, actor)
	if err != nil {
		t.Fatal(err)
	}
	rules := f.eng.Rules().Clone()
	rules.Roles["Pharmacist"] = policy.RoleRule{Apps: []string{"pharmacy"}} // a change that takes nothing away
	if _, err := f.eng.UpdatePolicy(ctx, actor, p.Version, rules); err != nil {
		t.Fatal(err)
	}
	if s, err := f.st.GetSession(ctx, "s-dee"); err != nil || !s.Ended.IsZero() || !s.Expires.Equal(start.Add(9*time.Hour)) {
		t.Errorf("dee's session after a policy change that takes nothing away: %+v (%v), want it live until %s", s, err, start.Add(9*time.Hour))
	}
	if slices.Contains(f.pushed, "s-dee") {
		t.Errorf("session.revoke pushed for dee's session")
	}
}
