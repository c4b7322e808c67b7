package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
)

// When the disk fills during one write of a group-commit batch, SQLite
// rolls back the whole transaction: the batch's other writes, the leader's
// and one that had succeeded already, are lost for the same reason and are
// store.ErrFull (507: free space), not a bare "transaction rolled back"
// (500: a bug). The full disk is in their errors' chains.
func TestBatchRolledBackByFullDiskIsErrFull(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	if _, err := db.writer.ExecContext(ctx, `CREATE TABLE scratch (x TEXT)`); err != nil {
		t.Fatal(err)
	}
	// Not one page more than the file has (see TestDatabaseFullIsErrFull):
	// small rows fit in the table's page, a megabyte does not.
	if _, err := db.writer.ExecContext(ctx, "PRAGMA max_page_count = 1"); err != nil {
		t.Fatal(err)
	}
	insert := func(x string) func(querier) error {
		return func(q querier) error {
			_, err := q.ExecContext(context.Background(), `INSERT INTO scratch VALUES (?)`, x)
			return err
		}
	}

	db.maxBatchTime = time.Minute
	hold, started := make(chan struct{}), make(chan struct{})
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Go(func() {
		errs[0] = db.writeTx(ctx, func(q querier) error {
			close(started)
			<-hold // the others queue meanwhile, in order
			return insert("leader")(q)
		})
	})
	<-started
	for i, fn := range []func(querier) error{insert("small"), insert(strings.Repeat("x", 1<<20))} {
		wg.Go(func() { errs[i+1] = db.writeTx(ctx, fn) })
		time.Sleep(20 * time.Millisecond)
	}
	close(hold)
	wg.Wait()

	for i, name := range []string{"the leader's write", "the write before the full one", "the write that filled the disk"} {
		err := errs[i]
		if !errors.Is(err, store.ErrFull) {
			t.Errorf("%s: %v, want store.ErrFull", name, err)
			continue
		}
		var se sqlite3.Error
		if !errors.As(err, &se) || se.Code != sqlite3.ErrFull {
			t.Errorf("%s: the full disk is not in the chain: %v", name, err)
		}
	}
	if got := scratchRows(t, db); len(got) != 0 {
		t.Errorf("kept %v of a batch that was rolled back", got)
	}
}
