package governance

import (
	"context"
	"errors"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// reasonReviewerLeft is the reason a review.escalate record of
// ReassignLeft gives.
const reasonReviewerLeft = "reviewer left"

// ReassignLeft hands every pending item whose reviewer has left (disabled
// by SCIM active=false or an end date, deleted, or unknown) to the
// reviewer Escalate would pick: the leaver's manager, or the hub admins
// when they have none (or the manager is the user under review, or has
// left too). Before, a leaver's items stayed in a queue nobody worked
// until the campaign's due date, and the campaign's completion suffered
// for it. It returns how many it handed on.
//
// An item escalated before, to a manager who has now left, is handed on
// the same way, to that manager's manager or the admins (never back to
// the reviewer it was escalated from): escalated once, it is not
// escalated at the due date again, and was left with the leaver for
// good, in no worklist and counted against nobody who could decide it.
// It keeps its escalation (when, and from whom), and the record of the
// hand-on names the leaver (see escalate).
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
	const what, logged = "reassign review items of reviewers who left", "review items of reviewers who left reassigned"
	now := s.now()
	n := 0
	q := store.ReviewItemQuery{ReviewerGone: true, Limit: escalateBatch}
	for {
		items, err := s.cfg.Store.ListReviewItems(ctx, q)
		if err != nil {
			return n, s.passFailed(what, logged, n, err)
		}
		if len(items) == 0 {
			break
		}
		done, err := s.escalate(ctx, a, items, now, reasonReviewerLeft)
		n += done
		if err != nil {
			return n, s.passFailed(what, logged, n, err)
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
	done, err := s.reassignEscalated(ctx, a, now)
	n += done
	if err != nil {
		return n, s.passFailed(what, logged, n, err)
	}
	if n > 0 {
		s.cfg.Logger.Info(logged, "count", n)
	}
	return n, nil
}

// reassignEscalated hands on the pending items escalated to a manager
// who has left since (ReassignLeft), escalateBatch at a time, and returns
// how many it handed on (passFailed's count too, when it fails). The
// escalated items are read outside any write transaction, from the index
// of pending items by reviewer kind, and only their reviewers are read,
// once each per pass; the batches that hand them on read each again in
// their own transaction, as ReassignLeft's others do. Unlike
// ReviewerGone's one index step per reviewer, the pass reads every
// pending escalated item (an index of them by reviewer would take a
// migration): they are what campaigns left undecided past their due
// dates, and the read holds up no write.
func (s *Service) reassignEscalated(ctx context.Context, a lifecycle.Actor, now time.Time) (int, error) {
	n := 0
	gone := map[string]bool{} // by reviewer ID
	q := store.ReviewItemQuery{PendingOnly: true, ReviewerKind: ReviewerEscalated, Limit: escalateBatch}
	for {
		items, err := s.cfg.Store.ListReviewItems(ctx, q)
		if err != nil {
			return n, err
		}
		var left []store.ReviewItem
		for _, it := range items {
			g, ok := gone[it.ReviewerID]
			if !ok {
				u, err := s.cfg.Store.GetUser(ctx, it.ReviewerID)
				switch {
				case errors.Is(err, store.ErrNotFound):
					g = it.ReviewerID != "" // the admins never leave
				case err != nil:
					return n, err
				default:
					g = !live(u)
				}
				gone[it.ReviewerID] = g
			}
			if g && !it.Escalated.IsZero() {
				left = append(left, it)
			}
		}
		if len(left) > 0 {
			done, err := s.escalate(ctx, a, left, now, reasonReviewerLeft)
			n += done
			if err != nil {
				return n, err
			}
		}
		if len(items) < escalateBatch {
			return n, nil
		}
		// On from the last item read: one handed on stays in the list
		// (still pending, escalated), and one left in place too.
		last := items[len(items)-1]
		q.AfterCreated, q.AfterID = last.Created, last.ID
	}
}
