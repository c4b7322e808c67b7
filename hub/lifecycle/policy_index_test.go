package lifecycle_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
)

// The policy in force carries its role index (policy.Rules.Indexed), from
// the start, after loading and after every change: logins look each of a
// user's groups up in it.
func TestPolicyInForceIsIndexed(t *testing.T) {
	st, log := openStore(t)
	now := t0
	e, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if e.Rules().Index == nil {
		t.Error("the initial rules have no index")
	}
	p, err := e.LoadPolicy(t.Context(), actor)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rules.Index == nil || e.Rules().Index == nil {
		t.Error("the loaded policy has no index")
	}
	next := e.Rules().Clone()
	next.Roles["Ärzte"] = policy.RoleRule{Apps: []string{"emr"}}
	if _, err := e.UpdatePolicy(t.Context(), actor, p.Version, next); err != nil {
		t.Fatal(err)
	}
	if r := e.Rules(); r.Index == nil || len(r.Rule("ÄRZTE").Apps) != 1 {
		t.Errorf("after a change: index %v, Rule(ÄRZTE) %v; want an index finding the new role", r.Index != nil, r.Rule("ÄRZTE").Apps)
	}
}
