package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

var (
	t0    = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	actor = lifecycle.Actor{Name: "token:t1 (okta)", System: "scim"}
)

// pushLog is an OnRevoke that keeps what it was handed and, at the moment
// of each call, whether the store (read outside the transaction) still
// counted the session as live: true means the push came before the commit.
type pushLog struct {
	st       store.Store
	mu       sync.Mutex
	sessions []string
	liveThen map[string]bool
}

func (p *pushLog) onRevoke(rs []store.Revocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rs {
		if r.SessionID == "" {
			continue
		}
		s, err := p.st.GetSession(context.Background(), r.SessionID)
		p.sessions = append(p.sessions, r.SessionID)
		p.liveThen[r.SessionID] = err == nil && s.Ended.IsZero()
	}
}

// groupFixture: a Picker group of three users, each with a live session
// under Picker on a kiosk of their own, and one of them also signed in as
// Loader elsewhere.
type groupFixture struct {
	st      *sqlite.DB
	log     *audit.Log
	group   store.Group
	picker  []string // the Picker sessions
	loader  string   // the Loader session
	members []string
}

// openStore opens a hub store in a fresh file and an audit log for it.
func openStore(t *testing.T) (*sqlite.DB, *audit.Log) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, err := audit.New(make([]byte, 32), func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	return st, log
}

func newGroupFixture(t *testing.T) *groupFixture {
	t.Helper()
	ctx := t.Context()
	st, log := openStore(t)
	f := &groupFixture{st: st, log: log}
	eng := f.engine(t, st, nil)
	if _, err := st.CreateSite(ctx, store.Site{ID: "north", Name: "north", TimeZone: "UTC", Created: t0}); err != nil {
		t.Fatal(err)
	}
	session := func(uid, role string, i int) string {
		d, err := st.CreateDevice(ctx, store.Device{ID: fmt.Sprintf("dev-%d", i), Name: fmt.Sprintf("kiosk-%d", i), Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0})
		if err != nil {
			t.Fatal(err)
		}
		s, err := st.CreateSession(ctx, store.Session{ID: fmt.Sprintf("sess-%d", i), UserID: uid, DeviceID: d.ID, Role: role, Started: t0, Expires: t0.Add(8 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	for i := range 3 {
		u, err := eng.CreateUser(ctx, actor, store.User{ID: fmt.Sprintf("u-%d", i), UserName: fmt.Sprintf("picker%d", i), Active: true, Sites: []string{"north"}})
		if err != nil {
			t.Fatal(err)
		}
		f.members = append(f.members, u.ID)
		f.picker = append(f.picker, session(u.ID, "Picker", i))
	}
	f.loader = session(f.members[0], "Loader", 9)
	g, err := eng.CreateGroup(ctx, actor, store.Group{ID: "g-picker", DisplayName: "Picker", Members: f.members})
	if err != nil {
		t.Fatal(err)
	}
	f.group = g
	return f
}

func (f *groupFixture) engine(t *testing.T, st store.Store, onRevoke func([]store.Revocation)) *lifecycle.Engine {
	t.Helper()
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: f.log, Now: func() time.Time { return t0.Add(time.Hour) }, OnRevoke: onRevoke})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// A group deleted by the IdP is the change that ends thousands of
// sessions at once: its kiosks are told before the transaction writes
// them, once each, and the store records it all when it commits.
func TestGroupDeletePushesBeforeCommit(t *testing.T) {
	f := newGroupFixture(t)
	ctx := t.Context()
	p := &pushLog{st: f.st, liveThen: map[string]bool{}}
	eng := f.engine(t, f.st, p.onRevoke)
	if err := eng.DeleteGroup(ctx, actor, f.group.ID); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(p.sessions))
	if !slices.Equal(got, f.picker) {
		t.Fatalf("pushed %v, want each Picker session once: %v", got, f.picker)
	}
	for _, id := range f.picker {
		if !p.liveThen[id] {
			t.Errorf("session %s was already ended in the store when pushed: the push waited for the commit", id)
		}
		s, err := f.st.GetSession(ctx, id)
		if err != nil || s.EndReason != lifecycle.ReasonEntitlementRemoved {
			t.Errorf("session %s after the commit: %+v, %v", id, s, err)
		}
	}
	if s, _ := f.st.GetSession(ctx, f.loader); !s.Ended.IsZero() {
		t.Errorf("Loader session ended by deleting Picker: %+v", s)
	}
	revs, err := f.st.ListRevocations(ctx, store.RevocationQuery{PendingOnly: true})
	if err != nil || len(revs) != len(f.picker) {
		t.Errorf("pending revocations after the commit: %d (%v), want %d", len(revs), err, len(f.picker))
	}
}

// Removing members by a group update pushes early too, and only the
// removed member's sessions.
func TestGroupUpdatePushesRemovedMembersOnce(t *testing.T) {
	f := newGroupFixture(t)
	p := &pushLog{st: f.st, liveThen: map[string]bool{}}
	eng := f.engine(t, f.st, p.onRevoke)
	_, err := eng.UpdateGroup(t.Context(), actor, f.group.ID, func(g store.Group) (store.Group, error) {
		g.Members = f.members[1:]
		return g, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.sessions, f.picker[:1]) || !p.liveThen[f.picker[0]] {
		t.Errorf("pushed %v (live then: %v), want %v once, before the commit", p.sessions, p.liveThen, f.picker[:1])
	}
}

// failingRevocations fails the writing of revocations, after the live
// sessions were read and pushed: a disk that fails mid-transaction.
type failingRevocations struct{ store.Store }

type failingRevocationOps struct{ store.Ops }

var errDisk = errors.New("injected: disk full")

func (s failingRevocations) InTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error { return fn(failingRevocationOps{tx}) })
}

func (failingRevocationOps) AddRevocations(context.Context, []store.Revocation) ([]store.Revocation, error) {
	return nil, errDisk
}

// If the writes fail after the early push, the kiosks were signed out and
// the store still says they are not: the caller gets the error (a SCIM
// client retries), nothing of the change is stored, and nothing is pushed
// a second time. The order errs towards less access, never more.
func TestGroupDeleteFailingAfterPush(t *testing.T) {
	f := newGroupFixture(t)
	ctx := t.Context()
	p := &pushLog{st: f.st, liveThen: map[string]bool{}}
	eng := f.engine(t, failingRevocations{f.st}, p.onRevoke)
	if err := eng.DeleteGroup(ctx, actor, f.group.ID); !errors.Is(err, errDisk) {
		t.Fatalf("delete group: %v, want the injected failure", err)
	}
	if got := slices.Sorted(slices.Values(p.sessions)); !slices.Equal(got, f.picker) {
		t.Errorf("pushed %v, want the Picker sessions once: %v", got, f.picker)
	}
	if _, err := f.st.GetGroup(ctx, f.group.ID); err != nil {
		t.Errorf("group after the failed delete: %v", err)
	}
	for _, id := range append(slices.Clone(f.picker), f.loader) {
		if s, _ := f.st.GetSession(ctx, id); !s.Ended.IsZero() {
			t.Errorf("session %s ended in the store by a change that failed: %+v", id, s)
		}
	}
	if revs, _ := f.st.ListRevocations(ctx, store.RevocationQuery{}); len(revs) != 0 {
		t.Errorf("revocations stored by a change that failed: %v", revs)
	}
	// The retry goes through and pushes again: the kiosks ack a session
	// they no longer hold, and the store catches up.
	p.sessions = nil
	if err := f.engine(t, f.st, p.onRevoke).DeleteGroup(ctx, actor, f.group.ID); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(p.sessions)); !slices.Equal(got, f.picker) {
		t.Errorf("retry pushed %v, want %v", got, f.picker)
	}
}

