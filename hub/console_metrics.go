package hub

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/governance"
)

// programMetrics gives the console dashboard the four numbers auditors ask
// for, from the same report as `shiftgate-hub report` and /metrics. A
// number with nothing measured yet says so instead of showing a zero.
func (s *Server) programMetrics(ctx context.Context) ([]console.Metric, error) {
	r, err := s.gov.Numbers(ctx)
	if err != nil {
		return nil, err
	}
	return []console.Metric{
		durationMetric("Time to provision", r.TimeToProvision, "joiner event → able to sign in (active, entitled, badge registered)"),
		durationMetric("Time to deprovision", r.TimeToDeprovision, "leaver event → last kiosk acknowledged the teardown"),
		rateMetric("Orphaned-account rate", r.OrphanedAccountRate, r.Counts.OrphanedAccounts, r.Counts.Accounts, "orphaned accounts over accounts that can hold access"),
		rateMetric("Access-review completion", r.AccessReviewCompletionRate, r.Counts.ReviewItemsOnTime, r.Counts.ReviewItemsDue, "items decided by their due date, campaigns past due"),
	}, nil
}

const notMeasured = "not yet measured"

// durationMetric shows the median, with the rest of the summary in the
// note. Joiners or leavers still open are shown also while none has
// finished: they are what an auditor needs to see then.
func durationMetric(name string, d governance.Durations, how string) console.Metric {
	open := ""
	if d.Pending > 0 {
		open = fmt.Sprintf("; %d still open", d.Pending)
	}
	if d.Count == 0 || d.P50 == nil || d.P95 == nil || d.Max == nil {
		return console.Metric{Name: name, Value: notMeasured, Note: how + open}
	}
	sec := func(v float64) string {
		return time.Duration(v * float64(time.Second)).Round(time.Millisecond).String()
	}
	note := fmt.Sprintf("%s; p95 %s, max %s over %d", how, sec(*d.P95), sec(*d.Max), d.Count)
	return console.Metric{Name: name, Value: "p50 " + sec(*d.P50), Note: note + open}
}

// rateMetric shows a rate with its numerator and denominator. A rate
// that is neither 0 nor 1 is never rounded to either: one orphan among
// 3,000 accounts is not "0.0%".
func rateMetric(name string, v *float64, n, of int, how string) console.Metric {
	if v == nil {
		return console.Metric{Name: name, Value: notMeasured, Note: how}
	}
	pct := strconv.FormatFloat(*v*100, 'f', 1, 64)
	switch {
	case *v > 0 && pct == "0.0":
		pct = "<0.1"
	case *v < 1 && pct == "100.0":
		pct = ">99.9"
	}
	return console.Metric{Name: name, Value: fmt.Sprintf("%s%% (%d of %d)", pct, n, of), Note: how}
}
