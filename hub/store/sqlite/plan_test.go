package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// planner is a querier that records the plan of every query it runs.
type planner struct {
	querier
	plans *[]string
}

func (p planner) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	p.explain(ctx, query, args)
	return p.querier.QueryContext(ctx, query, args...)
}

func (p planner) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	p.explain(ctx, query, args)
	return p.querier.QueryRowContext(ctx, query, args...)
}

func (p planner) explain(ctx context.Context, query string, args []any) {
	rows, err := p.querier.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		*p.plans = append(*p.plans, "error: "+err.Error())
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			*p.plans = append(*p.plans, "error: "+err.Error())
			return
		}
		*p.plans = append(*p.plans, detail)
	}
}

// TestQueryPlans checks that the queries the hub makes on its hot paths
// use an index rather than scanning a table.
func TestQueryPlans(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	now := time.Now()
	all := []store.UserState{store.UserPending, store.UserActive, store.UserDisabled, store.UserDeleted}
	tests := []struct {
		name  string
		run   func(o store.Ops) error
		index string
	}{
		{"userName", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{UserName: "a"})
			return err
		}, "users_user_name_key"},
		{"userName in live states", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{UserName: "a", States: []store.UserState{store.UserActive}})
			return err
		}, "users_user_name_key"},
		{"userName in all states", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{UserName: "a", States: all})
			return err
		}, "users_user_name_key"},
		{"externalID", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{ExternalID: "a"})
			return err
		}, "users_external_id"},
		{"start due", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{States: []store.UserState{store.UserPending}, StartBy: now})
			return err
		}, "users_state_start"},
		{"end due", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{States: []store.UserState{store.UserActive}, EndBy: now})
			return err
		}, "users_state_end"},
		{"page of users", func(o store.Ops) error {
			_, _, err := o.ListUsers(t.Context(), store.UserQuery{Offset: 100, Limit: 10})
			return err
		}, "users_created"},
		{"groups of a member", func(o store.Ops) error {
			_, _, err := o.ListGroups(t.Context(), store.GroupQuery{MemberID: "u"})
			return err
		}, "group_members_user"},
		{"a login's roles", func(o store.Ops) error {
			_, err := o.GroupNamesOf(t.Context(), "u")
			return err
		}, "group_members_user"},
		{"userName with groups", func(o store.Ops) error {
			_, _, _, err := o.ListUsersWithGroups(t.Context(), store.UserQuery{UserName: "a"})
			return err
		}, "users_user_name_key"},
		{"groups of listed users", func(o store.Ops) error {
			_, _, _, err := o.ListUsersWithGroups(t.Context(), store.UserQuery{UserName: "a"})
			return err
		}, "group_members_user"},
		{"group by name", func(o store.Ops) error {
			_, _, err := o.ListGroups(t.Context(), store.GroupQuery{DisplayName: "g"})
			return err
		}, "groups_display_name_key"},
		{"userName taken", func(o store.Ops) error {
			return nameTaken(t.Context(), o.(ops).read, userNameTakenQuery, "userName", "a", "a", "u")
		}, "users_user_name_key"},
		{"displayName taken", func(o store.Ops) error {
			return nameTaken(t.Context(), o.(ops).read, groupNameTakenQuery, "displayName", "g", "g", "g1")
		}, "groups_display_name_key"},
		{"live sessions of a user", func(o store.Ops) error {
			_, err := o.ListSessions(t.Context(), store.SessionQuery{UserID: "u", LiveOnly: true})
			return err
		}, "sessions_user_live"},
		{"session history of a user", func(o store.Ops) error {
			_, err := o.ListSessions(t.Context(), store.SessionQuery{UserID: "u"})
			return err
		}, "SEARCH session_history USING PRIMARY KEY (user_id=?)"},
		{"every live session", func(o store.Ops) error {
			return o.EachLiveSession(t.Context(), func(store.LiveSession) error { return nil })
		}, "sessions_live"},
		{"live sessions of a device", func(o store.Ops) error {
			_, err := o.ListSessions(t.Context(), store.SessionQuery{DeviceID: "d", LiveOnly: true})
			return err
		}, "sessions_device_live"},
		{"pending revocations", func(o store.Ops) error {
			_, err := o.ListRevocations(t.Context(), store.RevocationQuery{PendingOnly: true, AfterID: 5})
			return err
		}, "revocations_pending"},
		{"credentials of a user", func(o store.Ops) error {
			_, err := o.ListCredentials(t.Context(), "u")
			return err
		}, "credentials_user"},
		{"audit by subject", func(o store.Ops) error {
			_, err := o.ListAudit(t.Context(), store.AuditQuery{Subject: "user:u"})
			return err
		}, "SEARCH audit_by_subject USING PRIMARY KEY (val=? AND seq>?)"},
		{"audit by action", func(o store.Ops) error {
			_, err := o.ListAudit(t.Context(), store.AuditQuery{Action: "user.create"})
			return err
		}, "SEARCH audit_by_action USING PRIMARY KEY (val=? AND seq>?)"},
		{"console's audit of a user", func(o store.Ops) error {
			_, err := o.SearchAudit(t.Context(), store.AuditSearch{Subjects: []string{"user:u"}, BeforeSeq: 100, Limit: 50})
			return err
		}, "SEARCH audit_by_subject USING PRIMARY KEY (val=? AND seq<?)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var plans []string
			o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
			if err := tc.run(o); err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(plans, "; ")
			want := tc.index // an index's name, or a step of the plan
			if !strings.Contains(want, " ") {
				want = "INDEX " + want
			}
			if !strings.Contains(plan, want) {
				t.Errorf("plan does not use %s: %s", want, plan)
			}
		})
	}
}
