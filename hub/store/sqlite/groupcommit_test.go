package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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
