package governance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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
	// Period, when the report covers one (NumbersIn): only the joiners,
	// leavers and review campaigns it holds are counted. The orphaned
	// account rate is the current state's, whatever the period.
	Period *Period `json:"period,omitempty"`
	// TimeToProvision: per joiner — a user created active or pending,
	// one created inactive once it is activated, a deprovisioned user
	// activated again (a re-hire) — from that request, or the start date
	// when later (one given when already passed counts from the request
	// that gave it), to the first moment the user could sign in: active,
	// holding a credential and entitled (a site and a group role, or a
	// running just-in-time grant). A joiner whose clock has not started
	// is neither measured nor pending.
	TimeToProvision Durations `json:"time_to_provision_seconds"`
	// TimeToDeprovision: per leaver (a user.deprovision), from the leaver
	// event — the SCIM deactivation or deletion, or the end date the hub
	// held when it passed — to the last kiosk acknowledgement of the
	// sessions it ended, or that an earlier change revoked and whose kiosk
	// had not acknowledged yet (credentials are revoked in the
	// deprovisioning itself). A session on a kiosk disabled before it acknowledged ends
	// when the kiosk was disabled (see leaverDone).
	TimeToDeprovision Durations `json:"time_to_deprovision_seconds"`
	// OrphanedAccountRate: orphaned accounts (findings of kind orphaned)
	// over accounts that can hold access (active or pending users, any
	// user with an active credential or a live kiosk session, enabled
	// console accounts, and any console account that made an API token
	// that still works). Null when there are none.
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

// Period bounds a report: joiners by when their clock started (the
// request, or the start date when later), leavers by their leaver event,
// review campaigns by their due date, each in [Since, Until). A zero bound
// is open.
type Period struct {
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// ParsePeriod reads a period as typed on the command line or in a query:
// each bound a date (2026-07-01, UTC) or an RFC 3339 time, either may be
// empty (open). A date as until counts whole: "--since 2026-07-01 --until
// 2026-09-30" is the third quarter, to the midnight after 30 September.
// A bound must lie in 0001-01-01 to 9999-12-31 UTC (RFC 3339's years), so
// --until 9999-12-31, which ends at 10000-01-01, is refused: leave it
// empty instead.
func ParsePeriod(since, until string) (Period, error) {
	var p Period
	var err error
	if p.Since, err = parseBound(since, false); err != nil {
		return Period{}, fmt.Errorf("since: %w", err)
	}
	if p.Until, err = parseBound(until, true); err != nil {
		return Period{}, fmt.Errorf("until: %w", err)
	}
	return p, p.Check()
}

func parseBound(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err == nil && end {
		t = t.AddDate(0, 0, 1)
	}
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return time.Time{}, fmt.Errorf("%q is neither a date like 2026-07-01 nor a time like 2026-07-01T00:00:00Z", s)
		}
		t = t.UTC()
	}
	// The report writes its period in RFC 3339, which has years 0000 to
	// 9999 only: a date of 9999-12-31 as until ends at 10000-01-01, which
	// it could not write (the API would answer 500 after computing). And
	// the zero time, 0001-01-01T00:00:00Z, is the open bound: an until at
	// or before it would silently bound nothing.
	switch {
	case t.Before(time.Time{}):
		return time.Time{}, fmt.Errorf("%q is before 0001-01-01, the first time a report counts from", s)
	case end && t.IsZero():
		return time.Time{}, fmt.Errorf("%q ends the period before 0001-01-01, the first time a report counts from", s)
	case t.Year() > 9999 && end:
		return time.Time{}, fmt.Errorf("%q ends after 9999-12-31T23:59:59Z, the last time a report can write; leave it empty for no bound", s)
	case t.Year() > 9999:
		return time.Time{}, fmt.Errorf("%q is after 9999-12-31T23:59:59Z, the last time a report can write", s)
	}
	return t, nil
}

// Contains reports whether t lies in p.
func (p Period) Contains(t time.Time) bool {
	return (p.Since.IsZero() || !t.Before(p.Since)) && (p.Until.IsZero() || t.Before(p.Until))
}

// Open reports whether p bounds nothing: the report covers all time.
func (p Period) Open() bool { return p.Since.IsZero() && p.Until.IsZero() }

// Check refuses a period that ends before it starts.
func (p Period) Check() error {
	if !p.Since.IsZero() && !p.Until.IsZero() && !p.Since.Before(p.Until) {
		return fmt.Errorf("period: since (%s) must be before until (%s)", p.Since.Format(time.RFC3339), p.Until.Format(time.RFC3339))
	}
	return nil
}

