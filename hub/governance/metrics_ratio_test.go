package governance_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// TestMetricsShareNames: the two shares are served as _ratio, as
// Prometheus names a share, and under their first _rate names too, with
// the same value and help that says they are deprecated, until dashboards
// and the auditors' queries have moved. The completion share is checked
// with a campaign past its due date, the only time it is served.
func TestMetricsShareNames(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, t0)
	ann := e.user("ann", []string{"north"}, nil)
	e.group("Nurse", ann.ID)
	if _, err := e.gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "nurses", Due: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(2 * time.Hour)) // due, nothing decided
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.gov.Collector(governance.MetricsMaxAge))
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"shiftgate_access_review_completion_ratio 0\n", "shiftgate_access_review_completion_rate 0\n",
		"shiftgate_orphaned_account_ratio 0\n", "shiftgate_orphaned_account_rate 0\n",
		"# HELP shiftgate_access_review_completion_rate Deprecated: shiftgate_access_review_completion_ratio",
		"# HELP shiftgate_orphaned_account_rate Deprecated: shiftgate_orphaned_account_ratio",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
