package audit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// watcherWith is w.watcher with cfg changed by set, over trail.
func (w *watched) watcherWith(t *testing.T, trail audit.Trail, set func(*audit.WatchConfig)) *audit.Watcher {
	t.Helper()
	cfg := audit.WatchConfig{Key: w.key, Trail: trail, Dir: w.dir, Pause: 0.01,
		Alert: func(ctx context.Context, e audit.Entry) error {
			return w.st.InTx(ctx, func(tx store.Ops) error { _, err := w.log.Append(ctx, tx, e); return err })
		}}
	set(&cfg)
	wt, err := audit.NewWatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

// The head kept in audit.head names only records made durable first
// (WatchConfig.Sync): a head naming a commit that a power cut then lost
// would report a trail cut that nobody cut. When Sync fails the check
// stands, but the file keeps the head it had.
func TestWatchKeepsOnlyDurableHead(t *testing.T) {
	w := newWatched(t)
	appendN(t, w.st, w.log, 5)
	var (
		failSync bool
		synced   []int64 // the trail's head at each Sync
	)
	wt := w.watcherWith(t, w, func(c *audit.WatchConfig) {
		c.Sync = func(ctx context.Context) error {
			if failSync {
				return errors.New("disk on fire")
			}
			seq, _, err := w.st.AuditHead(ctx)
			synced = append(synced, seq)
			return err
		}
	})
	st := check(t, wt)
	if st.Checked.Seq != 5 || w.headFile(t) != st.Checked.String() || len(synced) != 1 || synced[0] < 5 {
		t.Fatalf("status %+v, head file %q, synced at %v; want head 5 kept after a Sync that covers it", st, w.headFile(t), synced)
	}
	kept := w.headFile(t)
	appendN(t, w.st, w.log, 3)
	failSync = true
	if st := check(t, wt); st.Checked.Seq != 8 || st.Breaks != 0 {
		t.Fatalf("status %+v: the check stands when Sync fails", st)
	}
	if w.headFile(t) != kept {
		t.Errorf("head file %q after a failed Sync, want %q: it named records not known durable", w.headFile(t), kept)
	}
	// Nothing new: no Sync, no write.
	failSync = false
	synced = nil
	check(t, wt)
	if len(synced) != 0 {
		t.Errorf("synced %v with no new record checked", synced)
	}
	appendN(t, w.st, w.log, 1)
	if st := check(t, wt); w.headFile(t) != st.Checked.String() || st.Checked.Seq != 9 {
		t.Errorf("status %+v, head file %q", st, w.headFile(t))
	}
}

// A break whose audit.alert cannot be recorded (a full disk) is not
// passed over: the watch keeps the head it had, and the next check
// records the alert, once, without counting the break twice.
func TestWatchRecordsAlertItCouldNotRecord(t *testing.T) {
	w := newWatched(t)
	appendN(t, w.st, w.log, 10)
	failAlert := false
	wt := w.watcherWith(t, w, func(c *audit.WatchConfig) {
		alert := c.Alert
		c.Alert = func(ctx context.Context, e audit.Entry) error {
			if failAlert {
				return errors.New("database or disk is full")
			}
			return alert(ctx, e)
		}
	})
	before := check(t, wt).Checked
	exec(t, tamperer(t, w.path), `DELETE FROM audit WHERE seq > 7`)
	failAlert = true
	if st := check(t, wt); st.Breaks != 1 || st.Stopped != "" {
		t.Fatalf("status %+v, want one break", st)
	}
	if len(w.alerts(t)) != 0 || w.headFile(t) != before.String() {
		t.Fatalf("alerts %v, head file %q: want none and the head kept, %s", w.alerts(t), w.headFile(t), before)
	}
	// New records meanwhile change how the break shows (record 10 is
	// now there, with another hash): still the same break.
	appendN(t, w.st, w.log, 4)
	failAlert = false
	st := check(t, wt)
	alerts := w.alerts(t)
	if st.Breaks != 1 || len(alerts) != 1 || alerts[0]["checked"] != before.String() {
		t.Fatalf("status %+v, alerts %v: want the one break, recorded once", st, alerts)
	}
	if st := check(t, wt); st.Breaks != 1 || st.Checked.String() != w.head(t).String() || w.headFile(t) != st.Checked.String() || len(w.alerts(t)) != 1 {
		t.Errorf("next check: status %+v, head file %q, %d alerts", st, w.headFile(t), len(w.alerts(t)))
	}
}

// flakyTrail fails the next read of the whole trail (AfterSeq 0) once
// armed.
type flakyTrail struct {
	audit.Trail
	mu    sync.Mutex
	armed bool
}

func (f *flakyTrail) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	f.mu.Lock()
	fail := f.armed && q.AfterSeq == 0
	if fail {
		f.armed = false
	}
	f.mu.Unlock()
	if fail {
		return nil, errors.New("disk I/O error")
	}
	return f.Trail.ListAudit(ctx, q)
}

