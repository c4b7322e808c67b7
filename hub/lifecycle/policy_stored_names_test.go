package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestUpdatePolicyKeepsStoredNames: a policy stored (by an older hub)
// with names that store.Hidden came to refuse later, a role, a
// certification and a site each ending in a variation selector, can
// still be changed: an unrelated edit is saved with them, and so is the
// rename of the role away from its name. The stricter rule holds for
// names the stored version does not hold: the old name given back after
// the rename, or a new one, is refused and nothing is stored.
func TestUpdatePolicyKeepsStoredNames(t *testing.T) {
	st, log := openStore(t)
	e, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"max_session":"12h","shift_grace":"15m","roles":[` +
		`{"name":"Lead\ufe0f","apps":["wms"],"certification":"Forklift\ufe0f","sites":["North\ufe0f"]}],"other":{"apps":[]}}`)
	if _, err := st.UpdatePolicy(t.Context(), func(store.PolicyVersion) (store.PolicyVersion, error) {
		return store.PolicyVersion{Document: doc, ChangedBy: "console:kim", Changed: t0}, nil
	}); err != nil {
		t.Fatal(err)
	}
	p, err := e.LoadPolicy(t.Context(), actor)
	if err != nil {
		t.Fatal(err)
	}

	// An unrelated change: a new role and a longer maximum.
	next := p.Rules.Clone()
	next.MaxSession = 10 * time.Hour
	next.Roles["Picker"] = policy.RoleRule{Apps: []string{"wms"}}
	ch, err := e.UpdatePolicy(t.Context(), actor, p.Version, next)
	if err != nil {
		t.Fatalf("an edit that leaves the stored names as they are: %v", err)
	}
	if !ch.Changed || ch.Policy.Version != p.Version+1 {
		t.Fatalf("the edit stored version %d (changed %v), want %d", ch.Policy.Version, ch.Changed, p.Version+1)
	}
	if r, ok := e.Rules().Roles["Lead\ufe0f"]; !ok || r.Certification != "Forklift\ufe0f" || len(r.Sites) != 1 || r.Sites[0] != "North\ufe0f" {
		t.Errorf("after the edit: roles %v, want role Lead\\ufe0f as stored", e.Rules().Roles)
	}

	// The rename away from the bad name, keeping its site and certification.
	p = ch.Policy
	next = p.Rules.Clone()
	next.Roles["Lead"] = next.Roles["Lead\ufe0f"]
	delete(next.Roles, "Lead\ufe0f")
	if ch, err = e.UpdatePolicy(t.Context(), actor, p.Version, next); err != nil {
		t.Fatalf("renaming role Lead\\ufe0f to Lead: %v", err)
	}
	if _, ok := e.Rules().Roles["Lead"]; !ok {
		t.Errorf("after the rename: roles %v, want Lead", e.Rules().Roles)
	}

	// Names the stored version does not hold are held to the rule, also
	// the old name given back once it is gone and a stored site's name
	// given to a role.
	p = ch.Policy
	for _, tt := range []struct {
		name string
		edit func(r *policy.Rules)
	}{
		{"the renamed role's old name", func(r *policy.Rules) { r.Roles["Lead\ufe0f"] = policy.RoleRule{Apps: []string{"wms"}} }},
		{"a new site", func(r *policy.Rules) {
			r.Roles["Picker"] = policy.RoleRule{Apps: []string{"wms"}, Sites: []string{"South\ufe0f"}}
		}},
		{"a new certification", func(r *policy.Rules) {
			r.Roles["Picker"] = policy.RoleRule{Apps: []string{"wms"}, Certification: "Reach\ufe0f"}
		}},
		{"a stored site's name as a role", func(r *policy.Rules) { r.Roles["North\ufe0f"] = policy.RoleRule{Apps: []string{"wms"}} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := p.Rules.Clone()
			tt.edit(&next)
			_, err := e.UpdatePolicy(t.Context(), actor, p.Version, next)
			if !errors.Is(err, policy.ErrInvalid) || !errors.Is(err, lifecycle.ErrInvalid) {
				t.Fatalf("UpdatePolicy: %v, want ErrInvalid", err)
			}
			if got := e.Policy().Version; got != p.Version {
				t.Errorf("policy version %d after a refused change, want %d", got, p.Version)
			}
		})
	}
}
