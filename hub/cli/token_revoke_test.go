package cli_test

import (
	"strings"
	"testing"
)

// TestTokenRevokeTwice: revoking a token revoked already changes nothing
// and says so (exit 0, as the console's Revoke). It appended a second
// token.revoke record, at the time of the repeat: the audit trail then
// told an auditor of two revocations, the later one at a time the token
// had long stopped working, and the CLI said "revoked token" as if it
// had just done so.
func TestTokenRevokeTwice(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, "token", "create", "--data", dir, "--name", "okta", "--scope", "scim"); code != 0 {
		t.Fatalf("token create: exit %d, %s", code, errs)
	}
	_, list, _ := run(t, "token", "list", "--data", dir)
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	if code, _, errs := run(t, "token", "revoke", "--data", dir, "--id", id); code != 0 || !strings.Contains(errs, "revoked token "+id) {
		t.Fatalf("token revoke: exit %d, %q", code, errs)
	}
	code, out, errs := run(t, "token", "revoke", "--data", dir, "--id", id)
	if code != 0 || out != "" || !strings.Contains(errs, "revoked already") || !strings.Contains(errs, "nothing was changed") {
		t.Errorf("token revoke again: exit %d, stdout %q, stderr %q; want exit 0 saying it was revoked already and nothing changed", code, out, errs)
	}
	_, export, errs := run(t, "audit", "export", "--data", dir)
	if n := strings.Count(export, `"token.revoke"`); n != 1 {
		t.Errorf("audit export has %d token.revoke records after revoking twice; want 1 (%s)\n%s", n, errs, export)
	}
}
