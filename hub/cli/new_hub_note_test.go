package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestNewHubNote: token create, device code and admin bootstrap make a
// new hub in a --data that holds none (documented: they run before a
// hub's first serve). With a mistyped --data (a letter short, the parent
// of the real directory) they printed a token, code or link for that new,
// empty hub without a word, which the real hub then refuses: they now say
// on stderr that a new hub was made, and where; stdout is still the secret
// alone. On a directory that holds a hub they say nothing of the kind.
func TestNewHubNote(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"token create", []string{"token", "create", "--name", "okta", "--scope", "scim"}},
		{"device code", []string{"device", "code", "--site", "north", "--name", "north-1"}},
		{"admin bootstrap", []string{"admin", "bootstrap", "--name", "ada@example.org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, dir := range []string{
				filepath.Join(t.TempDir(), "shiftgat"), // missing
				t.TempDir(),                            // there, but not a hub's
			} {
				code, out, errs := run(t, append(tc.args, "--data", dir)...)
				if code != 0 || strings.Count(out, "\n") != 1 {
					t.Fatalf("%s: exit %d, stdout %q, stderr %q", dir, code, out, errs)
				}
				if !strings.Contains(errs, dir+" held no hub, so a new one was made there") || !strings.Contains(errs, "check --data") {
					t.Errorf("%s: stderr %q; want a note that a new hub was made there", dir, errs)
				}
				if strings.Contains(errs, strings.TrimSpace(out)) {
					t.Errorf("%s: the secret is on stderr too: %q", dir, errs)
				}
				// Once there, the hub is an existing one.
				args := append(tc.args, "--data", dir)
				if tc.name == "device code" {
					args = append(args, "--name", "north-2")
				} else if tc.name == "admin bootstrap" {
					args = append(args, "--force")
				}
				code, _, errs = run(t, args...)
				if code != 0 || strings.Contains(errs, "held no hub") {
					t.Errorf("%s again: exit %d, stderr %q; want no note of a new hub", dir, code, errs)
				}
			}
		})
	}
}