// A group of hundreds is read in one scan of the live sessions, and its
// pushes go out in chunks while the scan goes on: the first chunk is
// handed over while every session is still live in the store.
func TestMassGroupDeletePushesInChunks(t *testing.T) {
	const n = 600
	ctx := t.Context()
	st, log := openStore(t)
	var members, sessions []string
	err := st.InTx(ctx, func(tx store.Ops) error {
		if _, err := tx.CreateDevice(ctx, store.Device{ID: "dev", Name: "kiosk", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
			return err
		}
		for i := range n {
			u, err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%04d", i), UserName: fmt.Sprintf("w%04d", i), Active: true, State: store.UserActive, Created: t0, Modified: t0})
			if err != nil {
				return err
			}
			members = append(members, u.ID)
			s, err := tx.CreateSession(ctx, store.Session{ID: fmt.Sprintf("s%04d", i), UserID: u.ID, DeviceID: "dev", Role: "Picker", Started: t0.Add(time.Duration(i) * time.Second), Expires: t0.Add(8 * time.Hour)})
			if err != nil {
				return err
			}
			sessions = append(sessions, s.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		calls     []int
		pushed    []string
		liveFirst int
	)
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return t0.Add(time.Hour) }, OnRevoke: func(rs []store.Revocation) {
		if len(calls) == 0 {
			live, err := st.ListSessions(context.Background(), store.SessionQuery{LiveOnly: true})
			if err != nil {
				t.Error(err)
			}
			liveFirst = len(live)
		}
		calls = append(calls, len(rs))
		for _, r := range rs {
			pushed = append(pushed, r.SessionID)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := eng.CreateGroup(ctx, actor, store.Group{ID: "g", DisplayName: "Picker", Members: members})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.DeleteGroup(ctx, actor, g.ID); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 || liveFirst != n {
		t.Errorf("pushed in %v (first while %d of %d sessions were live in the store), want several chunks, the first before the commit", calls, liveFirst, n)
	}
	if !slices.Equal(slices.Sorted(slices.Values(pushed)), sessions) {
		t.Errorf("pushed %d sessions, want each of the %d once", len(pushed), n)
	}
	if live, _ := st.ListSessions(ctx, store.SessionQuery{LiveOnly: true}); len(live) != 0 {
		t.Errorf("%d sessions live after the commit", len(live))
	}
	revs, err := st.ListRevocations(ctx, store.RevocationQuery{PendingOnly: true})
	if err != nil || len(revs) != n {
		t.Errorf("pending revocations: %d (%v), want %d", len(revs), err, n)
	}
}

// waveLog is a lifecycle.Wave that records the order of the engine's
// calls and, at each, what the store (read outside the transaction)
// showed: whether the group still existed, that is whether the change had
// committed yet.
type waveLog struct {
	st     store.Store
	group  string
	events []string
	pushed []string
}

func (w *waveLog) committed() bool {
	_, err := w.st.GetGroup(context.Background(), w.group)
	return errors.Is(err, store.ErrNotFound)
}

func (w *waveLog) note(ev string) {
	if w.committed() {
		ev += " (committed)"
	}
	if n := len(w.events); n == 0 || w.events[n-1] != ev {
		w.events = append(w.events, ev)
	}
}

func (w *waveLog) Push(rs []store.Revocation) {
	w.note("push")
	for _, r := range rs {
		w.pushed = append(w.pushed, r.SessionID)
	}
}
func (w *waveLog) Wait(context.Context) { w.note("wait") }
func (w *waveLog) End()                 { w.note("end") }

// With a wave (Config.NewWave), a group change pushes to the wave, waits
// for it before it writes, and ends it after the commit; OnRevoke gets
// nothing of what the wave pushed.
func TestGroupDeleteWaitsForItsWave(t *testing.T) {
	f := newGroupFixture(t)
	w := &waveLog{st: f.st, group: f.group.ID}
	var waves int
	var late []store.Revocation
	eng, err := lifecycle.New(lifecycle.Config{
		Store: f.st, Audit: f.log, Now: func() time.Time { return t0.Add(time.Hour) },
		OnRevoke: func(rs []store.Revocation) { late = append(late, rs...) },
		NewWave:  func() lifecycle.Wave { waves++; return w },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.DeleteGroup(t.Context(), actor, f.group.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{"push", "wait", "end (committed)"}
	if waves != 1 || !slices.Equal(w.events, want) {
		t.Errorf("%d waves, calls %v; want one wave and %v", waves, w.events, want)
	}
	if got := slices.Sorted(slices.Values(w.pushed)); !slices.Equal(got, f.picker) {
		t.Errorf("wave pushed %v, want %v", got, f.picker)
	}
	for _, r := range late {
		if r.SessionID != "" {
			t.Errorf("OnRevoke got session %s, which the wave had pushed", r.SessionID)
		}
	}
}

// panicWave is a waveLog whose Wait panics, as a bug in the change after
// its early pushes would.
type panicWave struct{ *waveLog }

func (w panicWave) Wait(context.Context) { panic("a bug after the early pushes") }

// A change that panics after its early pushes still ends its wave: the
// hub's wave answers kiosks' hellos with what it pushed until it ends.
func TestPanicEndsTheWave(t *testing.T) {
	f := newGroupFixture(t)
	w := &waveLog{st: f.st, group: f.group.ID}
	eng, err := lifecycle.New(lifecycle.Config{
		Store: f.st, Audit: f.log, Now: func() time.Time { return t0.Add(time.Hour) },
		NewWave: func() lifecycle.Wave { return panicWave{w} },
	})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("DeleteGroup did not panic")
			}
		}()
		_ = eng.DeleteGroup(t.Context(), actor, f.group.ID)
	}()
	if !slices.ContainsFunc(w.events, func(e string) bool { return strings.HasPrefix(e, "end") }) {
		t.Errorf("wave calls %v: the wave was never ended", w.events)
	}
}
