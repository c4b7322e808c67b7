package hub_test

import (
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
)

// TestPolicyUpdateRefusesInvisibleNames: the console's policy forms build
// Rules and store them with Engine.UpdatePolicy, not through the API's
// ParseEdit; that path refuses too a role or site name with an invisible
// character, which reads as the plain name in the console and the audit
// trail yet matches no user's role or kiosk's site. Nothing is stored.
func TestPolicyUpdateRefusesInvisibleNames(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := lifecycle.Actor{Name: "console:kim", System: "console"}
	for _, tt := range []struct {
		name string
		edit func(r *policy.Rules)
	}{
		{"zero-width space after a role name", func(r *policy.Rules) { r.Roles["Nurse\u200b"] = policy.RoleRule{Apps: []string{"ehr"}} }},
		{"Hangul filler after a role name", func(r *policy.Rules) { r.Roles["Porter\u3164"] = policy.RoleRule{Apps: []string{"lifts"}} }},
		{"bidi override in a site", func(r *policy.Rules) {
			r.Roles["Nurse"] = policy.RoleRule{Apps: []string{"ehr"}, Sites: []string{"\u202ehtron"}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := storedVersion(t, h)
			rules := h.Engine().Rules().Clone()
			tt.edit(&rules)
			_, err := h.Engine().UpdatePolicy(t.Context(), admin, before, rules)
			if !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("UpdatePolicy: %v, want policy.ErrInvalid", err)
			}
			if v := storedVersion(t, h); v != before {
				t.Errorf("policy version %d after a refused update, want %d", v, before)
			}
		})
	}
}
