package governance_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestEvidenceStreamSameBytes: the evidence of pagedEvidence's campaign,
// read with its users and review.decide records a page at a time, is
// what it was when every record of the campaign and every user of the
// hub were read at once: the digests are of that code's output. Pages
// of 7 and 64 items (7 records, 64 records a read), which split the
// records of a page's users over several reads, write the same bytes.
func TestEvidenceStreamSameBytes(t *testing.T) {
	ctx := context.Background()
	e, id := pagedEvidence(t)
	for _, tc := range []struct {
		format string
		size   int
		sha256 string
	}{
		{"csv", 456124, "36beef2af00d6b9a71a72110f2793ec3d6f5d4ffe858ebb6ce64a61a726a6ff3"},
		{"json", 1413043, "337fb2a91acd877c51b7f74f27846a25d4f96340c4aeb9fb0e773c78356d9c6b"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var whole bytes.Buffer
			if _, err := e.gov.WriteEvidence(ctx, &whole, id, tc.format); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(whole.Bytes())
			if got := hex.EncodeToString(sum[:]); got != tc.sha256 || whole.Len() != tc.size {
				t.Errorf("evidence of %d bytes, sha256 %s; want %d bytes, %s", whole.Len(), got, tc.size, tc.sha256)
			}
			for _, page := range []int{7, 64} {
				var got bytes.Buffer
				if _, err := e.gov.WriteEvidencePage(ctx, &got, id, tc.format, page); err != nil {
					t.Fatal(err)
				}
				if got.String() != whole.String() {
					t.Errorf("pages of %d: %d bytes unlike pages of 1000's %d; first difference at %d", page, got.Len(), whole.Len(), firstDiff(got.String(), whole.String()))
				}
			}
		})
	}
}

// boundedReads is a store that records, in or out of a read transaction,
// the reads an evidence export must not make: every user or group of the
// hub at once, every review.decide record of the campaign at once, or
// more than a page of records in one read.
type boundedReads struct {
	store.Store
	mu    sync.Mutex
	wrong []string
}

func (s *boundedReads) note(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrong = append(s.wrong, fmt.Sprintf(format, a...))
}

func (s *boundedReads) InReadTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return s.Store.InReadTx(ctx, func(tx store.Ops) error { return fn(boundedOps{Ops: tx, s: s}) })
}

type boundedOps struct {
	store.Ops
	s *boundedReads
}

func (o boundedOps) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	if q.Limit <= 0 && q.ID == "" && q.UserName == "" && q.ExternalID == "" {
		o.s.note("ListUsers(%+v): every user at once", q)
	}
	return o.Ops.ListUsers(ctx, q)
}

func (o boundedOps) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	if q.Limit <= 0 && q.MemberID == "" {
		o.s.note("ListGroups(%+v): every group at once", q)
	}
	return o.Ops.ListGroups(ctx, q)
}

// TestEvidenceReadsBounded: an evidence export reads the users of a page
// of items with that page, never every user of the hub (it read them all,
// with every group, to name a page's few). The campaign's review.decide
// records are read once, by their action (decideRecords): found by the
// items' users instead, they would be read among every session record of
// those users.
func TestEvidenceReadsBounded(t *testing.T) {
	ctx := context.Background()
	e, id := pagedEvidence(t)
	st := &boundedReads{Store: e.st}
	gov, err := governance.New(governance.Config{Store: st, Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"csv", "json"} {
		var b bytes.Buffer
		ev, err := gov.WriteEvidence(ctx, &b, id, format)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Totals.Decided == 0 {
			t.Fatalf("%s: no decided items: %+v", format, ev.Totals)
		}
	}
	if _, err := gov.Evidence(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, w := range st.wrong {
		t.Error(w)
	}
}
