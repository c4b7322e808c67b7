package hub

import (
	"context"
	"fmt"
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
		rateMetric("Orphaned-account rate", r.OrphanedAccountRate, "orphaned accounts over accounts that can hold access"),
		rateMetric("Access-review completion", r.AccessReviewCompletionRate, "items decided by their due date, campaigns past due"),
	}, nil
}

const notMeasured = "not yet measured"

func durationMetric(name string, d governance.Durations, how string) console.Metric {
	if d.Count == 0 || d.P50 == nil || d.P95 == nil || d.Max == nil {
		return console.Metric{Name: name, Value: notMeasured, Note: how}
	}
	sec := func(v float64) string {
		return time.Duration(v * float64(time.Second)).Round(time.Millisecond).String()
	}
	note := fmt.Sprintf("%s; p95 %s, max %s over %d", how, sec(*d.P95), sec(*d.Max), d.Count)
	if d.Pending > 0 {
		note += fmt.Sprintf("; %d still open", d.Pending)
	}
	return console.Metric{Name: name, Value: "p50 " + sec(*d.P50), Note: note}
}

func rateMetric(name string, v *float64, how string) console.Metric {
	if v == nil {
		return console.Metric{Name: name, Value: notMeasured, Note: how}
	}
	return console.Metric{Name: name, Value: fmt.Sprintf("%.1f%%", *v*100), Note: how}
}
