package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// countingTx is a store that counts its transactions (InTx, the only
// way the engine writes): each one holds the hub's one writer.
type countingTx struct {
	store.Store
	n atomic.Int64
}

func (s *countingTx) InTx(ctx context.Context, fn func(store.Ops) error) error {
	s.n.Add(1)
	return s.Store.InTx(ctx, fn)
}

// TestUpdatePolicyInvalidNoTx: rules invalid whatever the store holds (a
// role without apps, an app ID that is not one) are refused before any
// transaction, with the message the check inside it gave, every problem
// listed; they used to cost a write transaction, held while every kiosk
// login waited for it. A new name with a hidden character, which a name
// the stored version holds may keep, is still checked against the stored
// version, inside the transaction.
func TestUpdatePolicyInvalidNoTx(t *testing.T) {
	sqlite, log := openStore(t)
	st := &countingTx{Store: sqlite}
	e, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.LoadPolicy(t.Context(), actor)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		edit   func(r *policy.Rules)
		wantTx int64
	}{
		{"a role without apps", func(r *policy.Rules) { r.Roles["Picker"] = policy.RoleRule{} }, 0},
		{"an app that is not an app ID", func(r *policy.Rules) { r.Roles["Picker"] = policy.RoleRule{Apps: []string{"W M S"}} }, 0},
		{"a role without apps and a new name with a hidden character", func(r *policy.Rules) {
			r.Roles["Picker"] = policy.RoleRule{}
			r.Roles["Lead\u200b"] = policy.RoleRule{Apps: []string{"wms"}}
		}, 0},
		// Only the stored version says whether the name is new.
		{"only a new name with a hidden character", func(r *policy.Rules) { r.Roles["Lead\u200b"] = policy.RoleRule{Apps: []string{"wms"}} }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := p.Rules.Clone()
			if next.Roles == nil {
				next.Roles = map[string]policy.RoleRule{}
			}
			tc.edit(&next)
			want := fmt.Sprintf("update policy: %v: %v", lifecycle.ErrInvalid, next.Validate())
			before := st.n.Load()
			_, err := e.UpdatePolicy(t.Context(), actor, p.Version, next)
			if !errors.Is(err, lifecycle.ErrInvalid) || !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("UpdatePolicy = %v, want ErrInvalid", err)
			}
			if err.Error() != want {
				t.Errorf("UpdatePolicy = %q, want %q", err, want)
			}
			if n := st.n.Load() - before; n != tc.wantTx {
				t.Errorf("%d transactions ran, want %d", n, tc.wantTx)
			}
		})
	}
	if got := e.Policy().Version; got != p.Version {
		t.Errorf("policy version %d after the refused edits, want %d", got, p.Version)
	}
}
