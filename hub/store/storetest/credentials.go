package storetest

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

func credential(id, user string, state store.CredentialState, h int) store.Credential {
	return store.Credential{
		ID:        []byte(id),
		UserID:    user,
		PublicKey: []byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x00, 0xff},
		AAGUID:    []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		SignCount: 4294967295, // uint32 max survives
		State:     state,
		Created:   at(h),
		LastUsed:  at(h + 1),
	}
}

func credID(c store.Credential) string { return string(c.ID) }

func testCredentials(t *testing.T, s store.Store) {
	createUsers(t, s, newUser("u1", "one", 0), newUser("u2", "two", 0))
	// IDs are raw bytes: include a zero byte and one that is not UTF-8.
	c1 := credential("\x00cred\xff1", "u1", store.CredentialActive, 1)
	c2 := credential("cred-2", "u1", store.CredentialActive, 2)
	c2.ModelUnproven = true // kept, and read back
	c3 := credential("cred-3", "u2", store.CredentialActive, 0)
	for _, c := range []store.Credential{c1, c2, c3} {
		got := must[store.Credential](t, "create")(s.CreateCredential(t.Context(), c))
		diff(t, "created credential", c, got)
		checkUTC(t, "created credential", got.Created, got.LastUsed)
	}
	_, err := s.CreateCredential(t.Context(), credential("cred-2", "u2", store.CredentialActive, 5))
	wantErr(t, "create duplicate ID", err, store.ErrConflict)

	got := must[store.Credential](t, "get")(s.GetCredential(t.Context(), c1.ID))
	diff(t, "got credential", c1, got)
	checkUTC(t, "got credential", got.Created, got.LastUsed)
	_, err = s.GetCredential(t.Context(), []byte("nope"))
	wantErr(t, "get unknown", err, store.ErrNotFound)
	_, err = s.GetCredential(t.Context(), []byte("\x00cred\xff"))
	wantErr(t, "get by ID prefix", err, store.ErrNotFound)

	for _, tc := range []struct {
		user string
		want []store.Credential
	}{{"u1", []store.Credential{c1, c2}}, {"u2", []store.Credential{c3}}, {"nobody", nil}} {
		t.Run("list "+tc.user, func(t *testing.T) {
			got := must[[]store.Credential](t, "list")(s.ListCredentials(t.Context(), tc.user))
			diff(t, "credentials", sortBy(tc.want, credID), sortBy(got, credID))
		})
	}

	got = must[store.Credential](t, "update")(s.UpdateCredential(t.Context(), c1.ID, func(c store.Credential) (store.Credential, error) {
		diff(t, "fn sees current credential", c1, c)
		c.SignCount = 7
		c.State = store.CredentialSuspended
		c.Reason = "sign counter regressed"
		c.LastUsed = at(30)
		c.ID, c.Created = []byte("changed"), at(99)
		return c, nil
	}))
	want := c1
	want.SignCount, want.State, want.Reason, want.LastUsed = 7, store.CredentialSuspended, "sign counter regressed", at(30)
	diff(t, "updated credential", want, got)
	checkUTC(t, "updated credential", got.Created, got.LastUsed)
	diff(t, "got updated credential", want, must[store.Credential](t, "get")(s.GetCredential(t.Context(), c1.ID)))

	for _, tc := range []struct {
		name    string
		id      []byte
		fn      func(store.Credential) (store.Credential, error)
		wantErr error
	}{
		{"unknown", []byte("nope"), func(c store.Credential) (store.Credential, error) { return c, nil }, store.ErrNotFound},
		{"fn error", c1.ID, func(c store.Credential) (store.Credential, error) { c.SignCount = 1; return c, errFn }, errFn},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			_, err := s.UpdateCredential(t.Context(), tc.id, tc.fn)
			wantErr(t, "update", err, tc.wantErr)
			diff(t, "credential after failed update", want, must[store.Credential](t, "get")(s.GetCredential(t.Context(), c1.ID)))
		})
	}
}

func testRevokeCredentials(t *testing.T, s store.Store) {
	createUsers(t, s, newUser("u1", "one", 0), newUser("u2", "two", 0))
	active := credential("active", "u1", store.CredentialActive, 1)
	suspended := credential("suspended", "u1", store.CredentialSuspended, 2)
	suspended.Reason = "cloned"
	revoked := credential("revoked", "u1", store.CredentialRevoked, 3)
	revoked.Reason = "lost"
	other := credential("other", "u2", store.CredentialActive, 4)
	for _, c := range []store.Credential{active, suspended, revoked, other} {
		must[store.Credential](t, "create")(s.CreateCredential(t.Context(), c))
	}

	got := must[[]store.Credential](t, "revoke")(s.RevokeCredentials(t.Context(), "u1", "deprovisioned"))
	wantActive, wantSuspended := active, suspended
	wantActive.State, wantActive.Reason = store.CredentialRevoked, "deprovisioned"
	wantSuspended.State, wantSuspended.Reason = store.CredentialRevoked, "deprovisioned"
	diff(t, "revoked credentials, after the change", []store.Credential{wantActive, wantSuspended}, sortBy(got, credID))
	for _, c := range got {
		checkUTC(t, "revoked credential", c.Created, c.LastUsed)
	}

	all := must[[]store.Credential](t, "list u1")(s.ListCredentials(t.Context(), "u1"))
	diff(t, "u1 credentials", sortBy([]store.Credential{wantActive, wantSuspended, revoked}, credID), sortBy(all, credID))
	diff(t, "other user untouched", other, must[store.Credential](t, "get other")(s.GetCredential(t.Context(), other.ID)))

	got = must[[]store.Credential](t, "revoke again")(s.RevokeCredentials(t.Context(), "u1", "again"))
	if len(got) != 0 {
		t.Errorf("second revoke returned %v, want none", got)
	}
}