// A break after which the whole trail could not be read is found again by
// the next check: it is one break, counted and recorded once.
func TestWatchCountsABreakOnce(t *testing.T) {
	w := newWatched(t)
	appendN(t, w.st, w.log, 10)
	trail := &flakyTrail{Trail: w}
	wt := w.watcherWith(t, trail, func(*audit.WatchConfig) {})
	check(t, wt)
	exec(t, tamperer(t, w.path), `DELETE FROM audit WHERE seq > 7`)
	trail.armed = true
	if err := wt.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "disk I/O error") {
		t.Fatalf("check with the whole trail unreadable: %v", err)
	}
	st := check(t, wt)
	a := w.alerts(t)
	if st.Breaks != 1 || len(a) != 1 || !strings.HasPrefix(a[0]["whole_trail"].(string), "not checked") {
		t.Fatalf("status %+v, alerts %v: want one break, recorded once", st, a)
	}
	if st.Checked.String() != w.head(t).String() || w.headFile(t) != st.Checked.String() {
		t.Errorf("status %+v, head file %q: want the watch going on from the trail's head, %s", st, w.headFile(t), w.head(t))
	}
}

// timedTrail records when each page read began and ended.
type timedTrail struct {
	audit.Trail
	mu    sync.Mutex
	reads []timedRead
}

type timedRead struct {
	after      int64
	start, end time.Time
}

func (tt *timedTrail) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	start := time.Now()
	rs, err := tt.Trail.ListAudit(ctx, q)
	tt.mu.Lock()
	tt.reads = append(tt.reads, timedRead{q.AfterSeq, start, time.Now()})
	tt.mu.Unlock()
	return rs, err
}

// The walk over the whole trail after a break (expected after every
// restore) is paced like the first one: it pauses between pages at least
// Pause times as long as the page read took.
func TestWatchPacesTheWalkAfterABreak(t *testing.T) {
	w := newWatched(t)
	appendN(t, w.st, w.log, 2010)
	trail := &timedTrail{Trail: w}
	const pause = 20
	wt := w.watcherWith(t, trail, func(c *audit.WatchConfig) { c.Pause = pause })
	check(t, wt)
	exec(t, tamperer(t, w.path), `DELETE FROM audit WHERE seq > 2005`)
	trail.reads = nil
	if st := check(t, wt); st.Breaks != 1 || st.Checked.Seq != 2005 {
		t.Fatalf("status %+v", st)
	}
	var whole []timedRead
	for _, r := range trail.reads {
		if r.after == 0 || len(whole) > 0 {
			whole = append(whole, r)
		}
	}
	if len(whole) != 3 {
		t.Fatalf("reads %+v: want the whole trail in 3 pages", trail.reads)
	}
	for i := 1; i < len(whole); i++ {
		prev, next := whole[i-1], whole[i]
		if gap, read := next.start.Sub(prev.end), prev.end.Sub(prev.start); gap < pause*read {
			t.Errorf("page after %d read %v after the one before, which took %v: want a pause of at least %v", next.after, gap, read, pause*read)
		}
	}
}
