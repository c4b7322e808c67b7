package cli_test

import (
	"strings"
	"testing"
)

// TestUsageMistakeIsShort: a usage mistake prints the mistake and one line
// pointing to the command's -h (the overview's, when the command itself is
// the mistake), not the overview after it, nor the flag package's list of
// every flag; it exits 2. Asked for, -h still lists the flags.
func TestUsageMistakeIsShort(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"site", "set", "--data", dir, "--name", "north", "--time-zone", "Mars/Olympus"},
			[]string{`"Mars/Olympus"`, "Run 'shiftgate-hub site set -h' for its flags."}},
		{[]string{"serve", "--data", dir, "--bogus"},
			[]string{"serve: flag provided but not defined: -bogus", "Run 'shiftgate-hub serve -h' for its flags."}},
		{[]string{"serve", "--data", dir, "--shift-grace", "soon"},
			[]string{`invalid value "soon" for flag -shift-grace`, "Run 'shiftgate-hub serve -h' for its flags."}},
		{[]string{"import", "shifts", "--data", dir},
			[]string{"import shifts needs exactly one FILE.csv", "Run 'shiftgate-hub import shifts -h' for its flags."}},
		{[]string{"token", "create", "--data", dir, "--name", "x", "--scope", "root"},
			[]string{"unknown token scope", "Run 'shiftgate-hub token create -h' for its flags."}},
		{[]string{"backup", "--data", dir},
			[]string{"backup needs --out", "Run 'shiftgate-hub backup -h' for its flags."}},
		{[]string{"audit", "frobnicate", "--data", dir},
			[]string{`unknown audit command "frobnicate"`, "Run 'shiftgate-hub -h' for the list of commands."}},
		{[]string{"token"},
			[]string{"token needs create, list, rotate or revoke", "Run 'shiftgate-hub -h' for the list of commands."}},
		{[]string{"frobnicate"},
			[]string{`unknown command "frobnicate"`, "Run 'shiftgate-hub -h' for the list of commands."}},
	} {
		code, out, errs := run(t, tc.args...)
		lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
		if code != 2 || out != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], "shiftgate-hub: ") ||
			!strings.Contains(lines[0], tc.want[0]) || lines[1] != tc.want[1] {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and two lines: the mistake (%q), then %q",
				tc.args, code, out, errs, tc.want[0], tc.want[1])
		}
	}

	code, out, errs := run(t, "site", "set", "-h")
	if code != 0 || out != "" || !strings.HasPrefix(errs, "Usage of site set:\n") || !strings.Contains(errs, "-time-zone string") {
		t.Errorf("site set -h: exit %d, stdout %q, stderr %q; want 0 and its flags on stderr", code, out, errs)
	}
}
