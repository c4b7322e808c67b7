package storetest

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

func session(id, user, device string, h int) store.Session {
	return store.Session{ID: id, UserID: user, DeviceID: device, Role: "Nurse",
		Apps: []string{"emr", "pharmacy"}, Started: at(h), Expires: at(h + 8)}
}

func testSessions(t *testing.T, s store.Store) {
	s1, s2, s3 := session("s1", "u1", "k1", 2), session("s2", "u1", "k2", 1), session("s3", "u2", "k1", 3)
	s4 := session("s4", "u1", "k1", 0)
	s4.Ended, s4.EndReason = at(1), "signout"
	s5 := session("s5", "u2", "k2", 2) // same Started as s1: ID breaks the tie
	for _, x := range []store.Session{s1, s2, s3, s4, s5} {
		got := must[store.Session](t, "create")(s.CreateSession(t.Context(), x))
		diff(t, "created session", x, got)
		checkUTC(t, "created session", got.Started, got.Expires, got.Ended)
	}
	_, err := s.CreateSession(t.Context(), session("s1", "u3", "k3", 9))
	wantErr(t, "create duplicate ID", err, store.ErrConflict)

	got := must[store.Session](t, "get")(s.GetSession(t.Context(), "s4"))
	diff(t, "got session", s4, got)
	checkUTC(t, "got session", got.Started, got.Expires, got.Ended)
	_, err = s.GetSession(t.Context(), "nope")
	wantErr(t, "get unknown", err, store.ErrNotFound)

	tests := []struct {
		name string
		q    store.SessionQuery
		want []store.Session
	}{
		{name: "all by Started then ID", q: store.SessionQuery{}, want: []store.Session{s4, s2, s1, s5, s3}},
		{name: "user", q: store.SessionQuery{UserID: "u1"}, want: []store.Session{s4, s2, s1}},
		{name: "user live", q: store.SessionQuery{UserID: "u1", LiveOnly: true}, want: []store.Session{s2, s1}},
		{name: "device", q: store.SessionQuery{DeviceID: "k1"}, want: []store.Session{s4, s1, s3}},
		{name: "device live", q: store.SessionQuery{DeviceID: "k1", LiveOnly: true}, want: []store.Session{s1, s3}},
		{name: "user and device", q: store.SessionQuery{UserID: "u2", DeviceID: "k2"}, want: []store.Session{s5}},
		{name: "live", q: store.SessionQuery{LiveOnly: true}, want: []store.Session{s2, s1, s5, s3}},
		{name: "live expired by", q: store.SessionQuery{LiveOnly: true, ExpiresBy: s1.Expires}, want: []store.Session{s2, s1, s5}},
		{name: "expired by, to the nanosecond", q: store.SessionQuery{ExpiresBy: s1.Expires.Add(-1)}, want: []store.Session{s4, s2}},
		{name: "none", q: store.SessionQuery{UserID: "nobody"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := must[[]store.Session](t, "list")(s.ListSessions(t.Context(), tc.q))
			diff(t, "sessions", tc.want, got)
		})
	}
}

