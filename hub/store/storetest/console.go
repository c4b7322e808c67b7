package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

func consoleAccount(id, name, role string, h int, sites ...string) store.ConsoleAccount {
	return store.ConsoleAccount{ID: id, Name: name, Role: role, Sites: sites, WebAuthnID: []byte("handle-" + id),
		CreatedBy: "cli", Created: at(h), Modified: at(h)}
}

func testConsoleAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	admin := must[store.ConsoleAccount](t, "create admin")(s.CreateConsoleAccount(ctx, consoleAccount("a1", "Ada", store.ConsoleAdmin, 0)))
	want := consoleAccount("a1", "Ada", store.ConsoleAdmin, 0)
	want.Version = 1
	diff(t, "created account", want, admin)
	checkUTC(t, "created account", admin.Created, admin.Modified)

	sup := must[store.ConsoleAccount](t, "create supervisor")(s.CreateConsoleAccount(ctx, consoleAccount("a2", "sam", store.ConsoleSupervisor, 1, "north", "east")))
	_, err := s.CreateConsoleAccount(ctx, consoleAccount("a3", "ADA", store.ConsoleAdmin, 2))
	wantErr(t, "duplicate name", err, store.ErrConflict)
	dupHandle := consoleAccount("a4", "other", store.ConsoleAdmin, 2)
	dupHandle.WebAuthnID = admin.WebAuthnID
	_, err = s.CreateConsoleAccount(ctx, dupHandle)
	wantErr(t, "duplicate user handle", err, store.ErrConflict)

	diff(t, "by id", sup, must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a2")))
	diff(t, "by name", sup, must[store.ConsoleAccount](t, "get by name")(s.GetConsoleAccountByName(ctx, "SAM")))
	diff(t, "by handle", sup, must[store.ConsoleAccount](t, "get by handle")(s.GetConsoleAccountByWebAuthnID(ctx, []byte("handle-a2"))))
	_, err = s.GetConsoleAccount(ctx, "nope")
	wantErr(t, "unknown id", err, store.ErrNotFound)
	_, err = s.GetConsoleAccountByName(ctx, "nobody")
	wantErr(t, "unknown name", err, store.ErrNotFound)
	_, err = s.GetConsoleAccountByWebAuthnID(ctx, nil)
	wantErr(t, "empty handle", err, store.ErrNotFound)
	diff(t, "list", []store.ConsoleAccount{admin, sup}, must[[]store.ConsoleAccount](t, "list")(s.ListConsoleAccounts(ctx)))

	// Update keeps ID, Created and the user handle, bumps Version.
	got := must[store.ConsoleAccount](t, "update")(s.UpdateConsoleAccount(ctx, "a2", func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
		a.ID, a.Created, a.WebAuthnID = "changed", at(9), []byte("stolen")
		a.Sites, a.Disabled, a.Modified = []string{"west"}, at(3), at(3)
		return a, nil
	}))
	want = sup
	want.Sites, want.Disabled, want.Modified, want.Version = []string{"west"}, at(3), at(3), 2
	diff(t, "updated", want, got)
	diff(t, "updated, read back", want, must[store.ConsoleAccount](t, "get")(s.GetConsoleAccount(ctx, "a2")))
	_, err = s.UpdateConsoleAccount(ctx, "a2", func(a store.ConsoleAccount) (store.ConsoleAccount, error) { return a, errFn })
	wantErr(t, "fn error", err, errFn)
	_, err = s.UpdateConsoleAccount(ctx, "a2", func(a store.ConsoleAccount) (store.ConsoleAccount, error) { a.Name = "ada"; return a, nil })
	wantErr(t, "rename onto a taken name", err, store.ErrConflict)
	_, err = s.UpdateConsoleAccount(ctx, "nope", func(a store.ConsoleAccount) (store.ConsoleAccount, error) { return a, nil })
	wantErr(t, "update unknown", err, store.ErrNotFound)
}

