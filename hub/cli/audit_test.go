package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditVerifyExport: an export verifies against the hub's key without
// the database, in full and from --after; an edited line is reported
// BROKEN at its record with exit 1.
func TestAuditVerifyExport(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"north-1", "north-2", "north-3"} {
		if code, _, errs := run(t, "device", "code", "--data", dir, "--site", "north", "--name", name); code != 0 {
			t.Fatalf("device code: %d %s", code, errs)
		}
	}
	code, all, errs := run(t, "audit", "export", "--data", dir)
	if code != 0 || strings.Count(all, "\n") < 3 {
		t.Fatalf("audit export: %d %q %q", code, all, errs)
	}
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(all)
	code, out, errs := run(t, "audit", "verify", "--data", dir, "--export", file)
	if code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("verify export: %d %q %q", code, out, errs)
	}
	_, tail, _ := run(t, "audit", "export", "--data", dir, "--after", "1")
	write(tail)
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--export", file, "--after", "1"); code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Errorf("verify export after 1: %d %q %q", code, out, errs)
	}
	write(strings.Replace(all, "north-2", "north-9", 1))
	code, out, errs = run(t, "audit", "verify", "--data", dir, "--export", file)
	if code != 1 || !strings.HasPrefix(out, "BROKEN at record 2:") || !strings.Contains(errs, "intact") {
		t.Errorf("verify edited export: %d %q %q, want exit 1 and BROKEN at record 2", code, out, errs)
	}
}