func testEndSessions(t *testing.T, s store.Store) {
	live1, live2, other := session("s1", "u1", "k1", 1), session("s2", "u1", "k2", 0), session("s3", "u2", "k1", 1)
	ended := session("s4", "u1", "k1", -5)
	ended.Ended, ended.EndReason = at(-1), "idle"
	for _, x := range []store.Session{live1, live2, other, ended} {
		must[store.Session](t, "create")(s.CreateSession(t.Context(), x))
	}

	got := must[[]store.Session](t, "end sessions")(s.EndSessions(t.Context(), "u1", "deprovisioned", at(4)))
	want1, want2 := live1, live2
	want1.Ended, want1.EndReason = at(4), "deprovisioned"
	want2.Ended, want2.EndReason = at(4), "deprovisioned"
	diff(t, "ended sessions, after the change", sortBy([]store.Session{want1, want2}, func(s store.Session) string { return s.ID }),
		sortBy(got, func(s store.Session) string { return s.ID }))
	for _, x := range got {
		checkUTC(t, "ended session", x.Started, x.Expires, x.Ended)
	}
	diff(t, "earlier ended session untouched", ended, must[store.Session](t, "get s4")(s.GetSession(t.Context(), "s4")))
	diff(t, "other user's session untouched", other, must[store.Session](t, "get s3")(s.GetSession(t.Context(), "s3")))
	diff(t, "ended session stored", want1, must[store.Session](t, "get s1")(s.GetSession(t.Context(), "s1")))
	got = must[[]store.Session](t, "end again")(s.EndSessions(t.Context(), "u1", "again", at(5)))
	if len(got) != 0 {
		t.Errorf("second EndSessions returned %v, want none", got)
	}

	// EndSession ends one live session.
	one := must[store.Session](t, "end one")(s.EndSession(t.Context(), "s3", "signout", at(6)))
	wantOne := other
	wantOne.Ended, wantOne.EndReason = at(6), "signout"
	diff(t, "ended session", wantOne, one)
	checkUTC(t, "ended session", one.Started, one.Expires, one.Ended)
	diff(t, "got ended session", wantOne, must[store.Session](t, "get s3")(s.GetSession(t.Context(), "s3")))

	for _, tc := range []struct{ name, id string }{{"already ended", "s3"}, {"unknown", "nope"}} {
		t.Run("end "+tc.name, func(t *testing.T) {
			_, err := s.EndSession(t.Context(), tc.id, "x", at(7))
			wantErr(t, "end", err, store.ErrNotFound)
		})
	}
	diff(t, "ended session unchanged by a second end", wantOne, must[store.Session](t, "get s3")(s.GetSession(t.Context(), "s3")))
}

func testGrants(t *testing.T, s store.Store) {
	g := func(id, user string, start, end int) store.Grant {
		return store.Grant{ID: id, UserID: user, Role: "Charge Nurse", Site: "North", Reason: "cover",
			Approver: "admin:kim", Start: at(start), End: at(end), Created: at(start - 1)}
	}
	current, future, over := g("current", "u1", 0, 8), g("future", "u1", 20, 28), g("over", "u1", -10, -2)
	early := g("early", "u1", -3, 30)
	early.Revoked = at(-1)
	other := g("other", "u2", 0, 8)
	for _, x := range []store.Grant{current, future, over, early, other} {
		got := must[store.Grant](t, "create")(s.CreateGrant(t.Context(), x))
		diff(t, "created grant", x, got)
		checkUTC(t, "created grant", got.Start, got.End, got.Revoked, got.Created)
	}
	_, err := s.CreateGrant(t.Context(), g("current", "u3", 0, 1))
	wantErr(t, "create duplicate ID", err, store.ErrConflict)

	byID := func(g store.Grant) string { return g.ID }
	list := must[[]store.Grant](t, "list")(s.ListGrants(t.Context(), "u1"))
	diff(t, "u1 grants", sortBy([]store.Grant{current, future, over, early}, byID), sortBy(list, byID))
	for _, x := range list {
		checkUTC(t, "listed grant", x.Start, x.End, x.Revoked, x.Created)
	}

	// At 2h: current is running, future not started, over is over, early
	// already revoked. The first two are not over, so they are revoked.
	got := must[[]store.Grant](t, "revoke")(s.RevokeGrants(t.Context(), "u1", at(2)))
	wantCurrent, wantFuture := current, future
	wantCurrent.Revoked, wantFuture.Revoked = at(2), at(2)
	diff(t, "revoked grants, after the change", sortBy([]store.Grant{wantCurrent, wantFuture}, byID), sortBy(got, byID))
	list = must[[]store.Grant](t, "list after")(s.ListGrants(t.Context(), "u1"))
	diff(t, "u1 grants after revoke", sortBy([]store.Grant{wantCurrent, wantFuture, over, early}, byID), sortBy(list, byID))
	diff(t, "other user's grants", []store.Grant{other}, must[[]store.Grant](t, "list u2")(s.ListGrants(t.Context(), "u2")))
	if got := must[[]store.Grant](t, "revoke again")(s.RevokeGrants(t.Context(), "u1", at(3))); len(got) != 0 {
		t.Errorf("second revoke returned %v, want none", got)
	}
}

