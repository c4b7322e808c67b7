package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// snapshot is everything a store holds, read through its public methods.
type snapshot struct {
	Users       []store.User
	Groups      []store.Group
	Sites       []store.Site
	Devices     []store.Device
	Credentials []store.Credential
	Sessions    []store.Session
	Grants      []store.Grant
	Revocations []store.Revocation
	Tokens      []store.Token
	Audit       []store.AuditRecord
	AuditSeq    int64
}

func takeSnapshot(t *testing.T, s store.Ops) snapshot {
	t.Helper()
	ctx := t.Context()
	var sn snapshot
	var err error
	all := []store.UserState{store.UserPending, store.UserActive, store.UserDisabled, store.UserDeleted}
	if sn.Users, _, err = s.ListUsers(ctx, store.UserQuery{States: all}); err != nil {
		t.Fatalf("snapshot users: %v", err)
	}
	if sn.Groups, _, err = s.ListGroups(ctx, store.GroupQuery{}); err != nil {
		t.Fatalf("snapshot groups: %v", err)
	}
	sn.Sites = sortBy(must[[]store.Site](t, "snapshot sites")(s.ListSites(ctx)), func(x store.Site) string { return x.ID })
	sn.Devices = sortBy(must[[]store.Device](t, "snapshot devices")(s.ListDevices(ctx, "")), func(x store.Device) string { return x.ID })
	for _, id := range []string{"u1", "u2", "tx-user"} { // users with credentials and grants
		sn.Credentials = append(sn.Credentials, must[[]store.Credential](t, "snapshot credentials")(s.ListCredentials(ctx, id))...)
		sn.Grants = append(sn.Grants, must[[]store.Grant](t, "snapshot grants")(s.ListGrants(ctx, id))...)
	}
	sn.Credentials = sortBy(sn.Credentials, credID)
	sn.Grants = sortBy(sn.Grants, func(x store.Grant) string { return x.ID })
	sn.Sessions = must[[]store.Session](t, "snapshot sessions")(s.ListSessions(ctx, store.SessionQuery{}))
	sn.Revocations = must[[]store.Revocation](t, "snapshot revocations")(s.ListRevocations(ctx, store.RevocationQuery{}))
	sn.Tokens = sortBy(must[[]store.Token](t, "snapshot tokens")(s.ListTokens(ctx)), func(x store.Token) string { return x.ID })
	sn.Audit = must[[]store.AuditRecord](t, "snapshot audit")(s.ListAudit(ctx, store.AuditQuery{}))
	if sn.AuditSeq, _, err = s.AuditHead(ctx); err != nil {
		t.Fatalf("snapshot audit head: %v", err)
	}
	return sn
}

// seed gives the store one of everything, for a transaction to change.
func seed(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	createUsers(t, s, newUser("u1", "one", 0), newUser("u2", "two", 0))
	must[store.Group](t, "seed group")(s.CreateGroup(ctx, store.Group{ID: "g1", DisplayName: "Nurses", Members: []string{"u1", "u2"}, Created: at(0)}))
	must[store.Group](t, "seed group 2")(s.CreateGroup(ctx, store.Group{ID: "g2", DisplayName: "Porters", Members: []string{"u2"}, Created: at(0)}))
	must[store.Site](t, "seed site")(s.CreateSite(ctx, store.Site{ID: "s1", Name: "North", Created: at(0)}))
	must[store.Device](t, "seed device")(s.CreateDevice(ctx, store.Device{ID: "k1", Name: "kiosk-1", Site: "North", State: store.DeviceActive, Created: at(0)}))
	must[store.Credential](t, "seed credential")(s.CreateCredential(ctx, credential("c1", "u1", store.CredentialActive, 0)))
	must[store.Session](t, "seed session")(s.CreateSession(ctx, session("sess1", "u1", "k1", 0)))
	must[store.Grant](t, "seed grant")(s.CreateGrant(ctx, store.Grant{ID: "gr1", UserID: "u1", Role: "Lead", Start: at(0), End: at(100)}))
	must[store.Revocation](t, "seed revocation")(s.AddRevocation(ctx, store.Revocation{UserID: "u1", SessionID: "sess1", Reason: "forced", Created: at(0)}))
	must[store.Token](t, "seed token")(s.CreateToken(ctx, store.Token{ID: "tok1", Name: "okta", Scope: store.ScopeSCIM, Created: at(0)}))
	appendRecords(t, s, 2, []string{"user:u1"}, []string{"user.create"})
}

