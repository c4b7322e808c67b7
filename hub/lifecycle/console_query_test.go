package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

var errFullList = errors.New("the leaver path listed every console account")

// noFullList is a store whose ListConsoleAccounts fails, in and out of
// transactions.
type noFullList struct{ store.Store }

func (noFullList) ListConsoleAccounts(context.Context) ([]store.ConsoleAccount, error) {
	return nil, errFullList
}

func (s noFullList) InTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error { return fn(noFullListOps{tx}) })
}

func (s noFullList) InReadTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InReadTx(ctx, func(tx store.Ops) error { return fn(noFullListOps{tx}) })
}

type noFullListOps struct{ store.Ops }

func (noFullListOps) ListConsoleAccounts(context.Context) ([]store.ConsoleAccount, error) {
	return nil, errFullList
}

// TestLeaverReadsOnlyItsConsoleAccounts: the leaver path finds the
// console accounts it disables with a query for them, never by reading
// every account (here that fails), and disables them in the order it
// always has: those linked to the user, then those linked to nobody of
// the user's name (store.FoldName), each audited, the latter with
// "linked": false.
func TestLeaverReadsOnlyItsConsoleAccounts(t *testing.T) {
	ctx := t.Context()
	st, log := openStore(t)
	now := t0.Add(time.Hour)
	eng, err := lifecycle.New(lifecycle.Config{Store: noFullList{st}, Audit: log, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateUser(ctx, actor, store.User{ID: "u-zoe", UserName: "Zoë", Active: true, Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	create := func(id, name, userID string, created time.Time) {
		t.Helper()
		if _, err := st.CreateConsoleAccount(ctx, store.ConsoleAccount{ID: id, Name: name, Role: store.ConsoleSupervisor, Sites: []string{"north"},
			UserID: userID, WebAuthnID: []byte("handle-" + id), CreatedBy: "test", Created: created, Modified: created}); err != nil {
			t.Fatal(err)
		}
	}
	// Made after the user, straight in the store: linked to nobody, as
	// the link migration leaves the account of a name two users share. It
	// is the oldest, and still comes after the linked ones.
	create("acct-unlinked", "ZOË", "", t0.Add(-time.Hour))
	create("acct-linked-2", "zoe.b", "u-zoe", t0.Add(time.Minute))
	create("acct-linked-1", "zoe.a", "u-zoe", t0)
	create("acct-other", "zoe", "", t0) // another name: stays

	if _, err := eng.UpdateUser(ctx, actor, "u-zoe", func(u store.User) (store.User, error) {
		u.Active = false
		return u, nil
	}); err != nil {
		t.Fatalf("leaver: %v", err)
	}
	recs, err := st.ListAudit(ctx, store.AuditQuery{Action: "console.account_disable"})
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, r := range recs {
		subjects = append(subjects, r.Subject)
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if linked, ok := d["linked"]; ok != (r.Subject == "console:acct-unlinked") || ok && linked != false {
			t.Errorf("%s: detail %v; want \"linked\": false on the unlinked account only", r.Subject, d)
		}
	}
	want := []string{"console:acct-linked-1", "console:acct-linked-2", "console:acct-unlinked"}
	if diff := cmp.Diff(want, subjects); diff != "" {
		t.Errorf("console.account_disable records, in order (-want +got):\n%s", diff)
	}
	if a, err := st.GetConsoleAccount(ctx, "acct-other"); err != nil || !a.Disabled.IsZero() {
		t.Errorf("account of another name: %+v, %v; want it enabled", a, err)
	}
}
