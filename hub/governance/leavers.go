package governance

import (
	"context"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// reasonReviewerLeft is the reason a review.escalate record of
// ReassignLeft gives.
const reasonReviewerLeft = "reviewer left"

// ReassignLeft hands every pending item, not escalated before, whose
// reviewer has left (disabled by SCIM active=false or an end date,
// deleted, or unknown) to the reviewer Escalate would pick: the leaver's
// manager, or the hub admins when they have none (or the manager is the
// user under review, or has left too). Before, a leaver's items stayed in
// a queue nobody worked until the campaign's due date, and the campaign's
// completion suffered for it. It returns how many it handed on.
//
// A hand-on is an escalation, done when the reviewer leaves rather than
// when the campaign falls due: the item shows it as one (escalated from
// the leaver, at that time), it is recorded as review.escalate with the
// reason "reviewer left", and, escalated once, it stays with its new
// reviewer at the due date. A record of its own action would read the
// same to every reader of the trail that follows a campaign's items (the
// cached completion counts, the evidence), each of which would have had
// to learn it; the reason tells the two apart.
//
// It runs in the scheduler's pass (RunDue), not in the leaver's own
// transaction: the lifecycle engine knows nothing of reviews, and a
// leaver's transaction, which already ends their sessions, need not wait
// for their reviews too. A reviewer enabled again before the pass keeps
// their items. The items are found by one indexed read outside any write
// transaction (store.ReviewItemQuery.ReviewerGone: one index step per
// reviewer holding items, cheap when nobody has left), and handed on
// escalateBatch at a time, each batch in a transaction of its own that
// reads the item's reviewer again and hands it on only if they are still
// gone, as Escalate does.
func (s *Service) ReassignLeft(ctx context.Context, a lifecycle.Actor) (int, error) {
	now := s.now()
	n := 0
	q := store.ReviewItemQuery{ReviewerGone: true, Limit: escalateBatch}
	for {
		items, err := s.cfg.Store.ListReviewItems(ctx, q)
		if err != nil {
			return n, fmt.Errorf("reassign review items of reviewers who left: %w", err)
		}
		if len(items) == 0 {
			break
		}
		done, err := s.escalate(ctx, a, items, now, reasonReviewerLeft)
		n += done
		if err != nil {
			return n, fmt.Errorf("reassign review items of reviewers who left: %w", err)
		}
		if len(items) < escalateBatch {
			break
		}
		// On from the last item read, as Escalate goes on: one left in
		// place (its reviewer enabled again meanwhile) would be read
		// again from an offset.
		last := items[len(items)-1]
		q.AfterCreated, q.AfterID = last.Created, last.ID
	}
	if n > 0 {
		s.cfg.Logger.Info("review items of reviewers who left reassigned", "count", n)
	}
	return n, nil
}
