package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpWordIsDashH: "help" after a command that takes flags prints its
// flags as -h does (exit 0, the same text), as "shiftgate-hub help" and
// "shiftgate-hub token help" do: "backup help" and "restore help" were
// usage mistakes (exit 2, unexpected argument "help") while "backup -h"
// worked. For import shifts, whose argument is a file, only "help" alone
// asks for help (it could not be the file: --data is needed too); with
// --data, "help" is still a file's name.
func TestHelpWordIsDashH(t *testing.T) {
	for _, cmd := range [][]string{
		{"backup"}, {"restore"}, {"serve"}, {"demo"}, {"findings"}, {"report"},
		{"token", "create"}, {"token", "list"}, {"token", "rotate"}, {"token", "revoke"},
		{"device", "code"}, {"device", "list"}, {"site", "set"}, {"site", "list"},
		{"audit", "verify"}, {"audit", "export"}, {"audit", "public-key"}, {"audit", "reindex"},
		{"review", "start"}, {"review", "list"}, {"review", "show"}, {"review", "run"},
		{"admin", "bootstrap"}, {"import", "shifts"},
	} {
		name := strings.Join(cmd, " ")
		hcode, hout, herrs := run(t, append(cmd, "-h")...)
		code, out, errs := run(t, append(cmd, "help")...)
		if hcode != 0 || !strings.HasPrefix(herrs, "Usage of "+name+":\n") {
			t.Fatalf("%s -h: exit %d, stderr %q; want 0 and its flags", name, hcode, herrs)
		}
		if code != hcode || out != hout || errs != herrs {
			t.Errorf("%s help: exit %d, stdout %q, stderr %q; want what -h gives: exit %d, stdout %q, stderr %q", name, code, out, errs, hcode, hout, herrs)
		}
	}

	dir := filepath.Join(t.TempDir(), "hub")
	code, _, errs := run(t, "import", "shifts", "--data", dir, "help")
	if code == 0 || strings.Contains(errs, "Usage of") || !strings.Contains(errs, "holds no hub") {
		t.Errorf("import shifts --data DIR help: exit %d, stderr %q; want the file help refused for a directory that holds no hub, not the flags", code, errs)
	}
}
