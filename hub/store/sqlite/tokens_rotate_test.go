package sqlite_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
	"github.com/shiftgate/shiftgate/hub/token"
)

// TestTokenRotateRace: one token rotated at once by two processes on the
// same file (the console of a running hub and shiftgate-hub token
// rotate), many times over: each time exactly one rotation succeeds and
// the other is refused with token.ErrCannotRotate, so a token never has
// two successors in use.
func TestTokenRotateRace(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	var dbs [2]*sqlite.DB
	for i := range dbs {
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	now := time.Now()
	for round := range 20 {
		_, tok, err := token.New("okta", store.ScopeSCIM, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dbs[0].CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		var (
			wg   sync.WaitGroup
			errs [2]error
			news [2]string
		)
		for i, db := range dbs {
			wg.Go(func() {
				errs[i] = db.InTx(ctx, func(tx store.Ops) error {
					r, err := token.Rotate(ctx, tx, tok.ID, now, time.Hour, time.Time{})
					news[i] = r.New.ID
					return err
				})
			})
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, token.ErrCannotRotate):
				t.Fatalf("round %d, process %d: %v; want success or ErrCannotRotate", round, i, err)
			}
		}
		ts, err := dbs[1].ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		successors := 0
		for _, s := range ts {
			if s.Name == "okta" && s.ID != tok.ID && s.Created.Equal(now.UTC()) && (s.ID == news[0] || s.ID == news[1]) {
				successors++
			}
		}
		if ok != 1 || successors != 1 {
			t.Fatalf("round %d: %d rotations succeeded, %d successors stored (%v); want 1 and 1", round, ok, successors, errs)
		}
	}
}
