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
// nor the hub may depend on Fyne (STYLE.md, "The UI is a client"), and
// only the kiosk binary may import fyne.io/fyne/v2/app.
func TestCoreDoesNotImportFyne(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, tc := range []struct {
		name     string
		patterns []string
		banned   string
	}{
		{"agent and hub", []string{"./agent/...", "./hub/...", "./firmware-profiles/...", "./certs/..."}, "fyne.io"},
		{"ui", []string{"./ui"}, "fyne.io/fyne/v2/app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"list", "-deps", "-test"}, tc.patterns...)
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
			for p := range strings.FieldsSeq(string(out)) {
				if p == tc.banned || strings.HasPrefix(p, tc.banned+"/") {
					t.Errorf("%s depend on %s", strings.Join(tc.patterns, " "), p)
				}
			}
		})
	}
}
