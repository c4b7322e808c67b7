package sqlite

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

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestGroupCommit runs many writes at once, so that they share batches,
// and checks that each is all-or-nothing on its own: the writes that fail
// or panic after writing leave nothing, and every other one is committed.
func TestGroupCommit(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	db.maxBatchTime = time.Minute // batches end when the queue is empty or full
	ctx := t.Context()

	const n = 96 // more than one full batch
	hold := make(chan struct{})
	started := make(chan struct{})
	errBoom := errors.New("refused after writing")
	type outcome struct {
		err      error
		panicked any
	}
	out := make([]outcome, n)
	var wg sync.WaitGroup
	write := func(i int) {
		defer wg.Done()
		defer func() { out[i].panicked = recover() }()
		out[i].err = db.InTx(ctx, func(tx store.Ops) error {
			if i == 0 {
				close(started)
				<-hold // the others queue meanwhile
			}
			if _, err := tx.CreateSite(ctx, store.Site{ID: fmt.Sprintf("id-%03d", i), Name: fmt.Sprintf("site-%03d", i)}); err != nil {
				return err
			}
			switch {
			case i%5 == 3:
				return errBoom
			case i%7 == 4:
				panic(fmt.Sprintf("write %d panics", i))
			}
			return nil
		})
	}
	wg.Add(1)
	go write(0)
	<-started
	for i := 1; i < n; i++ {
		wg.Add(1)
		go write(i)
	}
	time.Sleep(50 * time.Millisecond) // let them queue behind write 0
	close(hold)
	wg.Wait()

	sites, err := db.ListSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, s := range sites {
		have[s.Name] = true
	}
	for i, o := range out {
		name := fmt.Sprintf("site-%03d", i)
		switch {
		case i%5 == 3:
			if !errors.Is(o.err, errBoom) || have[name] {
				t.Errorf("write %d: err %v, site kept %v; want its own error and nothing written", i, o.err, have[name])
			}
		case i%7 == 4:
			if o.panicked != fmt.Sprintf("write %d panics", i) || have[name] {
				t.Errorf("write %d: recovered %v, site kept %v; want its panic and nothing written", i, o.panicked, have[name])
			}
		default:
			if o.err != nil || o.panicked != nil || !have[name] {
				t.Errorf("write %d: err %v, panic %v, site written %v; want it committed", i, o.err, o.panicked, have[name])
			}
		}
	}
	if c := db.commitCount.Load(); c >= n/2 {
		t.Errorf("%d writes took %d commits; want them grouped", n, c)
	}
	t.Logf("%d writes, %d commits", n, db.commitCount.Load())
}

// TestGroupCommitCancelled: a write whose context ends while it queues is
// not run and says so; the writes around it are unaffected.
func TestGroupCommitCancelled(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	hold := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	var firstErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		firstErr = db.InTx(ctx, func(tx store.Ops) error {
			close(started)
			<-hold
			_, err := tx.CreateSite(ctx, store.Site{ID: "first", Name: "first"})
			return err
		})
	}()
	<-started
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	ran := false
	err := db.InTx(cctx, func(tx store.Ops) error { ran = true; return nil })
	close(hold)
	wg.Wait()
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Errorf("cancelled write: err %v, ran %v; want DeadlineExceeded and not run", err, ran)
	}
	if firstErr != nil {
		t.Fatalf("first write: %v", firstErr)
	}
	if _, err := db.GetSiteByName(ctx, "first"); err != nil {
		t.Errorf("first write lost: %v", err)
	}
	if _, err := db.CreateSite(ctx, store.Site{ID: "after", Name: "after"}); err != nil {
		t.Errorf("write after a cancelled one: %v", err)
	}
}