func testConsoleCredentials(t *testing.T, s store.Store) {
	ctx := t.Context()
	must[store.ConsoleAccount](t, "account")(s.CreateConsoleAccount(ctx, consoleAccount("a1", "ada", store.ConsoleAdmin, 0)))
	c1 := store.ConsoleCredential{ID: []byte{1, 2, 3}, AccountID: "a1", PublicKey: []byte("cose"), AAGUID: make([]byte, 16), SignCount: 4294967295,
		BackupEligible: true, BackupState: true, Transports: []string{"internal", "hybrid"}, Created: at(1)}
	c2 := store.ConsoleCredential{ID: []byte{4}, AccountID: "a1", PublicKey: []byte("cose2"), Created: at(2)}
	diff(t, "created", c1, must[store.ConsoleCredential](t, "create")(s.CreateConsoleCredential(ctx, c1)))
	must[store.ConsoleCredential](t, "create 2")(s.CreateConsoleCredential(ctx, c2))
	_, err := s.CreateConsoleCredential(ctx, c1)
	wantErr(t, "duplicate", err, store.ErrConflict)
	orphan := c2
	orphan.ID, orphan.AccountID = []byte{9}, "nobody"
	_, err = s.CreateConsoleCredential(ctx, orphan)
	wantErr(t, "unknown account", err, store.ErrNotFound)

	diff(t, "get", c1, must[store.ConsoleCredential](t, "get")(s.GetConsoleCredential(ctx, c1.ID)))
	diff(t, "list", []store.ConsoleCredential{c1, c2}, must[[]store.ConsoleCredential](t, "list")(s.ListConsoleCredentials(ctx, "a1")))
	if got := must[[]store.ConsoleCredential](t, "list other")(s.ListConsoleCredentials(ctx, "a2")); len(got) != 0 {
		t.Errorf("other account's credentials = %v", got)
	}
	got := must[store.ConsoleCredential](t, "update")(s.UpdateConsoleCredential(ctx, c2.ID, func(c store.ConsoleCredential) (store.ConsoleCredential, error) {
		c.AccountID, c.Created = "x", at(9)
		c.SignCount, c.LastUsed, c.Revoked = 7, at(3), at(4)
		return c, nil
	}))
	want := c2
	want.SignCount, want.LastUsed, want.Revoked = 7, at(3), at(4)
	diff(t, "updated", want, got)
	diff(t, "updated, read back", want, must[store.ConsoleCredential](t, "get")(s.GetConsoleCredential(ctx, c2.ID)))
	checkUTC(t, "updated", got.Created, got.LastUsed, got.Revoked)
	_, err = s.UpdateConsoleCredential(ctx, []byte{99}, func(c store.ConsoleCredential) (store.ConsoleCredential, error) { return c, nil })
	wantErr(t, "update unknown", err, store.ErrNotFound)
}