// Numbers computes the four numbers now, from the audit log, the
// revocations and the store's current state. It reads only the audit
// records appended since its last call; the rest is a scan of users,
// groups, active credentials and review items. This is what the web
// console shows and `shiftgate-hub report` prints; /metrics serves a copy
// cached briefly.
func (s *Service) Numbers(ctx context.Context) (Report, error) {
	return s.NumbersIn(ctx, Period{})
}

// NumbersIn is Numbers for the joiners, leavers and review campaigns of
// period p (an auditor's quarter, say): the report an auditor asks for per
// period. A joiner or leaver of the period still pending now counts as
// pending; a campaign of the period not due yet is left out.
func (s *Service) NumbersIn(ctx context.Context, p Period) (Report, error) {
	if err := p.Check(); err != nil {
		return Report{}, err
	}
	now := s.now()
	rep := Report{GeneratedAt: now}
	if !p.Open() {
		rep.Period = &p
	}
	var err error
	if rep.TimeToProvision, rep.TimeToDeprovision, err = s.durations(ctx, p); err != nil {
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
	if rep.Counts.ReviewItemsOnTime, rep.Counts.ReviewItemsDue, err = s.reviewCompletion(ctx, now, p); err != nil {
		return Report{}, fmt.Errorf("governance numbers: %w", err)
	}
	rep.AccessReviewCompletionRate = ratio(rep.Counts.ReviewItemsOnTime, rep.Counts.ReviewItemsDue)
	return rep, nil
}

// durations measures the joiners and leavers of period p.
func (s *Service) durations(ctx context.Context, p Period) (ttp, ttd Durations, err error) {
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
		case !p.Open() && (from.IsZero() || !p.Contains(from)):
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
		if !p.Contains(l.event) {
			continue
		}
		if l.done.IsZero() {
			if l.done, err = s.leaverDone(ctx, h, l, now); err != nil {
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

// DisabledKioskAckWindow is how long after a kiosk is disabled its
// acknowledgements may still come: the hub keeps a disabled kiosk's
// channel open up to that long (its cutOffMax) for the teardowns it
// pushed, and refuses it afterwards.
const DisabledKioskAckWindow = 30 * time.Second

// leaverDone returns when the teardown of every session of the leaver
// that was still open at its deprovisioning was over (the deprovisioning
// itself when none was), or zero while one is still pending at now. The
// sessions open then are those the deprovisioning ended, and those a
// change just before it revoked whose kiosk had not acknowledged yet:
// identity providers often take a leaver's groups away a moment before
// they deactivate it, and the deactivation then finds no live session to
// end while the kiosk still shows the leaver's. A session's teardown is
// over
//
//   - when its kiosk acknowledged it;
//   - unacknowledged, when its kiosk was disabled, once
//     DisabledKioskAckWindow has passed since: a disabled kiosk is cut
//     off, can sign nobody in and will never acknowledge, so its session
//     ends there (the time of the device.disable audit record that came
//     after the revocation, or the last before it; the device's Modified
//     for a kiosk disabled without one);
//   - unacknowledged, when the store no longer knows its kiosk (none is
//     ever deleted, but a database restored from an older backup may lack
//     one): at its device.disable record if there is one, else at the
//     revocation itself, the last thing known of it.
//
// Otherwise the leaver stays pending: a live kiosk may still acknowledge.
func (s *Service) leaverDone(ctx context.Context, h *history, l *leaver, now time.Time) (time.Time, error) {
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
			end, over, err := s.teardownEnd(ctx, h, r, now)
			if err != nil || !over {
				return time.Time{}, err
			}
			done = later(done, end)
		}
		if !found {
			return time.Time{}, nil
		}
	}
	// The teardowns revoked before the deprovisioning, for whatever
	// reason, and not acknowledged by then, of sessions that had not
	// expired by then either: a kiosk ends a session at its expiry by
	// itself, offline too, so an older revocation its kiosk never
	// acknowledged (it was offline then) holds nothing open.
	revs, err := s.cfg.Store.ListRevocations(ctx, store.RevocationQuery{UserID: l.userID})
	if err != nil {
		return time.Time{}, err
	}
	for _, r := range revs {
		if r.SessionID == "" || r.Created.After(l.at) || !r.Acked.IsZero() && !r.Acked.After(l.at) {
			continue
		}
		ss, err := s.cfg.Store.GetSession(ctx, r.SessionID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return time.Time{}, fmt.Errorf("session %s of leaver %s: %w", r.SessionID, l.userID, err)
		case !ss.Expires.After(l.at):
			continue
		}
		end, over, err := s.teardownEnd(ctx, h, r, now)
		if err != nil || !over {
			return time.Time{}, err
		}
		done = later(done, end)
	}
	return done, nil
}

// teardownEnd returns when the teardown of revocation r's session was
// over, and false while its kiosk may still acknowledge it (see
// leaverDone).
func (s *Service) teardownEnd(ctx context.Context, h *history, r store.Revocation, now time.Time) (time.Time, bool, error) {
	if !r.Acked.IsZero() {
		return r.Acked, true, nil
	}
	return s.kioskGone(ctx, h, r, now)
}

// kioskGone returns when the unacknowledged revocation r's session ended
// because its kiosk is disabled or unknown (see leaverDone), and false
// while its kiosk may still acknowledge it.
func (s *Service) kioskGone(ctx context.Context, h *history, r store.Revocation, now time.Time) (time.Time, bool, error) {
	if r.DeviceID == "" {
		return time.Time{}, false, nil
	}
	var disabled time.Time
	for _, t := range h.disabled[r.DeviceID] {
		disabled = t
		if !t.Before(r.Created) {
			break
		}
	}
	d, err := s.cfg.Store.GetDevice(ctx, r.DeviceID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if disabled.IsZero() {
			return r.Created, true, nil
		}
		return disabled, true, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("kiosk %s of session %s: %w", r.DeviceID, r.SessionID, err)
	case d.State == store.DeviceActive:
		return time.Time{}, false, nil
	}
	if disabled.IsZero() {
		disabled = d.Modified
	}
	if now.Sub(disabled) < DisabledKioskAckWindow {
		return time.Time{}, false, nil
	}
	return disabled, true, nil
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
	cf, err := consoleFindings(ctx, s.cfg.Store, d, now, s.cfg.DormantAfter, "")
	if err != nil {
		return 0, 0, err
	}
	// A token that still works after its maker left is access held by
	// that console account: its finding counts the account (consoleID),
	// as the findings list shows it.
	tf, err := tokenFindings(ctx, s.cfg.Store, d, now, "")
	if err != nil {
		return 0, 0, err
	}
	for _, f := range slices.Concat(cf, tf) {
		if f.Kind == KindOrphaned {
			fs = append(fs, f)
		}
	}
	// Enabled console accounts hold access too; each is an account of its
	// own, beside the hub user it may be linked to.
	consoles, err := s.cfg.Store.ListConsoleAccounts(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range consoles {
		if c.Disabled.IsZero() {
			accountSet["console:"+c.ID] = true
		}
	}
	orphanSet := map[string]bool{}
	for _, f := range fs {
		key := f.UserID
		if f.consoleID != "" {
			key = "console:" + f.consoleID
		}
		orphanSet[key] = true
		accountSet[key] = true
	}
	return len(orphanSet), len(accountSet), nil
}

// campaignCount is what reviewCompletion counted of one campaign's items,
// and the campaign's last-changed marker (history.campaignSeq) when it
// read them.
type campaignCount struct {
	seq           int64
	items, ontime int
}

// reviewCompletion counts the items of the campaigns of period p due by
// now, and those of them decided by their campaign's due date.
//
// A campaign's items are read once per change: the counts are kept with
// the sequence number of the campaign's last audit record, and read again
// only when a newer record is about it. Every change to a campaign's items
// (Decide, Escalate) is audited in its own transaction, so the marker moves
// with each. The history is caught up before the items are read: a change
// committed in between is counted and its record read on the next call,
// which reads the items once more; never the other way around.
func (s *Service) reviewCompletion(ctx context.Context, now time.Time, p Period) (onTime, due int, err error) {
	cs, err := s.cfg.Store.ListCampaigns(ctx)
	if err != nil {
		return 0, 0, err
	}
	cs = slices.DeleteFunc(cs, func(c store.Campaign) bool { return c.Due.After(now) || !p.Contains(c.Due) })
	if len(cs) == 0 {
		return 0, 0, nil
	}
	marks := make([]int64, len(cs))
	s.histMu.Lock()
	h, err := s.sync(ctx)
	if err == nil {
		for i, c := range cs {
			marks[i] = h.campaignSeq[c.ID]
		}
	}
	s.histMu.Unlock()
	if err != nil {
		return 0, 0, err
	}
	for i, c := range cs {
		s.reviewMu.Lock()
		n, ok := s.reviewCounts[c.ID]
		s.reviewMu.Unlock()
		if !ok || n.seq != marks[i] {
			items, err := s.cfg.Store.ListReviewItems(ctx, store.ReviewItemQuery{CampaignID: c.ID})
			if err != nil {
				return 0, 0, err
			}
			n = campaignCount{seq: marks[i], items: len(items)}
			for _, it := range items {
				if it.Decision != store.ReviewPending && !it.Decided.After(c.Due) {
					n.ontime++
				}
			}
			s.reviewMu.Lock()
			if old, ok := s.reviewCounts[c.ID]; !ok || old.seq < n.seq {
				s.reviewCounts[c.ID] = n
			}
			s.reviewMu.Unlock()
		}
		due += n.items
		onTime += n.ontime
	}
	return onTime, due, nil
}