func testGrantOne(t *testing.T, s store.Store) {
	g := func(id string, start, end int) store.Grant {
		return store.Grant{ID: id, UserID: "u1", Role: "Charge Nurse", Site: "North", Reason: "cover",
			Approver: "admin:kim", Start: at(start), End: at(end), Created: at(start - 1)}
	}
	current, over := g("current", 0, 8), g("over", -10, -2)
	for _, x := range []store.Grant{current, over} {
		must[store.Grant](t, "create")(s.CreateGrant(t.Context(), x))
	}
	diff(t, "get", current, must[store.Grant](t, "get")(s.GetGrant(t.Context(), "current")))
	_, err := s.GetGrant(t.Context(), "nope")
	wantErr(t, "get unknown", err, store.ErrNotFound)

	got := must[store.Grant](t, "revoke")(s.RevokeGrant(t.Context(), "current", at(2)))
	want := current
	want.Revoked = at(2)
	diff(t, "revoked grant", want, got)
	checkUTC(t, "revoked grant", got.Start, got.End, got.Revoked, got.Created)
	diff(t, "get after revoke", want, must[store.Grant](t, "get after")(s.GetGrant(t.Context(), "current")))
	_, err = s.RevokeGrant(t.Context(), "current", at(3))
	wantErr(t, "revoke twice", err, store.ErrNotFound)
	_, err = s.RevokeGrant(t.Context(), "over", at(3))
	wantErr(t, "revoke a grant that is over", err, store.ErrNotFound)
	_, err = s.RevokeGrant(t.Context(), "nope", at(3))
	wantErr(t, "revoke unknown", err, store.ErrNotFound)
	diff(t, "over unchanged", over, must[store.Grant](t, "get over")(s.GetGrant(t.Context(), "over")))
}

func testRevocations(t *testing.T, s store.Store) {
	r := func(user, session, reason string, h int) store.Revocation {
		return store.Revocation{ID: 999, UserID: user, SessionID: session, DeviceID: "k1",
			Reason: reason, Detail: "role:Nurse", Created: at(h)}
	}
	in := []store.Revocation{
		r("u1", "s1", "deprovisioned", 1),
		r("u1", "", "deprovisioned", 1), // no live session: never pending
		r("u2", "s2", "entitlement_removed", 2),
		r("u1", "s1", "forced", 3),
		r("u2", "s3", "forced", 4),
	}
	var added []store.Revocation
	for i, x := range in {
		got := must[store.Revocation](t, "add")(s.AddRevocation(t.Context(), x))
		if i > 0 && got.ID <= added[i-1].ID {
			t.Errorf("revocation #%d ID %d not above previous %d", i, got.ID, added[i-1].ID)
		}
		want := x
		want.ID = got.ID
		diff(t, "added revocation", want, got)
		checkUTC(t, "added revocation", got.Created, got.Acked)
		added = append(added, got)
	}
	pick := func(is ...int) []store.Revocation {
		var out []store.Revocation
		for _, i := range is {
			out = append(out, added[i])
		}
		return out
	}

	tests := []struct {
		name string
		q    store.RevocationQuery
		want []store.Revocation
	}{
		{name: "all by ID", q: store.RevocationQuery{}, want: pick(0, 1, 2, 3, 4)},
		{name: "user", q: store.RevocationQuery{UserID: "u1"}, want: pick(0, 1, 3)},
		{name: "session", q: store.RevocationQuery{SessionID: "s1"}, want: pick(0, 3)},
		{name: "pending", q: store.RevocationQuery{PendingOnly: true}, want: pick(0, 2, 3, 4)},
		{name: "after ID", q: store.RevocationQuery{AfterID: added[2].ID}, want: pick(3, 4)},
		{name: "limit", q: store.RevocationQuery{Limit: 2}, want: pick(0, 1)},
		{name: "pending after ID with limit", q: store.RevocationQuery{PendingOnly: true, AfterID: added[0].ID, Limit: 2}, want: pick(2, 3)},
		{name: "none", q: store.RevocationQuery{UserID: "nobody"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := must[[]store.Revocation](t, "list")(s.ListRevocations(t.Context(), tc.q))
			diff(t, "revocations", tc.want, got)
		})
	}

	if n := must[int](t, "ack s1 from another kiosk")(s.AckRevocations(t.Context(), "s1", "k2", at(10))); n != 0 {
		t.Errorf("kiosk k2 acked %d revocations of s1, which was on k1; want 0", n)
	}
	n := must[int](t, "ack s1")(s.AckRevocations(t.Context(), "s1", "k1", at(10)))
	if n != 2 {
		t.Errorf("acked %d revocations of s1, want 2", n)
	}
	if n := must[int](t, "ack s1 again")(s.AckRevocations(t.Context(), "s1", "k1", at(11))); n != 0 {
		t.Errorf("acked %d revocations of s1 the second time, want 0", n)
	}
	if n := must[int](t, "ack unknown")(s.AckRevocations(t.Context(), "nope", "k1", at(11))); n != 0 {
		t.Errorf("acked %d revocations of an unknown session, want 0", n)
	}
	got := must[[]store.Revocation](t, "list s1")(s.ListRevocations(t.Context(), store.RevocationQuery{SessionID: "s1"}))
	want := pick(0, 3)
	for i := range want {
		want[i].Acked = at(10) // the first ack's time, not the second's
	}
	diff(t, "acked revocations", want, got)
	for _, x := range got {
		checkUTC(t, "acked revocation", x.Created, x.Acked)
	}
	pending := must[[]store.Revocation](t, "pending")(s.ListRevocations(t.Context(), store.RevocationQuery{PendingOnly: true}))
	diff(t, "pending after ack", pick(2, 4), pending)

	// IDs keep increasing after acks.
	last := must[store.Revocation](t, "add last")(s.AddRevocation(t.Context(), r("u3", "s9", "forced", 5)))
	if last.ID <= added[4].ID {
		t.Errorf("new revocation ID %d not above %d", last.ID, added[4].ID)
	}
}

