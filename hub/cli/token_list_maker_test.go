package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestTokenListShowsMaker: token list has a MADE BY column in the words of
// the console's Tokens page: console:<name> for a token a console account
// made, "console account <id>" for one whose account was deleted since (as
// the audit trail names it), "CLI, or not recorded" for a token the CLI
// made. A maker's name that is not plain text is quoted, so that it cannot
// drive the terminal or shift the columns.
func TestTokenListShowsMaker(t *testing.T) {
	dir := t.TempDir()
	_, byCLI := createToken(t, dir, "--name", "okta", "--scope", "scim")
	var byAda, byGone, byOdd store.Token
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		ctx := t.Context()
		now := time.Now().UTC()
		for _, a := range []store.ConsoleAccount{
			{ID: "acct-ada", Name: "ada@example.org", WebAuthnID: []byte("handle-ada")},
			{ID: "acct-odd", Name: "odd\x1b[2K\tname", WebAuthnID: []byte("handle-odd")}, // as a store might hold it
		} {
			a.Role, a.CreatedBy, a.Created, a.Modified = store.ConsoleAdmin, "test", now, now
			if _, err := st.CreateConsoleAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		// Made as the console's Tokens page makes them: with their maker.
		for _, m := range []struct {
			tok         *store.Token
			name, maker string
		}{{&byAda, "ada-scripts", "acct-ada"}, {&byGone, "old-scripts", "acct-deleted"}, {&byOdd, "odd-scripts", "acct-odd"}} {
			_, tok, err := token.NewExpiring(m.name, store.ScopeAdmin, now, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			tok.CreatedBy = m.maker
			if *m.tok, err = st.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
	})
	code, out, errs := run(t, "token", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "MADE BY") {
		t.Fatalf("token list: exit %d, %q, %q; want a MADE BY column", code, out, errs)
	}
	if strings.ContainsAny(out, "\x1b") {
		t.Errorf("token list printed a control character raw:\n%q", out)
	}
	for id, want := range map[string]string{
		byCLI.ID:  "  CLI, or not recorded  ",
		byAda.ID:  "  console:ada@example.org  ",
		byGone.ID: "  console account acct-deleted  ",
		byOdd.ID:  `  "console:odd\x1b[2K\tname"  `,
	} {
		var line string
		for l := range strings.SplitSeq(out, "\n") {
			if strings.HasPrefix(l, id) {
				line = l
			}
		}
		if !strings.Contains(line, want) {
			t.Errorf("token list line of %s: %q; want it made by %q", id, line, strings.TrimSpace(want))
		}
	}
}
