package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// Stored policy versions are history: SQL cannot rewrite them.
func TestPolicyAppendOnly(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	if _, err := db.UpdatePolicy(t.Context(), func(store.PolicyVersion) (store.PolicyVersion, error) {
		return store.PolicyVersion{Document: []byte(`{}`), ChangedBy: "t", Changed: time.Now()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE policy_rules SET document = '{}'", "DELETE FROM policy_rules"} {
		if _, err := db.writer.ExecContext(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
}
