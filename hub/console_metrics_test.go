package hub

import (
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/governance"
)

// TestConsoleProgramMetrics: the dashboard shows what the report holds.
// Joiners or leavers still open show while none has finished (not just
// "not yet measured", which would hide a stuck backlog); a rate shows its
// counts and is never rounded to 0% or 100% when it is neither.
func TestConsoleProgramMetrics(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	const how = "how"
	for _, tc := range []struct {
		name string
		got  console.Metric
		want console.Metric
	}{
		{"nothing", durationMetric("T", governance.Durations{}, how),
			console.Metric{Name: "T", Value: notMeasured, Note: how}},
		{"only open ones", durationMetric("T", governance.Durations{Pending: 3}, how),
			console.Metric{Name: "T", Value: notMeasured, Note: how + "; 3 still open"}},
		{"measured and open", durationMetric("T", governance.Durations{P50: f(660), P95: f(7200), Max: f(10800.0004), Count: 24, Sum: 1, Pending: 4}, how),
			console.Metric{Name: "T", Value: "p50 11m0s", Note: how + "; p95 2h0m0s, max 3h0m0s over 24; 4 still open"}},
		{"no rate", rateMetric("R", nil, 0, 0, how),
			console.Metric{Name: "R", Value: notMeasured, Note: how}},
		{"rate", rateMetric("R", f(3.0/24), 3, 24, how),
			console.Metric{Name: "R", Value: "12.5% (3 of 24)", Note: how}},
		{"zero", rateMetric("R", f(0), 0, 24, how),
			console.Metric{Name: "R", Value: "0.0% (0 of 24)", Note: how}},
		{"one in many", rateMetric("R", f(1.0/3000), 1, 3000, how),
			console.Metric{Name: "R", Value: "<0.1% (1 of 3000)", Note: how}},
		{"all but one", rateMetric("R", f(2999.0/3000), 2999, 3000, how),
			console.Metric{Name: "R", Value: ">99.9% (2999 of 3000)", Note: how}},
		{"all", rateMetric("R", f(1), 5, 5, how),
			console.Metric{Name: "R", Value: "100.0% (5 of 5)", Note: how}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := gocmp.Diff(tc.want, tc.got); d != "" {
				t.Errorf("metric (-want +got):\n%s", d)
			}
		})
	}
}
