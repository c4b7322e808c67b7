package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditProgress: verify, export and verify --export say how far they
// are on a large trail, on stderr, so that stdout stays the export or the
// verdict. (The command reports every 100,000 records; here every 1,000.)
func TestAuditProgress(t *testing.T) {
	ctx := t.Context()
	const n = 2500 // and the device code's record: 2501
	dir := auditTrail(t, n, func(i int) string { return fmt.Sprintf("user:%d", i) })

	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if err := (env{stdout: &out, stderr: &errb}).auditEvery(ctx, args, 1000); err != nil {
			t.Fatalf("audit %v: %v\n%s", args, err, errb.String())
		}
		return out.String(), errb.String()
	}
	progress := func(what, errs string) {
		t.Helper()
		var lines []string
		for _, l := range strings.Split(errs, "\n") {
			if strings.HasPrefix(l, what+" ") && strings.Contains(l, "(up to record") {
				lines = append(lines, l)
			}
		}
		want := []string{what + " 1000 records (up to record 1000)", what + " 2000 records (up to record 2000)"}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("progress lines = %q, want %q", lines, want)
		}
	}
	got, errs := run("verify", "--data", dir)
	if !strings.HasPrefix(got, "OK: 2501 records") {
		t.Errorf("verify: %q", got)
	}
	progress("verified", errs)
	all, errs := run("export", "--data", dir)
	// The records, then the signature (device code made the signing key).
	if strings.Count(all, "\n") != n+2 || strings.Contains(all, "exported ") {
		t.Errorf("export has %d lines, want %d, and no progress in it", strings.Count(all, "\n"), n+2)
	}
	progress("exported", errs)
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(file, []byte(all), 0o600); err != nil {
		t.Fatal(err)
	}
	got, errs = run("verify", "--data", dir, "--export", file)
	if !strings.HasPrefix(got, "OK: 2501 records") {
		t.Errorf("verify --export: %q", got)
	}
	progress("verified", errs)
}
