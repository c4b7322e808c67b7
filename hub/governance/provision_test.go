package governance_test

import (
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// wantTTP checks the time to provision, from e's service (which folds the
// log as it grows) and from a fresh one that reads it whole (the CLI's
// report): both must agree with want.
func wantTTP(t *testing.T, e *env, when string, want governance.Durations) {
	t.Helper()
	if d := gocmp.Diff(want, e.numbers().TimeToProvision); d != "" {
		t.Errorf("%s: time to provision (-want +got):\n%s", when, d)
	}
	fresh, err := governance.New(governance.Config{Store: e.st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := fresh.Numbers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(want, rep.TimeToProvision); d != "" {
		t.Errorf("%s: time to provision from a fresh service (-want +got):\n%s", when, d)
	}
}

// one is the summary of a single measured duration of v seconds.
func one(v float64) governance.Durations {
	return governance.Durations{P50: f(v), P95: f(v), Max: f(v), Count: 1, Sum: v}
}

// TestProvisionClockStartsAtRequest: the time to provision counts the
// hub's delay from the moment access was asked for, not how long HR
// staged the account before: an account created inactive is asked for
// when it is activated, a pre-day-one joiner on its start date as last
// given (HR moves start dates), and one activated ahead of its start date
// can sign in only once the scheduler made it active. Before its clock
// starts a joiner is not pending: nobody is waiting for it yet.
func TestProvisionClockStartsAtRequest(t *testing.T) {
	minute, hour, day := time.Minute, time.Hour, 24*time.Hour

	t.Run("created inactive", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("pat", []string{"north"}, func(u *store.User) { u.Active = false })
		e.at(t0.Add(hour)).group("Nurse", u.ID)
		wantTTP(t, e.at(t0.Add(10*day)), "staged for 10 days", governance.Durations{})
		e.update(u.ID, func(u *store.User) { u.Active = true })
		wantTTP(t, e, "activated", governance.Durations{Pending: 1})
		e.at(t0.Add(10*day + 5*minute)).badge(u.ID)
		wantTTP(t, e, "badge registered", one(300))
	})

	t.Run("start date postponed", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("cy", []string{"north"}, func(u *store.User) { u.StartDate = t0.Add(2 * day) })
		e.group("Picker", u.ID)
		e.badge(u.ID)
		e.at(t0.Add(day)).update(u.ID, func(u *store.User) { u.StartDate = t0.Add(9 * day) })
		wantTTP(t, e.at(t0.Add(5*day)), "after the first start date, before the new one", governance.Durations{})
		if d, err := e.at(t0.Add(9*day + minute)).engine.RunDue(t.Context()); err != nil || d.Activated != 1 {
			t.Fatalf("activate: %+v, %v", d, err)
		}
		wantTTP(t, e, "activated a minute after the new start date", one(60))
	})

	t.Run("activated ahead of its start date", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("ida", []string{"north"}, func(u *store.User) { u.Active, u.StartDate = false, t0.Add(5*day) })
		e.group("Picker", u.ID)
		if got := e.at(t0.Add(day)).update(u.ID, func(u *store.User) { u.Active = true }); got.State != store.UserPending {
			t.Fatalf("state after activation = %v, want pending", got.State)
		}
		e.at(t0.Add(day + hour)).badge(u.ID)
		wantTTP(t, e.at(t0.Add(3*day)), "before the start date", governance.Durations{})
		wantTTP(t, e.at(t0.Add(5*day+minute)), "start date passed, scheduler late", governance.Durations{Pending: 1})
		if d, err := e.at(t0.Add(5*day + 2*minute)).engine.RunDue(t.Context()); err != nil || d.Activated != 1 {
			t.Fatalf("activate: %+v, %v", d, err)
		}
		wantTTP(t, e, "activated", one(120))
	})
}