// writeEverything calls every write method once, as a leaver's teardown and
// more would, and fails the test on any error.
func writeEverything(t *testing.T, tx store.Ops) {
	t.Helper()
	ctx := t.Context()
	steps := []struct {
		name string
		run  func() error
	}{
		{"create user", func() error { _, err := tx.CreateUser(ctx, newUser("tx-user", "txuser", 9)); return err }},
		{"update user", func() error {
			_, err := tx.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
				u.State, u.Active = store.UserDisabled, false
				return u, nil
			})
			return err
		}},
		{"create group", func() error {
			_, err := tx.CreateGroup(ctx, store.Group{ID: "tx-group", DisplayName: "Tx", Members: []string{"tx-user", "u2"}})
			return err
		}},
		{"update group", func() error {
			_, err := tx.UpdateGroup(ctx, "g1", func(g store.Group) (store.Group, error) {
				g.DisplayName, g.Members = "Renamed", []string{"tx-user"}
				return g, nil
			})
			return err
		}},
		{"delete group", func() error { return tx.DeleteGroup(ctx, "g2", at(9)) }},
		{"remove memberships", func() error { _, err := tx.RemoveMemberships(ctx, "u2", at(9)); return err }},
		{"create site", func() error { _, err := tx.CreateSite(ctx, store.Site{ID: "s2", Name: "South"}); return err }},
		{"create device", func() error {
			_, err := tx.CreateDevice(ctx, store.Device{ID: "k2", Name: "kiosk-2", State: store.DeviceActive})
			return err
		}},
		{"update device", func() error {
			_, err := tx.UpdateDevice(ctx, "k1", func(d store.Device) (store.Device, error) {
				d.State = store.DeviceDisabled
				return d, nil
			})
			return err
		}},
		{"create credential", func() error {
			_, err := tx.CreateCredential(ctx, credential("c2", "tx-user", store.CredentialActive, 9))
			return err
		}},
		{"update credential", func() error {
			_, err := tx.UpdateCredential(ctx, []byte("c2"), func(c store.Credential) (store.Credential, error) {
				c.SignCount = 1
				return c, nil
			})
			return err
		}},
		{"revoke credentials", func() error { _, err := tx.RevokeCredentials(ctx, "u1", "deprovisioned"); return err }},
		{"create session", func() error { _, err := tx.CreateSession(ctx, session("sess2", "tx-user", "k1", 9)); return err }},
		{"end sessions", func() error { _, err := tx.EndSessions(ctx, "u1", "deprovisioned", at(9)); return err }},
		{"end session", func() error { _, err := tx.EndSession(ctx, "sess2", "signout", at(9)); return err }},
		{"create grant", func() error {
			_, err := tx.CreateGrant(ctx, store.Grant{ID: "gr2", UserID: "tx-user", Start: at(0), End: at(100)})
			return err
		}},
		{"revoke grants", func() error { _, err := tx.RevokeGrants(ctx, "u1", at(9)); return err }},
		{"add revocation", func() error {
			_, err := tx.AddRevocation(ctx, store.Revocation{UserID: "u1", SessionID: "sess1", Reason: "deprovisioned"})
			return err
		}},
		{"ack revocations", func() error { _, err := tx.AckRevocations(ctx, "sess1", "dev1", at(9)); return err }},
		{"create token", func() error { _, err := tx.CreateToken(ctx, store.Token{ID: "tok2", Name: "x"}); return err }},
		{"update token", func() error {
			_, err := tx.UpdateToken(ctx, "tok1", func(k store.Token) (store.Token, error) {
				k.Revoked = at(9)
				return k, nil
			})
			return err
		}},
		{"append audit", func() error {
			seq, prev, err := tx.AuditHead(ctx)
			if err != nil {
				return err
			}
			for i := range int64(3) {
				r := auditRecord(seq+1+i, prev, "user:u1", "user.deprovision")
				if err := tx.AppendAudit(ctx, r); err != nil {
					return err
				}
				prev = r.Hash
			}
			return nil
		}},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("in tx, %s: %v", st.name, err)
		}
	}
}