// testStartAndEndOnDevice: StartSession needs an active device;
// EndSessionOn ends only a session on the device named.
func testStartAndEndOnDevice(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, d := range []store.Device{
		{ID: "k1", Name: "kiosk-1", Site: "North", Profile: "p", State: store.DeviceActive, Created: at(0), Modified: at(0)},
		{ID: "k2", Name: "kiosk-2", Site: "North", Profile: "p", State: store.DeviceDisabled, Created: at(0), Modified: at(0)},
	} {
		must[store.Device](t, "create device")(s.CreateDevice(ctx, d))
	}
	s1 := session("s1", "u1", "k1", 1)
	diff(t, "started", s1, must[store.Session](t, "start")(s.StartSession(ctx, s1)))
	diff(t, "stored", s1, must[store.Session](t, "get")(s.GetSession(ctx, "s1")))
	_, err := s.StartSession(ctx, session("s2", "u1", "k2", 1))
	wantErr(t, "start on a disabled device", err, store.ErrNotFound)
	_, err = s.StartSession(ctx, session("s3", "u1", "nope", 1))
	wantErr(t, "start on an unknown device", err, store.ErrNotFound)
	for _, id := range []string{"s2", "s3"} {
		_, err := s.GetSession(ctx, id)
		wantErr(t, "refused session stored", err, store.ErrNotFound)
	}
	_, err = s.StartSession(ctx, s1)
	wantErr(t, "start duplicate", err, store.ErrConflict)

	_, err = s.EndSessionOn(ctx, "s1", "k2", "signout", at(3))
	wantErr(t, "end on another device", err, store.ErrNotFound)
	if got := must[store.Session](t, "get")(s.GetSession(ctx, "s1")); !got.Ended.IsZero() {
		t.Fatalf("ended from another device: %+v", got)
	}
	ended := must[store.Session](t, "end on its device")(s.EndSessionOn(ctx, "s1", "k1", "signout", at(3)))
	want := s1
	want.Ended, want.EndReason = at(3), "signout"
	diff(t, "ended", want, ended)
	checkUTC(t, "ended", ended.Started, ended.Expires, ended.Ended)
	_, err = s.EndSessionOn(ctx, "s1", "k1", "signout", at(4))
	wantErr(t, "end twice", err, store.ErrNotFound)
}
