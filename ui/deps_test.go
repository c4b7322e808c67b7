package ui

import (
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCoreDoesNotImportFyne keeps the UI a client: neither the agent core
// nor the hub may depend on Fyne (STYLE.md, "The UI is a client"), only
// the kiosk binary may import fyne.io/fyne/v2/app, and package ui talks to
// the hub only through the agent core (its tests may run a hub).
func TestCoreDoesNotImportFyne(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, tc := range []struct {
		name     string
		patterns []string
		tests    bool // include the packages' test dependencies
		banned   string
	}{
		{"agent and hub", []string{"./agent/...", "./hub/...", "./firmware-profiles/...", "./certs/..."}, true, "fyne.io"},
		{"ui", []string{"./ui"}, true, "fyne.io/fyne/v2/app"},
		{"ui without its tests", []string{"./ui"}, false, "github.com/shiftgate/shiftgate/hub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"list", "-deps"}
			if tc.tests {
				args = append(args, "-test")
			}
			args = append(args, tc.patterns...)
			cmd := exec.CommandContext(t.Context(), gobin, args...)
			cmd.Dir = ".."
			out, err := cmd.Output()
			if err != nil {
				var stderr string
				if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
			}
			n := 0
			for p := range strings.FieldsSeq(string(out)) {
				n++
				if p == tc.banned || strings.HasPrefix(p, tc.banned+"/") {
					t.Errorf("%s depend on %s", strings.Join(tc.patterns, " "), p)
				}
			}
			if n == 0 {
				t.Fatalf("go %s listed nothing", strings.Join(args, " "))
			}
		})
	}
}
