package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testBulk covers the one-step operations a mass revocation uses.
func testBulk(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ids []string
	for i := range 50 {
		x := session(fmt.Sprintf("s%02d", i), fmt.Sprintf("u%02d", i), "k1", i%3)
		must[store.Session](t, "create")(s.CreateSession(ctx, x))
		ids = append(ids, x.ID)
	}
	must[store.Session](t, "end one")(s.EndSession(ctx, "s07", "signout", at(20)))
	given := append([]string{"nope", ids[9], ids[9]}, ids[:9]...) // out of order, one twice, one unknown
	got := must[[]string](t, "end by id")(s.EndSessionsByID(ctx, given, "entitlement_removed", at(21)))
	want := append([]string{ids[9]}, slices.Delete(slices.Clone(ids[:9]), 7, 8)...) // s07 was already ended
	if !slices.Equal(got, want) {
		t.Fatalf("ended %v, want %v (in the order given, each once, without s07 and nope)", got, want)
	}
	for _, id := range got {
		if x := must[store.Session](t, "get "+id)(s.GetSession(ctx, id)); x.EndReason != "entitlement_removed" || !x.Ended.Equal(at(21)) {
			t.Errorf("ended session %s = %+v", id, x)
		}
	}
	if x := must[store.Session](t, "get")(s.GetSession(ctx, "s07")); x.EndReason != "signout" {
		t.Errorf("an ended session was ended again: %+v", x)
	}
	if live := must[[]store.Session](t, "live")(s.ListSessions(ctx, store.SessionQuery{LiveOnly: true})); len(live) != 40 {
		t.Errorf("%d live sessions left, want 40", len(live))
	}
	// EachLiveSession yields the same 40, oldest first, as it reads them;
	// an error from the callback ends the scan and comes back.
	liveList := must[[]store.Session](t, "live")(s.ListSessions(ctx, store.SessionQuery{LiveOnly: true}))
	var each []store.LiveSession
	if err := s.EachLiveSession(ctx, func(x store.LiveSession) error { each = append(each, x); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(each) != len(liveList) {
		t.Fatalf("EachLiveSession yielded %d sessions, ListSessions lists %d live", len(each), len(liveList))
	}
	for i, x := range liveList {
		if want := (store.LiveSession{ID: x.ID, UserID: x.UserID, DeviceID: x.DeviceID, Role: x.Role}); each[i] != want {
			t.Errorf("EachLiveSession #%d = %+v, want %+v", i, each[i], want)
		}
	}
	stop := errors.New("enough")
	n := 0
	if err := s.EachLiveSession(ctx, func(store.LiveSession) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("a callback's error: scan returned %v after %d calls, want it after 1", err, n)
	}
	none := must[[]string](t, "end none")(s.EndSessionsByID(ctx, nil, "x", at(22)))
	if len(none) != 0 {
		t.Errorf("ending no IDs ended %d", len(none))
	}

	first := must[store.Revocation](t, "add one")(s.AddRevocation(ctx, store.Revocation{UserID: "u0", Reason: "forced", Detail: "session", Created: at(1)}))
	var rs []store.Revocation
	for i := range 30 {
		rs = append(rs, store.Revocation{UserID: fmt.Sprintf("u%02d", i), SessionID: fmt.Sprintf("s%02d", i), DeviceID: "k1", Reason: "entitlement_removed", Detail: "role:Nurse", Created: at(2)})
	}
	added := must[[]store.Revocation](t, "add many")(s.AddRevocations(ctx, rs))
	for i, r := range added {
		want := rs[i]
		want.ID = r.ID
		diff(t, "added revocation", want, r)
		if r.ID <= first.ID || i > 0 && r.ID <= added[i-1].ID {
			t.Errorf("revocation %d has ID %d: IDs must increase in order", i, r.ID)
		}
	}
	listed := must[[]store.Revocation](t, "list")(s.ListRevocations(ctx, store.RevocationQuery{AfterID: first.ID}))
	diff(t, "listed revocations", added, listed)

	r1 := auditRecord(1, nil, "user:u1", "user.create")
	if err := s.AppendAudit(ctx, r1); err != nil {
		t.Fatal(err)
	}
	r2 := auditRecord(2, r1.Hash, "user:u1", "user.entitlements_removed")
	r3 := auditRecord(3, r2.Hash, "user:u2", "user.entitlements_removed")
	r4 := auditRecord(4, r3.Hash, "user:u3", "user.entitlements_removed")
	wantErr(t, "batch not after the head", s.AppendAuditBatch(ctx, []store.AuditRecord{r3, r4}), store.ErrConflict)
	wantErr(t, "batch with a gap", s.AppendAuditBatch(ctx, []store.AuditRecord{r2, r4}), store.ErrConflict)
	wantErr(t, "batch not on the head's hash", s.AppendAuditBatch(ctx, []store.AuditRecord{auditRecord(2, []byte("not the head"), "x", "x")}), store.ErrConflict)
	if err := s.AppendAuditBatch(ctx, []store.AuditRecord{r2, r3, r4}); err != nil {
		t.Fatalf("batch: %v", err)
	}
	if err := s.AppendAuditBatch(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	log := must[[]store.AuditRecord](t, "list audit")(s.ListAudit(ctx, store.AuditQuery{}))
	diff(t, "audit log after a batch", []store.AuditRecord{r1, r2, r3, r4}, log)
}