func testTokens(t *testing.T, s store.Store) {
	tok := func(id string, h int) store.Token {
		return store.Token{ID: id, Name: "okta " + id, Scope: store.ScopeSCIM,
			Hash: []byte{0x00, 0x9f, 0xff, 0x10}, Created: at(h), LastUsed: at(h + 1)}
	}
	t1, t2 := tok("tok1", 1), tok("tok2", 0)
	t1.Expires = at(90 * 24)
	t2.Scope, t2.Revoked = store.ScopeAdmin, at(3) // and no expiry: a token from before tokens expired
	for _, x := range []store.Token{t1, t2} {
		got := must[store.Token](t, "create")(s.CreateToken(t.Context(), x))
		diff(t, "created token", x, got)
		checkUTC(t, "created token", got.Created, got.LastUsed, got.Revoked, got.Expires)
	}
	_, err := s.CreateToken(t.Context(), tok("tok1", 5))
	wantErr(t, "create duplicate ID", err, store.ErrConflict)

	got := must[store.Token](t, "get")(s.GetToken(t.Context(), "tok2"))
	diff(t, "got token", t2, got)
	checkUTC(t, "got token", got.Created, got.LastUsed, got.Revoked, got.Expires)
	_, err = s.GetToken(t.Context(), "nope")
	wantErr(t, "get unknown", err, store.ErrNotFound)

	list := must[[]store.Token](t, "list")(s.ListTokens(t.Context()))
	diff(t, "tokens", []store.Token{t1, t2}, sortBy(list, func(t store.Token) string { return t.ID }))

	got = must[store.Token](t, "update")(s.UpdateToken(t.Context(), "tok1", func(x store.Token) (store.Token, error) {
		diff(t, "fn sees current token", t1, x)
		x.LastUsed, x.Revoked = at(20), at(21)
		x.Expires, x.ReplacedBy = at(22), "tok3" // a rotation
		x.ID, x.Created = "changed", at(99)
		return x, nil
	}))
	want := t1
	want.LastUsed, want.Revoked = at(20), at(21)
	want.Expires, want.ReplacedBy = at(22), "tok3"
	diff(t, "updated token", want, got)
	diff(t, "got updated token", want, must[store.Token](t, "get")(s.GetToken(t.Context(), "tok1")))

	for _, tc := range []struct {
		name    string
		id      string
		fn      func(store.Token) (store.Token, error)
		wantErr error
	}{
		{"unknown", "nope", func(x store.Token) (store.Token, error) { return x, nil }, store.ErrNotFound},
		{"fn error", "tok1", func(x store.Token) (store.Token, error) { x.Name = "x"; return x, errFn }, errFn},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			_, err := s.UpdateToken(t.Context(), tc.id, tc.fn)
			wantErr(t, "update", err, tc.wantErr)
			diff(t, "token after failed update", want, must[store.Token](t, "get")(s.GetToken(t.Context(), "tok1")))
		})
	}
}

// testRecordCredentialUse: a login's counter update succeeds only on the
// credential as it was read (active, with the counter the checks saw).
func testRecordCredentialUse(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, newUser("u1", "one", 0))
	c := credential("cred-1", "u1", store.CredentialActive, 1)
	c.SignCount = 5
	must[store.Credential](t, "create")(s.CreateCredential(ctx, c))

	if err := s.RecordCredentialUse(ctx, c.ID, 5, 9, at(4)); err != nil {
		t.Fatalf("record use: %v", err)
	}
	want := c
	want.SignCount, want.LastUsed = 9, at(4)
	got := must[store.Credential](t, "get")(s.GetCredential(ctx, c.ID))
	diff(t, "stored after use", want, got)
	checkUTC(t, "after use", got.Created, got.LastUsed)

	err := s.RecordCredentialUse(ctx, c.ID, 5, 10, at(5))
	wantErr(t, "stale counter", err, store.ErrConflict)
	err = s.RecordCredentialUse(ctx, []byte("nope"), 0, 1, at(5))
	wantErr(t, "unknown credential", err, store.ErrNotFound)

	must[store.Credential](t, "suspend")(s.UpdateCredential(ctx, c.ID, func(c store.Credential) (store.Credential, error) {
		c.State, c.Reason = store.CredentialSuspended, "cloned"
		return c, nil
	}))
	err = s.RecordCredentialUse(ctx, c.ID, 9, 10, at(5))
	wantErr(t, "suspended credential", err, store.ErrConflict)
	if got := must[store.Credential](t, "get")(s.GetCredential(ctx, c.ID)); got.SignCount != 9 || !got.LastUsed.Equal(at(4)) {
		t.Errorf("refused use changed the credential: %+v", got)
	}
}
