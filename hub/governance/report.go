package governance

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Durations summarises measured durations in seconds. P50, P95 and Max
// are null when Count is 0: nothing measured is not a zero.
//
// Percentiles are nearest-rank: of the n values sorted ascending, the p-th
// percentile is the value at rank ceil(p/100 × n) (1-based). Every
// reported value is one that was measured.
type Durations struct {
	P50   *float64 `json:"p50"`
	P95   *float64 `json:"p95"`
	Max   *float64 `json:"max"`
	Count int      `json:"count"`
	Sum   float64  `json:"sum"`
	// Pending counts events whose end is not reached yet (a joiner who
	// cannot sign in yet, a leaver's kiosk that has not acknowledged).
	Pending int `json:"pending"`
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted, which must be sorted ascending and not empty.
func Percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func summarise(vals []float64, pending int) Durations {
	d := Durations{Count: len(vals), Pending: pending}
	if len(vals) == 0 {
		return d
	}
	slices.Sort(vals)
	p50, p95, mx := Percentile(vals, 50), Percentile(vals, 95), vals[len(vals)-1]
	d.P50, d.P95, d.Max = &p50, &p95, &mx
	for _, v := range vals {
		d.Sum += v
	}
	return d
}

// Report is the four numbers, with what they are computed from.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// TimeToProvision: per joiner — a user created active or pending,
	// one created inactive once it is activated, a deprovisioned user
	// activated again (a re-hire) — from that request, or the start date
	// when later, to the first moment the user could sign in: active,
	// holding a credential and entitled (a site and a group role, or a
	// running just-in-time grant). A joiner whose clock has not started
	// is neither measured nor pending.
	TimeToProvision Durations `json:"time_to_provision_seconds"`
	// TimeToDeprovision: per leaver (a user.deprovision), from the leaver
	// event — the SCIM deactivation or deletion, or the end date the hub
	// held when it passed — to the last kiosk acknowledgement of the
	// sessions it ended (credentials are revoked in the deprovisioning
	// itself).
	TimeToDeprovision Durations `json:"time_to_deprovision_seconds"`
	// OrphanedAccountRate: orphaned accounts (findings of kind orphaned)
	// over accounts that can hold access (active or pending users, and
	// any user with an active credential or a live kiosk session). Null
	// when there are none.
	OrphanedAccountRate *float64 `json:"orphaned_account_rate"`
	// AccessReviewCompletionRate: of the items of campaigns whose due date
	// has passed, the share decided by that date. Null when no campaign
	// is due yet.
	AccessReviewCompletionRate *float64 `json:"access_review_completion_rate"`
	Counts                     Counts   `json:"counts"`
}

// Counts are the numerators and denominators behind the rates.
type Counts struct {
	OrphanedAccounts  int `json:"orphaned_accounts"`
	Accounts          int `json:"accounts"`
	ReviewItemsDue    int `json:"review_items_due"`
	ReviewItemsOnTime int `json:"review_items_decided_on_time"`
}

// Numbers computes the four numbers now, from the audit log, the
// revocations and the store's current state. It reads only the audit
// records appended since its last call; the rest is a scan of users,
// groups, active credentials and review items. This is what the web
// console shows and `shiftgate-hub report` prints; /metrics serves a copy
// cached briefly.
func (s *Service) Numbers(ctx context.Context) (Report, error) {
	now := s.now()
	rep := Report{GeneratedAt: now}
	var err error
	if rep.TimeToProvision, rep.TimeToDeprovision, err = s.durations(ctx); err != nil {
		return Report{}, fmt.Errorf("governance numbers: %w", err)
	}
	d, err := loadDirectory(ctx, s.cfg.Store)
	if err != nil {
		return Report{}, fmt.Errorf("governance numbers: %w", err)
	}
	orphans, accounts, err := s.orphanRate(ctx, d, now)
	if err != nil {
		return Report{}, fmt.Errorf("governance numbers: %w", err)
	}
	rep.Counts.OrphanedAccounts, rep.Counts.Accounts = orphans, accounts
	rep.OrphanedAccountRate = ratio(orphans, accounts)
	if rep.Counts.ReviewItemsOnTime, rep.Counts.ReviewItemsDue, err = s.reviewCompletion(ctx, now); err != nil {
		return Report{}, fmt.Errorf("governance numbers: %w", err)
	}
	rep.AccessReviewCompletionRate = ratio(rep.Counts.ReviewItemsOnTime, rep.Counts.ReviewItemsDue)
	return rep, nil
}