// TestProvisionThroughGrant: a just-in-time grant entitles its holder
// only while it runs. A grant that starts later leaves the joiner pending
// until it starts (not measured as provisioned at a time still to come);
// one revoked before it started, or over before the badge was registered,
// never let the joiner sign in.
func TestProvisionThroughGrant(t *testing.T) {
	hour, day := time.Hour, 24*time.Hour
	grant := func(t *testing.T, e *env, userID string, start, end time.Time) store.Grant {
		t.Helper()
		g, err := e.engine.GrantAccess(t.Context(), actor, store.Grant{UserID: userID, Role: "Nurse", Site: "north", Start: start, End: end, Reason: "cover"})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}

	t.Run("starts later", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("dee", nil, nil)
		e.badge(u.ID)
		grant(t, e.at(t0.Add(hour)), u.ID, t0.Add(2*day), t0.Add(3*day))
		wantTTP(t, e.at(t0.Add(day)), "before the grant starts", governance.Durations{Pending: 1})
		wantTTP(t, e.at(t0.Add(2*day+hour)), "while the grant runs", one((2 * day).Seconds()))
	})

	t.Run("revoked before it started", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("dee", nil, nil)
		e.badge(u.ID)
		g := grant(t, e, u.ID, t0.Add(day), t0.Add(2*day))
		if _, err := e.at(t0.Add(2*hour)).engine.RevokeGrant(t.Context(), actor, g.ID, "not needed"); err != nil {
			t.Fatal(err)
		}
		wantTTP(t, e.at(t0.Add(3*day)), "after the revoked grant's window", governance.Durations{Pending: 1})
	})

	t.Run("over before the badge", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("dee", nil, nil)
		grant(t, e, u.ID, t0, t0.Add(4*hour))
		e.at(t0.Add(5 * hour)).badge(u.ID)
		wantTTP(t, e.at(t0.Add(day)), "badge after the grant ended", governance.Durations{Pending: 1})
	})
}

