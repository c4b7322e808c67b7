package storetest

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testTokenMaker: a token keeps the console account that made it
// (CreatedBy) as it was created: an update cannot change or clear it, so
// a token cannot be freed from its maker's self checks after the fact. A
// token made by nobody known ("") stays so.
func testTokenMaker(t *testing.T, s store.Store) {
	ctx := t.Context()
	made := store.Token{ID: "tok-ada", Name: "ada-scripts", Scope: store.ScopeAdmin, Hash: []byte{1, 2},
		Created: at(1), Expires: at(90 * 24), CreatedBy: "acct-ada"}
	cli := store.Token{ID: "tok-cli", Name: "ops", Scope: store.ScopeAdmin, Hash: []byte{3, 4}, Created: at(2), Expires: at(90 * 24)}
	for _, x := range []store.Token{made, cli} {
		diff(t, "created token", x, must[store.Token](t, "create")(s.CreateToken(ctx, x)))
		diff(t, "got token", x, must[store.Token](t, "get")(s.GetToken(ctx, x.ID)))
	}
	diff(t, "tokens", []store.Token{made, cli}, must[[]store.Token](t, "list")(s.ListTokens(ctx)))

	for _, tc := range []struct {
		name string
		tok  store.Token
		to   string
	}{
		{"cleared", made, ""},
		{"changed", made, "acct-bob"},
		{"set", cli, "acct-bob"},
	} {
		t.Run("maker "+tc.name, func(t *testing.T) {
			want := tc.tok
			want.LastUsed = at(30)
			got := must[store.Token](t, "update")(s.UpdateToken(ctx, tc.tok.ID, func(x store.Token) (store.Token, error) {
				x.LastUsed, x.CreatedBy = at(30), tc.to
				return x, nil
			}))
			diff(t, "updated token", want, got)
			diff(t, "got updated token", want, must[store.Token](t, "get")(s.GetToken(ctx, tc.tok.ID)))
		})
	}
}
