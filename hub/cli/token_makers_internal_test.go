package cli

import (
	"context"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// countingLister counts reads of the console accounts.
type countingLister struct{ reads int }

func (c *countingLister) ListConsoleAccounts(context.Context) ([]store.ConsoleAccount, error) {
	c.reads++
	return []store.ConsoleAccount{{ID: "acct-ada", Name: "ada"}}, nil
}

// TestTokenMakersReadsAccountsOnlyForAMaker: token list reads the console
// accounts only when a token has a maker; a hub whose tokens the CLI made
// (or none) needs no read of them.
func TestTokenMakersReadsAccountsOnlyForAMaker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ts    []store.Token
		reads int
		want  map[string]string
	}{
		{"no tokens", nil, 0, nil},
		{"tokens the CLI made", []store.Token{{ID: "t1"}, {ID: "t2"}}, 0, nil},
		{"a token a console account made", []store.Token{{ID: "t1"}, {ID: "t2", CreatedBy: "acct-ada"}}, 1, map[string]string{"acct-ada": "console:ada"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l countingLister
			got, err := tokenMakers(t.Context(), &l, tc.ts)
			if err != nil {
				t.Fatal(err)
			}
			if l.reads != tc.reads || len(got) != len(tc.want) || got["acct-ada"] != tc.want["acct-ada"] {
				t.Errorf("makers %v after %d reads of the accounts, want %v after %d", got, l.reads, tc.want, tc.reads)
			}
		})
	}
}