// TestRehireIsAJoiner: a deprovisioned user the identity provider
// activates again (a re-hire, a contract renewed) was stripped of its
// roles, badges and grants; until it can sign in again it is a joiner
// waiting, measured from its re-activation. A role given back while it
// was disabled counts from the re-activation, also when the group was
// renamed meanwhile (a rename keeps its members).
func TestRehireIsAJoiner(t *testing.T) {
	minute, hour, day := time.Minute, time.Hour, 24*time.Hour
	e := newEnv(t, t0)
	u := e.user("rae", []string{"north"}, nil)
	gid := e.group("Nurse", u.ID)
	e.at(t0.Add(10 * minute)).badge(u.ID)
	e.at(t0.Add(day)).update(u.ID, func(u *store.User) { u.Active = false })
	wantTTP(t, e, "after the leaver", one(600))

	e.at(t0.Add(20*day)).group("Nurse", u.ID) // given back while disabled
	if _, err := e.at(t0.Add(21*day)).engine.UpdateGroup(t.Context(), actor, gid, func(g store.Group) (store.Group, error) {
		g.DisplayName = "Ward nurse"
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(30*day)).update(u.ID, func(u *store.User) { u.Active = true })
	wantTTP(t, e, "re-hired, no badge yet", governance.Durations{P50: f(600), P95: f(600), Max: f(600), Count: 1, Sum: 600, Pending: 1})
	e.at(t0.Add(30*day + hour)).badge(u.ID)
	wantTTP(t, e, "re-hire enrolled", governance.Durations{P50: f(600), P95: f(3600), Max: f(3600), Count: 2, Sum: 4200})
}

// TestRehireKeepsItsRole: a leaver keeps its memberships (they give a
// disabled user nothing), so a re-hire the identity provider activates
// again, and nothing else, is ready once it has a badge. A trail written
// by an earlier hub, whose leavers lost every group (user.deprovision
// with rolesRemoved), is still read that way: its re-hire waits for a
// role.
func TestRehireKeepsItsRole(t *testing.T) {
	hour, day := time.Hour, 24*time.Hour
	t.Run("kept", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("rae", []string{"north"}, nil)
		e.group("Nurse", u.ID)
		e.at(t0.Add(hour)).badge(u.ID)
		e.at(t0.Add(day)).update(u.ID, func(u *store.User) { u.Active = false })
		e.at(t0.Add(30*day)).update(u.ID, func(u *store.User) { u.Active = true })
		e.at(t0.Add(30*day + 2*hour)).badge(u.ID)
		wantTTP(t, e, "re-hire enrolled", governance.Durations{P50: f(3600), P95: f(7200), Max: f(7200), Count: 2, Sum: 10800})
	})
	t.Run("removed by an earlier hub", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("rae", []string{"north"}, nil)
		e.group("Nurse", u.ID)
		e.at(t0.Add(hour)).badge(u.ID)
		e.at(t0.Add(day))
		err := e.st.InTx(t.Context(), func(tx store.Ops) error {
			if _, err := tx.UpdateUser(t.Context(), u.ID, func(old store.User) (store.User, error) {
				old.State, old.Active = store.UserDisabled, false
				return old, nil
			}); err != nil {
				return err
			}
			if _, err := tx.RemoveMemberships(t.Context(), u.ID, t0.Add(day)); err != nil {
				return err
			}
			_, err := e.log.Append(t.Context(), tx, audit.Entry{Actor: actor.Name, System: "scim", Action: "user.deprovision", Subject: "user:" + u.ID,
				Detail: map[string]any{"reason": "user deactivated", "rolesRemoved": []string{"Nurse"}, "credentialsRevoked": []string{}, "grantsRevoked": 0, "sessionsEnded": []string{}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.at(t0.Add(30*day)).update(u.ID, func(u *store.User) { u.Active = true })
		e.at(t0.Add(30*day + 2*hour)).badge(u.ID)
		wantTTP(t, e, "re-hire without a role", governance.Durations{P50: f(3600), P95: f(3600), Max: f(3600), Count: 1, Sum: 3600, Pending: 1})
	})
}

// TestDeprovisionClockFromHeldEndDate: an end date the hub held before it
// passed starts the deprovisioning clock whoever acts on it: the hub's
// own delay counts also when the identity provider's deactivation, or an
// admin remediating the end_date_passed finding, comes before the
// scheduler does (a hub that was down, a scheduler that failed).
func TestDeprovisionClockFromHeldEndDate(t *testing.T) {
	hour, day := time.Hour, 24*time.Hour
	end := t0.Add(day)

	t.Run("deactivated by the identity provider", func(t *testing.T) {
		e := newEnv(t, t0)
		u := e.user("lee", []string{"north"}, func(u *store.User) { u.EndDate = end })
		sid := e.session(u.ID, "north", "Picker")
		e.at(end.Add(2*hour)).update(u.ID, func(u *store.User) { u.Active = false })
		e.at(end.Add(2*hour + 3*time.Second)).ack(sid)
		if d := gocmp.Diff(one(2*3600+3), e.numbers().TimeToDeprovision); d != "" {
			t.Errorf("time to deprovision (-want +got):\n%s", d)
		}
	})

	t.Run("finding remediated", func(t *testing.T) {
		e := newEnv(t, t0)
		e.user("lee", []string{"north"}, func(u *store.User) { u.EndDate = end })
		e.at(end.Add(2 * day))
		var id string
		for _, f := range mustFindings(t, e) {
			if f.Rule == governance.RuleEndDatePassed {
				id = f.ID
			}
		}
		if _, err := e.gov.Remediate(t.Context(), actor, id, governance.FindingsOptions{}); err != nil {
			t.Fatal(err)
		}
		if d := gocmp.Diff(one((2 * day).Seconds()), e.numbers().TimeToDeprovision); d != "" {
			t.Errorf("time to deprovision (-want +got):\n%s", d)
		}
	})
}

func mustFindings(t *testing.T, e *env) []governance.Finding {
	t.Helper()
	fs, err := e.gov.Findings(t.Context(), governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
