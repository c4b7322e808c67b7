package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/storetest"
)

// shortReadTimeout sets the busy timeout of every connection of db's
// reader pool to d, so that a test does not wait the 5 s the hub waits.
// The pool keeps its connections, so holding all of them at once reaches
// each.
func shortReadTimeout(t *testing.T, db *DB, d time.Duration) {
	t.Helper()
	n := db.reader.Stats().MaxOpenConnections
	var conns []interface{ Close() error }
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.reader.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.ExecContext(t.Context(), fmt.Sprintf("PRAGMA busy_timeout = %d", d.Milliseconds())); err != nil {
			t.Fatal(err)
		}
	}
}

// isRead reports whether a store.Ops method only reads, by its name.
func isRead(name string) bool {
	for _, p := range []string{"Get", "List", "Search", "Each", "Recent", "Page"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return name == "GroupNamesOf" || name == "AuditHead" || name == "ReviewerTallies" || name == "CheckAuditIndexes"
}

// A read that finds the database locked by another process past the busy
// timeout is store.ErrBusy, as a write is, with the driver's error kept in
// the chain: the hub answers 503 with Retry-After, not 500 and a "bug" in
// its log. Every read of the store, including the count of a paged list
// and the reads of InReadTx.
func TestBusyReadIsErrBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := openTest(t, path)
	ctx := t.Context()
	now := time.Now()
	for _, name := range []string{"ann", "bob", "cem"} {
		if _, err := db.CreateUser(ctx, store.User{ID: store.NewID(), UserName: name, State: store.UserActive, Created: now, Modified: now}); err != nil {
			t.Fatal(err)
		}
	}
	shortReadTimeout(t, db, 50*time.Millisecond)

	page := store.UserQuery{Offset: 1, Limit: 1} // read in one transaction, with a count
	items := store.CampaignItemQuery{CampaignID: "c", Limit: 1}
	reads := map[string]func(st store.Ops) error{
		"GetUser":             func(st store.Ops) error { _, err := st.GetUser(ctx, "u"); return err },
		"ListUsers":           func(st store.Ops) error { _, _, err := st.ListUsers(ctx, store.UserQuery{}); return err },
		"ListUsersWithGroups": func(st store.Ops) error { _, _, _, err := st.ListUsersWithGroups(ctx, page); return err },
		"GetGroup":            func(st store.Ops) error { _, err := st.GetGroup(ctx, "g"); return err },
		"ListGroups":          func(st store.Ops) error { _, _, err := st.ListGroups(ctx, store.GroupQuery{Limit: 1}); return err },
		"GroupNamesOf":        func(st store.Ops) error { _, err := st.GroupNamesOf(ctx, "u"); return err },
		"GetSiteByName":       func(st store.Ops) error { _, err := st.GetSiteByName(ctx, "north"); return err },
		"ListSites":           func(st store.Ops) error { _, err := st.ListSites(ctx); return err },
		"GetDevice":           func(st store.Ops) error { _, err := st.GetDevice(ctx, "d"); return err },
		"GetDeviceByName":     func(st store.Ops) error { _, err := st.GetDeviceByName(ctx, "front-1"); return err },
		"ListDevices": func(st store.Ops) error {
			// All kiosks and a site's are two statements.
			if _, err := st.ListDevices(ctx, ""); !errors.Is(err, store.ErrBusy) {
				return err
			}
			_, err := st.ListDevices(ctx, "north")
			return err
		},
		"ListDeviceSites":         func(st store.Ops) error { _, err := st.ListDeviceSites(ctx); return err },
		"GetCredential":           func(st store.Ops) error { _, err := st.GetCredential(ctx, []byte("c")); return err },
		"ListCredentials":         func(st store.Ops) error { _, err := st.ListCredentials(ctx, "u"); return err },
		"GetSession":              func(st store.Ops) error { _, err := st.GetSession(ctx, "s"); return err },
		"ListSessions":            func(st store.Ops) error { _, err := st.ListSessions(ctx, store.SessionQuery{UserID: "u"}); return err },
		"EachLiveSession":         func(st store.Ops) error { return st.EachLiveSession(ctx, func(store.LiveSession) error { return nil }) },
		"ListSiteDevices":         func(st store.Ops) error { _, err := st.ListSiteDevices(ctx, []string{"north"}); return err },
		"FirstSiteDevice":         func(st store.Ops) error { _, err := st.FirstSiteDevice(ctx, "north"); return err },
		"ListSiteSessions":        func(st store.Ops) error { _, err := st.ListSiteSessions(ctx, []string{"north"}); return err },
		"ListRecentSessions":      func(st store.Ops) error { _, err := st.ListRecentSessions(ctx, "u", 10); return err },
		"ListLiveKiosks":          func(st store.Ops) error { _, err := st.ListLiveKiosks(ctx, []string{"north"}, 10); return err },
		"CountLiveSites":          func(st store.Ops) error { _, err := st.CountLiveSites(ctx); return err },
		"LiveUserNames":           func(st store.Ops) error { _, err := st.LiveUserNames(ctx, []string{"u"}); return err },
		"GetGrant":                func(st store.Ops) error { _, err := st.GetGrant(ctx, "g"); return err },
		"ListGrants":              func(st store.Ops) error { _, err := st.ListGrants(ctx, "u"); return err },
		"ListActiveGrants":        func(st store.Ops) error { _, err := st.ListActiveGrants(ctx, "u", now); return err },
		"ListRevocations":         func(st store.Ops) error { _, err := st.ListRevocations(ctx, store.RevocationQuery{}); return err },
		"GetToken":                func(st store.Ops) error { _, err := st.GetToken(ctx, "t"); return err },
		"ListTokens":              func(st store.Ops) error { _, err := st.ListTokens(ctx); return err },
		"AuditHead":               func(st store.Ops) error { _, _, err := st.AuditHead(ctx); return err },
		"ListAudit":               func(st store.Ops) error { _, err := st.ListAudit(ctx, store.AuditQuery{}); return err },
		"GetPolicy":               func(st store.Ops) error { _, err := st.GetPolicy(ctx); return err },
		"ListPolicyVersions":      func(st store.Ops) error { _, err := st.ListPolicyVersions(ctx, 10); return err },
		"ListShiftExtensions":     func(st store.Ops) error { _, err := st.ListShiftExtensions(ctx, "u"); return err },
		"ListDueShiftExtensions":  func(st store.Ops) error { _, err := st.ListDueShiftExtensions(ctx, now, 10); return err },
		"ListDueGrants":           func(st store.Ops) error { _, err := st.ListDueGrants(ctx, now, 10); return err },
		"GetCampaign":             func(st store.Ops) error { _, err := st.GetCampaign(ctx, "c"); return err },
		"ListCampaigns":           func(st store.Ops) error { _, err := st.ListCampaigns(ctx); return err },
		"GetReviewItem":           func(st store.Ops) error { _, err := st.GetReviewItem(ctx, "i"); return err },
		"ListReviewItems":         func(st store.Ops) error { _, err := st.ListReviewItems(ctx, store.ReviewItemQuery{}); return err },
		"ListCampaignItems":       func(st store.Ops) error { _, err := st.ListCampaignItems(ctx, items); return err },
		"ListActiveCredentials":   func(st store.Ops) error { _, err := st.ListActiveCredentials(ctx); return err },
		"GetConsoleAccount":       func(st store.Ops) error { _, err := st.GetConsoleAccount(ctx, "a"); return err },
		"GetConsoleAccountByName": func(st store.Ops) error { _, err := st.GetConsoleAccountByName(ctx, "ann"); return err },
		"GetConsoleAccountByWebAuthnID": func(st store.Ops) error {
			_, err := st.GetConsoleAccountByWebAuthnID(ctx, []byte("handle"))
			return err
		},
		"ListConsoleAccounts":       func(st store.Ops) error { _, err := st.ListConsoleAccounts(ctx); return err },
		"ListConsoleAccountsOfUser": func(st store.Ops) error { _, err := st.ListConsoleAccountsOfUser(ctx, "u"); return err },
		"ListConsoleAccountsOfUserOrName": func(st store.Ops) error {
			_, err := st.ListConsoleAccountsOfUserOrName(ctx, "u", "ann")
			return err
		},
		"GetConsoleCredential":   func(st store.Ops) error { _, err := st.GetConsoleCredential(ctx, []byte("c")); return err },
		"ListConsoleCredentials": func(st store.Ops) error { _, err := st.ListConsoleCredentials(ctx, "a"); return err },
		"GetConsoleInvite":       func(st store.Ops) error { _, err := st.GetConsoleInvite(ctx, []byte("h"), now); return err },
		"GetConsoleSession":      func(st store.Ops) error { _, err := st.GetConsoleSession(ctx, []byte("h")); return err },
		"ListConsoleSessions":    func(st store.Ops) error { _, err := st.ListConsoleSessions(ctx, "a"); return err },
		"SearchUsers":            func(st store.Ops) error { _, err := st.SearchUsers(ctx, store.UserSearch{Text: "a"}); return err },
		"ListSiteGrants":         func(st store.Ops) error { _, err := st.ListSiteGrants(ctx, []string{"north"}, now); return err },
		"RecentRevocations":      func(st store.Ops) error { _, err := st.RecentRevocations(ctx, 10); return err },
		"SearchAudit":            func(st store.Ops) error { _, err := st.SearchAudit(ctx, store.AuditSearch{}); return err },
		"GetGrantKey":            func(st store.Ops) error { _, err := st.GetGrantKey(ctx, "token:t", "k"); return err },
		"PageGrants": func(st store.Ops) error {
			_, _, err := st.PageGrants(ctx, "u", store.ListPage{Limit: 10})
			return err
		},
		"PageShiftExtensions": func(st store.Ops) error {
			_, _, err := st.PageShiftExtensions(ctx, "u", store.ListPage{Limit: 10})
			return err
		},
		"PageCampaigns": func(st store.Ops) error {
			_, _, err := st.PageCampaigns(ctx, store.ListPage{Limit: 10})
			return err
		},
		"ReviewerTallies":   func(st store.Ops) error { _, err := st.ReviewerTallies(ctx); return err },
		"CheckAuditIndexes": func(st store.Ops) error { return st.CheckAuditIndexes(ctx) },
	}
	// A read method added to the store without a line here fails: every
	// read must be shown to map a lock.
	ops := reflect.TypeFor[store.Ops]()
	for i := range ops.NumMethod() {
		if name := ops.Method(i).Name; isRead(name) && reads[name] == nil {
			t.Errorf("read %s is not checked under a lock: add it to reads", name)
		}
	}

	// The driver's error must be in the chain, and the lock must not be
	// taken for a full disk.
	wantBusy := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrBusy) {
			t.Fatalf("read under another process's lock: %v, want store.ErrBusy", err)
		}
		var se sqlite3.Error
		if !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
			t.Errorf("the driver's error is not in the chain: %v", err)
		}
		if errors.Is(err, store.ErrFull) {
			t.Errorf("a lock is not a full disk: %v", err)
		}
	}

	release := storetest.HoldIndexRebuild(t, path)
	for name, read := range reads {
		t.Run(name, func(t *testing.T) { wantBusy(t, read(db)) })
	}
	// InReadTx's own statements (BEGIN is deferred: the first read takes
	// the lock) and the reads it makes, paged lists included.
	t.Run("InReadTx", func(t *testing.T) {
		wantBusy(t, db.InReadTx(ctx, func(tx store.Ops) error {
			_, _, err := tx.ListUsers(ctx, page)
			return err
		}))
	})

	release()
	// The index is rebuilt from the log: what was committed is there.
	users, total, err := db.ListUsers(ctx, page)
	if err != nil || total != 3 || len(users) != 1 {
		t.Fatalf("after the lock is released: %d of %d users, %v; want 1 of 3", len(users), total, err)
	}
}