func testTxCommit(t *testing.T, s store.Store) {
	seed(t, s)
	before := takeSnapshot(t, s)
	var inside snapshot
	err := s.InTx(t.Context(), func(tx store.Ops) error {
		writeEverything(t, tx)
		inside = takeSnapshot(t, tx)
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	after := takeSnapshot(t, s)
	diff(t, "committed state", inside, after)
	if after.AuditSeq != before.AuditSeq+3 || len(after.Users) != len(before.Users)+1 {
		t.Errorf("after commit: audit head %d, %d users; want %d, %d", after.AuditSeq, len(after.Users), before.AuditSeq+3, len(before.Users)+1)
	}
	if g := must[store.Group](t, "get g1")(s.GetGroup(t.Context(), "g1")); g.DisplayName != "Renamed" {
		t.Errorf("g1 after commit = %+v, want renamed", g)
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	seed(t, s)
	before := takeSnapshot(t, s)
	errTx := fmt.Errorf("teardown failed: %w", errFn)
	err := s.InTx(t.Context(), func(tx store.Ops) error {
		writeEverything(t, tx)
		return errTx
	})
	if !errors.Is(err, errFn) {
		t.Fatalf("InTx error = %v, want %v", err, errTx)
	}
	diff(t, "state after rollback", before, takeSnapshot(t, s))
	_, err = s.GetUser(t.Context(), "tx-user")
	wantErr(t, "get user created in a rolled-back tx", err, store.ErrNotFound)

	// The store is usable afterwards, and Seq continues from the real head.
	appendRecords(t, s, 1, []string{"user:u1"}, []string{"user.update"})
	if seq, _, _ := s.AuditHead(t.Context()); seq != before.AuditSeq+1 {
		t.Errorf("head after rollback and append = %d, want %d", seq, before.AuditSeq+1)
	}
}

func testTxPanic(t *testing.T, s store.Store) {
	seed(t, s)
	before := takeSnapshot(t, s)
	type boom struct{ msg string }
	recovered := func() (p any) {
		defer func() { p = recover() }()
		s.InTx(t.Context(), func(tx store.Ops) error { //nolint:errcheck // it panics
			writeEverything(t, tx)
			panic(boom{"fn panicked"})
		})
		return nil
	}()
	if recovered != (boom{"fn panicked"}) {
		t.Fatalf("InTx did not re-panic with fn's value: recovered %#v", recovered)
	}
	diff(t, "state after panic", before, takeSnapshot(t, s))

	// The store is usable afterwards, through InTx and outside it.
	err := s.InTx(t.Context(), func(tx store.Ops) error {
		appendRecords(t, tx, 1, []string{"user:u1"}, []string{"user.update"})
		return nil
	})
	if err != nil {
		t.Fatalf("InTx after panic: %v", err)
	}
	createUsers(t, s, newUser("after", "after", 1))
}

func testTxReadsOwnWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	err := s.InTx(ctx, func(tx store.Ops) error {
		u := must[store.User](t, "create")(tx.CreateUser(ctx, newUser("tx-user", "TxUser", 0)))
		diff(t, "user read in tx", u, must[store.User](t, "get")(tx.GetUser(ctx, "tx-user")))
		users, total, err := tx.ListUsers(ctx, store.UserQuery{UserName: "txuser"})
		if err != nil || total != 1 || len(users) != 1 {
			t.Errorf("list in tx = %v, %d, %v; want the new user", users, total, err)
		}
		// An Update whose fn fails inside a tx changes nothing and returns fn's error.
		_, err = tx.UpdateUser(ctx, "tx-user", func(u store.User) (store.User, error) {
			u.DisplayName = "nope"
			return u, errFn
		})
		wantErr(t, "update fn error in tx", err, errFn)
		diff(t, "user after failed update in tx", u, must[store.User](t, "get")(tx.GetUser(ctx, "tx-user")))

		u2 := must[store.User](t, "update")(tx.UpdateUser(ctx, "tx-user", func(u store.User) (store.User, error) {
			u.DisplayName = "updated"
			return u, nil
		}))
		if u2.Version != 2 {
			t.Errorf("version after update in tx = %d, want 2", u2.Version)
		}
		g := must[store.Group](t, "create group")(tx.CreateGroup(ctx, store.Group{ID: "g", DisplayName: "G", Members: []string{"tx-user"}}))
		groups, _, err := tx.ListGroups(ctx, store.GroupQuery{MemberID: "tx-user"})
		if err != nil {
			t.Errorf("list groups in tx: %v", err)
		}
		diff(t, "groups in tx", []store.Group{g}, groups)

		recs := appendRecords(t, tx, 2, []string{"user:tx-user"}, []string{"user.create"})
		seq, hash, err := tx.AuditHead(ctx)
		if err != nil || seq != 2 || string(hash) != string(recs[1].Hash) {
			t.Errorf("head in tx = %d, %x, %v; want 2, %x", seq, hash, err, recs[1].Hash)
		}
		diff(t, "audit in tx", recs, must[[]store.AuditRecord](t, "list audit")(tx.ListAudit(ctx, store.AuditQuery{})))

		r := must[store.Revocation](t, "add revocation")(tx.AddRevocation(ctx, store.Revocation{UserID: "tx-user", SessionID: "s"}))
		diff(t, "revocations in tx", []store.Revocation{r},
			must[[]store.Revocation](t, "list revocations")(tx.ListRevocations(ctx, store.RevocationQuery{PendingOnly: true})))
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	// v3: the update, then joining group g (a user's resource lists its
	// groups, so its version moves with them).
	if u := must[store.User](t, "get after commit")(s.GetUser(ctx, "tx-user")); u.DisplayName != "updated" || u.Version != 3 {
		t.Errorf("user after commit = %q v%d, want updated v3", u.DisplayName, u.Version)
	}
}

// testTxConcurrentAudit: appenders that read the head and append in one
// transaction never collide, never see SQLITE_BUSY or the like, and leave
// a gap-free chain.
func testTxConcurrentAudit(t *testing.T, s store.Store) {
	const workers, perWorker = 8, 100
	ctx := t.Context()
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				err := s.InTx(ctx, func(tx store.Ops) error {
					seq, prev, err := tx.AuditHead(ctx)
					if err != nil {
						return err
					}
					return tx.AppendAudit(ctx, auditRecord(seq+1, prev, fmt.Sprintf("worker:%d", w), "test.append"))
				})
				if err != nil {
					t.Errorf("worker %d append %d: %v", w, i, err)
					return
				}
			}
		})
	}
	// Readers outside transactions run alongside.
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, _, err := s.AuditHead(ctx); err != nil {
					t.Errorf("concurrent head: %v", err)
					return
				}
				if _, err := s.ListAudit(ctx, store.AuditQuery{Limit: 10}); err != nil {
					t.Errorf("concurrent list: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()

	recs := must[[]store.AuditRecord](t, "list")(s.ListAudit(ctx, store.AuditQuery{}))
	if len(recs) != workers*perWorker {
		t.Fatalf("log has %d records, want %d", len(recs), workers*perWorker)
	}
	var prev []byte
	for i, r := range recs {
		if r.Seq != int64(i+1) || string(r.Prev) != string(prev) || string(r.Hash) != string(chainHash(prev, r.Seq)) {
			t.Fatalf("record %d: seq %d, chain broken", i+1, r.Seq)
		}
		prev = r.Hash
	}
	if seq, _, err := s.AuditHead(ctx); err != nil || seq != workers*perWorker {
		t.Errorf("head = %d, %v; want %d", seq, err, workers*perWorker)
	}
}
