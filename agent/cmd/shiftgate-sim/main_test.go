package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestScenarioNamed: without a scenario, or with one it does not know,
// the simulator says which there are (usage error, exit 2), before it
// asks for any flag.
func TestScenarioNamed(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"none", nil, "name a scenario first: logins, leaver, mass-revoke, floor or targets"},
		{"flags only", []string{"--hub", "https://localhost:1"}, "name a scenario first"},
		{"unknown", []string{"logon", "--hub", "https://localhost:1"}, `unknown scenario "logon": use logins, leaver, mass-revoke, floor or targets`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("run %q: exit %d, stderr %q; want 2 saying %q", tc.args, code, stderr.String(), tc.want)
			}
		})
	}
}