// durations measures joiners and leavers.
func (s *Service) durations(ctx context.Context) (ttp, ttd Durations, err error) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	h, err := s.sync(ctx)
	if err != nil {
		return ttp, ttd, err
	}
	now := s.now()
	var vals []float64
	pending := 0
	for _, j := range h.joiners {
		from, ready := j.from(), j.readyBy(now)
		switch {
		case j.left:
		case ready.IsZero() && (from.IsZero() || from.After(now)):
			// Nothing asked for yet: an account staged inactive, or a
			// joiner before its start date.
		case ready.IsZero():
			pending++
		default:
			vals = append(vals, max(ready.Sub(from), 0).Seconds())
		}
	}
	ttp = summarise(vals, pending)

	vals, pending = nil, 0
	for _, l := range h.leavers {
		if l.done.IsZero() {
			if l.done, err = s.acked(ctx, l); err != nil {
				return ttp, ttd, err
			}
		}
		if l.done.IsZero() {
			pending++
			continue
		}
		vals = append(vals, max(l.done.Sub(l.event), 0).Seconds())
	}
	ttd = summarise(vals, pending)
	return ttp, ttd, nil
}

// acked returns when the last kiosk acknowledged the teardown of the
// sessions a leaver's deprovisioning ended (the deprovisioning itself when
// none was live), or zero while one is unacknowledged.
func (s *Service) acked(ctx context.Context, l *leaver) (time.Time, error) {
	done := l.at
	for _, sid := range l.sessions {
		revs, err := s.cfg.Store.ListRevocations(ctx, store.RevocationQuery{SessionID: sid})
		if err != nil {
			return time.Time{}, err
		}
		found := false
		for _, r := range revs {
			if r.Reason != lifecycle.ReasonDeprovisioned || r.UserID != l.userID {
				continue
			}
			found = true
			if r.Acked.IsZero() {
				return time.Time{}, nil
			}
			done = later(done, r.Acked)
		}
		if !found {
			return time.Time{}, nil
		}
	}
	return done, nil
}

// orphanRate counts orphaned accounts and accounts that can hold access.
func (s *Service) orphanRate(ctx context.Context, d *directory, now time.Time) (orphans, accounts int, err error) {
	creds, err := s.cfg.Store.ListActiveCredentials(ctx)
	if err != nil {
		return 0, 0, err
	}
	fs, err := s.orphaned(ctx, s.cfg.Store, d, creds, now, "")
	if err != nil {
		return 0, 0, err
	}
	accountSet := map[string]bool{}
	for _, u := range d.users {
		if live(u) {
			accountSet[u.ID] = true
		}
	}
	orphanSet := map[string]bool{}
	for _, f := range fs {
		orphanSet[f.UserID] = true
		accountSet[f.UserID] = true
	}
	return len(orphanSet), len(accountSet), nil
}

// reviewCompletion counts the items of campaigns due by now, and those of
// them decided by their campaign's due date.
func (s *Service) reviewCompletion(ctx context.Context, now time.Time) (onTime, due int, err error) {
	cs, err := s.cfg.Store.ListCampaigns(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range cs {
		if c.Due.After(now) {
			continue
		}
		items, err := s.cfg.Store.ListReviewItems(ctx, store.ReviewItemQuery{CampaignID: c.ID})
		if err != nil {
			return 0, 0, err
		}
		for _, it := range items {
			due++
			if it.Decision != store.ReviewPending && !it.Decided.After(c.Due) {
				onTime++
			}
		}
	}
	return onTime, due, nil
}