func testConsoleInvites(t *testing.T, s store.Store) {
	ctx := t.Context()
	must[store.ConsoleAccount](t, "account")(s.CreateConsoleAccount(ctx, consoleAccount("a1", "ada", store.ConsoleAdmin, 0)))
	inv := store.ConsoleInvite{Hash: []byte("invite-1"), AccountID: "a1", CreatedBy: "cli", Created: at(0), Expires: at(2)}
	if err := s.CreateConsoleInvite(ctx, inv); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "duplicate", s.CreateConsoleInvite(ctx, inv), store.ErrConflict)
	wantErr(t, "unknown account", s.CreateConsoleInvite(ctx, store.ConsoleInvite{Hash: []byte("x"), AccountID: "nobody", Created: at(0), Expires: at(1)}), store.ErrNotFound)

	diff(t, "get", inv, must[store.ConsoleInvite](t, "get")(s.GetConsoleInvite(ctx, inv.Hash, at(1))))
	_, err := s.GetConsoleInvite(ctx, inv.Hash, at(2))
	wantErr(t, "get expired", err, store.ErrNotFound)
	_, err = s.UseConsoleInvite(ctx, inv.Hash, at(2))
	wantErr(t, "use expired", err, store.ErrNotFound)
	_, err = s.UseConsoleInvite(ctx, []byte("other"), at(1))
	wantErr(t, "use unknown", err, store.ErrNotFound)

	// A use inside a rolled-back transaction leaves the invite usable.
	_ = s.InTx(ctx, func(tx store.Ops) error {
		if _, err := tx.UseConsoleInvite(ctx, inv.Hash, at(1)); err != nil {
			t.Fatal(err)
		}
		return errFn
	})
	used := must[store.ConsoleInvite](t, "use")(s.UseConsoleInvite(ctx, inv.Hash, at(1)))
	want := inv
	want.Used = at(1)
	diff(t, "used", want, used)
	checkUTC(t, "used", used.Created, used.Expires, used.Used)
	_, err = s.UseConsoleInvite(ctx, inv.Hash, at(1))
	wantErr(t, "second use", err, store.ErrNotFound)
	_, err = s.GetConsoleInvite(ctx, inv.Hash, at(1))
	wantErr(t, "get used", err, store.ErrNotFound)

	// Voiding an account's invites uses up its unused ones only, and
	// nobody else's.
	must[store.ConsoleAccount](t, "account")(s.CreateConsoleAccount(ctx, consoleAccount("a2", "bea", store.ConsoleSupervisor, 0)))
	open := []store.ConsoleInvite{
		{Hash: []byte("invite-2"), AccountID: "a1", CreatedBy: "cli", Created: at(3), Expires: at(9)},
		{Hash: []byte("invite-3"), AccountID: "a1", CreatedBy: "cli", Created: at(4), Expires: at(9)},
		{Hash: []byte("invite-4"), AccountID: "a2", CreatedBy: "cli", Created: at(4), Expires: at(9)},
	}
	for _, x := range open {
		if err := s.CreateConsoleInvite(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if n := must[int](t, "void")(s.VoidConsoleInvites(ctx, "a1", at(5))); n != 2 {
		t.Errorf("voided %d invites of a1, want its 2 unused ones", n)
	}
	for _, x := range open[:2] {
		_, err = s.UseConsoleInvite(ctx, x.Hash, at(6))
		wantErr(t, "use a voided invite", err, store.ErrNotFound)
	}
	diff(t, "another account's invite", open[2], must[store.ConsoleInvite](t, "get")(s.GetConsoleInvite(ctx, open[2].Hash, at(6))))
}

func testConsoleSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	must[store.ConsoleAccount](t, "account")(s.CreateConsoleAccount(ctx, consoleAccount("a1", "ada", store.ConsoleAdmin, 0)))
	must[store.ConsoleAccount](t, "account")(s.CreateConsoleAccount(ctx, consoleAccount("a2", "sam", store.ConsoleSupervisor, 0, "north")))
	mk := func(hash, account string) store.ConsoleSession {
		return store.ConsoleSession{Hash: []byte(hash), AccountID: account, Created: at(0), LastSeen: at(0), Expires: at(12)}
	}
	for _, cs := range []store.ConsoleSession{mk("s1", "a1"), mk("s2", "a1"), mk("s3", "a2")} {
		if err := s.CreateConsoleSession(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "duplicate", s.CreateConsoleSession(ctx, mk("s1", "a2")), store.ErrConflict)
	wantErr(t, "unknown account", s.CreateConsoleSession(ctx, mk("s9", "nobody")), store.ErrNotFound)
	diff(t, "get", mk("s1", "a1"), must[store.ConsoleSession](t, "get")(s.GetConsoleSession(ctx, []byte("s1"))))
	_, err := s.GetConsoleSession(ctx, []byte("nope"))
	wantErr(t, "get unknown", err, store.ErrNotFound)

	if err := s.TouchConsoleSession(ctx, []byte("s1"), at(1)); err != nil {
		t.Fatal(err)
	}
	want := mk("s1", "a1")
	want.LastSeen = at(1)
	got := must[store.ConsoleSession](t, "get touched")(s.GetConsoleSession(ctx, []byte("s1")))
	diff(t, "touched", want, got)
	checkUTC(t, "touched", got.Created, got.LastSeen, got.Expires)
	wantErr(t, "touch unknown", s.TouchConsoleSession(ctx, []byte("nope"), at(1)), store.ErrNotFound)

	if err := s.EndConsoleSession(ctx, []byte("s3"), at(2)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "end twice", s.EndConsoleSession(ctx, []byte("s3"), at(3)), store.ErrNotFound)
	wantErr(t, "touch ended", s.TouchConsoleSession(ctx, []byte("s3"), at(3)), store.ErrNotFound)
	if got := must[store.ConsoleSession](t, "get ended")(s.GetConsoleSession(ctx, []byte("s3"))); !got.Ended.Equal(at(2)) {
		t.Errorf("ended = %v, want %v", got.Ended, at(2))
	}

	// The live ones, newest first: s3 (a2's) ended above.
	later := mk("s4", "a1")
	later.Created = at(1)
	if err := s.CreateConsoleSession(ctx, later); err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, cs := range must[[]store.ConsoleSession](t, "list a1")(s.ListConsoleSessions(ctx, "a1")) {
		hashes = append(hashes, string(cs.Hash))
	}
	if strings.Join(hashes, " ") != "s4 s1 s2" {
		t.Errorf("a1's live sessions %v, want s4 s1 s2", hashes)
	}
	if got := must[[]store.ConsoleSession](t, "list a2")(s.ListConsoleSessions(ctx, "a2")); len(got) != 0 {
		t.Errorf("a2's live sessions %+v, want none (s3 ended)", got)
	}
	if err := s.EndConsoleSession(ctx, []byte("s4"), at(2)); err != nil {
		t.Fatal(err)
	}

	// Sign out everywhere ends a1's two sessions and nobody else's.
	if n := must[int](t, "end all")(s.EndConsoleSessions(ctx, "a1", at(4))); n != 2 {
		t.Errorf("ended %d sessions, want 2", n)
	}
	if n := must[int](t, "end all again")(s.EndConsoleSessions(ctx, "a1", at(5))); n != 0 {
		t.Errorf("ended %d sessions again, want 0", n)
	}
	for _, h := range []string{"s1", "s2"} {
		if got := must[store.ConsoleSession](t, "get")(s.GetConsoleSession(ctx, []byte(h))); !got.Ended.Equal(at(4)) {
			t.Errorf("%s ended = %v, want %v", h, got.Ended, at(4))
		}
	}
	if got := must[store.ConsoleSession](t, "get")(s.GetConsoleSession(ctx, []byte("s3"))); !got.Ended.Equal(at(2)) {
		t.Errorf("s3 ended = %v, want the earlier %v", got.Ended, at(2))
	}
}

func testConsoleQueries(t *testing.T, s store.Store) {
	ctx := t.Context()
	mk := func(id, name, display string, h int, sites ...string) store.User {
		u := newUser(id, name, h)
		u.DisplayName, u.Sites = display, sites
		return must[store.User](t, "create user")(s.CreateUser(ctx, u))
	}
	mk("u1", "dana.kim", "Dana Kim", 0, "North")
	mk("u2", "Ben.Okafor", "Ben Okafor", 1, "south")
	mk("u3", "amira.haddad", "Amira Haddad", 2, "north", "south")
	gone := mk("u4", "danny.gone", "Danny Gone", 3, "north")
	must[store.User](t, "delete")(s.UpdateUser(ctx, gone.ID, func(u store.User) (store.User, error) {
		u.State, u.Deleted = store.UserDeleted, at(4)
		return u, nil
	}))
	names := func(q store.UserSearch) []string {
		t.Helper()
		var out []string
		for _, u := range must[[]store.User](t, "search")(s.SearchUsers(ctx, q)) {
			out = append(out, u.UserName)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.UserSearch
		want []string
	}{
		{"everyone, by name", store.UserSearch{}, []string{"amira.haddad", "Ben.Okafor", "dana.kim"}},
		{"substring of userName, any case", store.UserSearch{Text: "DAN"}, []string{"dana.kim"}},
		{"substring of displayName", store.UserSearch{Text: "okafor"}, []string{"Ben.Okafor"}},
		{"site, any case", store.UserSearch{Sites: []string{"NORTH"}}, []string{"amira.haddad", "dana.kim"}},
		{"several sites", store.UserSearch{Sites: []string{"south", "nowhere"}}, []string{"amira.haddad", "Ben.Okafor"}},
		{"text and site", store.UserSearch{Text: "a", Sites: []string{"south"}}, []string{"amira.haddad", "Ben.Okafor"}},
		{"limit", store.UserSearch{Limit: 1}, []string{"amira.haddad"}},
		{"no match", store.UserSearch{Text: "%"}, nil},
	} {
		if got := names(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	gr := func(id, site string, start, end int, revoked bool) store.Grant {
		g := store.Grant{ID: id, UserID: "u1", Role: "Charge Nurse", Site: site, Reason: "cover", Approver: "console:ada", Start: at(start), End: at(end), Created: at(start)}
		if revoked {
			g.Revoked = at(start)
		}
		return must[store.Grant](t, "create grant")(s.CreateGrant(ctx, g))
	}
	later, running := gr("g-later", "north", 5, 9, false), gr("g-running", "North", 0, 8, false)
	gr("g-over", "north", -5, -1, false)
	gr("g-revoked", "north", 0, 8, true)
	gr("g-south", "south", 0, 8, false)
	diff(t, "site grants", []store.Grant{running, later}, must[[]store.Grant](t, "site grants")(s.ListSiteGrants(ctx, []string{"NORTH", "east"}, at(0))))
	if got := must[[]store.Grant](t, "no sites")(s.ListSiteGrants(ctx, nil, at(0))); len(got) != 0 {
		t.Errorf("grants for no sites = %v", got)
	}

	var revs []store.Revocation
	for i := range 3 {
		revs = append(revs, must[store.Revocation](t, "add revocation")(s.AddRevocation(ctx, store.Revocation{UserID: "u1", SessionID: "s", DeviceID: "k", Reason: "forced", Created: at(i)})))
	}
	got := must[[]store.Revocation](t, "recent")(s.RecentRevocations(ctx, 2))
	diff(t, "recent revocations", []store.Revocation{revs[2], revs[1]}, got)

	recs := appendRecords(t, s, 6, []string{"user:u1", "device:k1"}, []string{"session.start", "device.disable", "user.update"})
	seqs := func(q store.AuditSearch) []int64 {
		t.Helper()
		var out []int64
		for _, r := range must[[]store.AuditRecord](t, "search audit")(s.SearchAudit(ctx, q)) {
			out = append(out, r.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.AuditSearch
		want []int64
	}{
		{"all, newest first", store.AuditSearch{}, []int64{6, 5, 4, 3, 2, 1}},
		{"limit", store.AuditSearch{Limit: 2}, []int64{6, 5}},
		{"before", store.AuditSearch{BeforeSeq: 3}, []int64{2, 1}},
		{"subject", store.AuditSearch{Subjects: []string{"device:k1"}}, []int64{6, 4, 2}},
		{"subject any of", store.AuditSearch{Subjects: []string{"user:u1", "device:nowhere", "device:k1"}, Action: "device.disable"}, []int64{5, 2}},
		{"action", store.AuditSearch{Action: "session.start"}, []int64{4, 1}},
		{"actor", store.AuditSearch{Actor: "token:t1 (okta)", Limit: 1}, []int64{6}},
		{"other actor", store.AuditSearch{Actor: "console:ada"}, nil},
		{"mentions, in subject", store.AuditSearch{Mentions: []string{"k1"}}, []int64{6, 4, 2}},
		{"mentions, in detail", store.AuditSearch{Mentions: []string{`"seq":5`}}, []int64{5}},
		{"mentions any of two", store.AuditSearch{Mentions: []string{`"seq":5`, `"seq":3`}}, []int64{5, 3}},
		{"mentions any, with another filter", store.AuditSearch{Mentions: []string{"k1", `"seq":5`}, Action: "session.start"}, []int64{4}},
		{"time window", store.AuditSearch{From: recs[1].Time, To: recs[3].Time}, []int64{3, 2}},
	} {
		if got := seqs(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("audit %s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