// TestGroupCommitCancelledAtHandOff: a write whose context ends just as
// leadership is handed to it (taken off the queue by the leader that
// finished) does not run, and passes leadership on, so the writes behind
// it go on. Both orders of the race are taken: the turn seen first, and
// the end of the context seen first.
func TestGroupCommitCancelledAtHandOff(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	for i := range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r := &writeReq{ctx: ctx, turn: make(chan turn, 1), ran: make(chan ran, 1), done: make(chan error, 1)}
		// As handOff leaves things: leading still true, r off the queue,
		// its turn to lead on its way.
		db.w.mu.Lock()
		db.w.leading = true
		db.w.mu.Unlock()
		r.turn <- turn{lead: true}
		ran := false
		err := db.await(r, func(q querier) error { ran = true; return nil })
		if !errors.Is(err, context.Canceled) || ran {
			t.Fatalf("try %d: err %v, ran %v; want Canceled and not run", i, err, ran)
		}
		db.w.mu.Lock()
		leading := db.w.leading
		db.w.mu.Unlock()
		if leading {
			t.Fatalf("try %d: leadership kept by a write that gave up; every later write would queue for ever", i)
		}
	}
	if _, err := db.CreateSite(t.Context(), store.Site{ID: "after", Name: "after"}); err != nil {
		t.Errorf("write after: %v", err)
	}
}

// TestClosedStoreRefusesWrites: after Close a write gets an error, not a hang.
func TestClosedStoreRefusesWrites(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSite(t.Context(), store.Site{ID: "late", Name: "late"}); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v; want errClosed", err)
	}
}

// loseTx writes a row, then makes SQLite roll the whole transaction back
// (an OR ROLLBACK conflict clause here; a full disk or an I/O error in
// production) and goes on as a careless write would: it writes again,
// reads, and claims success. Every statement after the rollback must fail,
// and nothing of it may be kept.
func loseTx(t *testing.T, q querier, row string) error {
	ctx := context.Background()
	if _, err := q.ExecContext(ctx, `INSERT INTO scratch VALUES (?)`, row); err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `INSERT OR ROLLBACK INTO scratch VALUES (?)`, row); err == nil {
		t.Error("the conflict was not reported")
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO scratch VALUES (?)`, row+"-after"); !errors.Is(err, errTxLost) {
		t.Errorf("a write after the rollback: %v, want errTxLost", err)
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM scratch`).Scan(&n); err == nil || !strings.Contains(err.Error(), errTxLost.Error()) {
		t.Errorf("a query after the rollback: %v, want errTxLost's message", err)
	}
	return nil
}

func scratchRows(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := queryAll(t.Context(), db.reader, func(s scanner) (string, error) {
		var x string
		return x, s.Scan(&x)
	}, `SELECT x FROM scratch ORDER BY x`)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestWriteAfterLostTransaction: a write that goes on after its
// transaction is gone cannot commit anything, alone or in a batch (where
// the leader's write is lost with it and reported so).
func TestWriteAfterLostTransaction(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	if _, err := db.writer.ExecContext(ctx, `CREATE TABLE scratch (x TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}

	if err := db.writeTx(ctx, func(q querier) error { return loseTx(t, q, "alone") }); err == nil {
		t.Error("a write whose transaction was lost reported success")
	}
	if got := scratchRows(t, db); len(got) != 0 {
		t.Fatalf("kept %v of a lost transaction", got)
	}

	// In a batch: the leader's write, then the careless one in a
	// savepoint of the same transaction, then one more.
	db.maxBatchTime = time.Minute
	hold, started := make(chan struct{}), make(chan struct{})
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[0] = db.writeTx(ctx, func(q querier) error {
			close(started)
			<-hold
			_, err := q.ExecContext(ctx, `INSERT INTO scratch VALUES ('leader')`)
			return err
		})
	}()
	<-started
	for i, fn := range []func(querier) error{
		func(q querier) error { return loseTx(t, q, "careless") },
		func(q querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO scratch VALUES ('next')`)
			return err
		},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = db.writeTx(ctx, fn)
		}()
		time.Sleep(20 * time.Millisecond) // queue in this order
	}
	close(hold)
	wg.Wait()
	if errs[0] == nil || errs[1] == nil {
		t.Errorf("leader: %v; careless write: %v; want both to fail: the transaction they shared is gone", errs[0], errs[1])
	}
	got := scratchRows(t, db)
	if slices.Contains(got, "leader") || slices.ContainsFunc(got, func(x string) bool { return strings.HasPrefix(x, "careless") }) {
		t.Errorf("rows kept: %v; the leader's and the careless write's must not be", got)
	}
	if errs[2] == nil && !slices.Contains(got, "next") {
		t.Errorf("the write after reported success but is not stored: %v", got)
	}
}
