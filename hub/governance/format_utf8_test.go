package governance_test

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"
	"unicode/utf8"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// TestFindingsCSVValidUTF8: names and details with bytes that are not
// UTF-8 (a Latin-1 name from an old HR system, a truncated multi-byte
// character) are written valid, each run of invalid bytes as U+FFFD, and
// still neutralised as formulas when they start like one; valid text is
// written as it is, and nothing is quoted twice.
func TestFindingsCSVValidUTF8(t *testing.T) {
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"latin-1", "Jos\xe9 P\xe9rez", "Jos\uFFFD P\uFFFDrez"},
		{"run of invalid bytes", "a\xff\xfe\xfdb", "a\uFFFDb"},
		{"truncated character", "caf\xc3", "caf\uFFFD"},
		{"invalid first", "\xff=1+1", "\uFFFD=1+1"},
		{"formula with invalid bytes", "=HYPERLINK(\"x\xff\")", "'=HYPERLINK(\"x\uFFFD\")"},
		{"tab then invalid", "\t\xc0", "'\t\uFFFD"},
		{"valid accents", "José Pérez", "José Pérez"},
		{"quoted already", "'=1+1", "'=1+1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := governance.Finding{ID: "no_login-1", Kind: "dormant", Rule: "no_login", UserID: tc.in, User: tc.in,
				Entitlement: tc.in, Since: &since, Remediation: tc.in, Detail: tc.in}
			var out bytes.Buffer
			if err := governance.WriteFindingsCSV(&out, []governance.Finding{f}); err != nil {
				t.Fatal(err)
			}
			if !utf8.Valid(out.Bytes()) {
				t.Errorf("the CSV is not valid UTF-8: %q", out.String())
			}
			rows, err := csv.NewReader(&out).ReadAll()
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			want := [][]string{
				{"id", "kind", "rule", "user_id", "user", "entitlement", "since", "remediation", "detail"},
				{"no_login-1", "dormant", "no_login", tc.want, tc.want, tc.want, "2026-03-01T12:00:00Z", tc.want, tc.want},
			}
			if d := gocmp.Diff(want, rows); d != "" {
				t.Errorf("CSV rows (-want +got):\n%s", d)
			}
		})
	}
}
