package hub_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestReportPeriodBeyondYear9999: until=9999-12-31, a common "no end" in
// HR and GRC tools, is the client's mistake to fix, so it is a 400 saying
// which bound and why, not a 500 from a period the JSON cannot write
// (it ends at 10000-01-01).
func TestReportPeriodBeyondYear9999(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r := h.API(t, "GET", "/api/v1/report?since=2026-07-01&until=9999-12-31", nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "until") || !strings.Contains(string(r.Body), "9999") {
		t.Errorf("report?until=9999-12-31: %d %s, want 400 naming until", r.Status, r.Body)
	}
	wantAPI(t, h.API(t, "GET", "/api/v1/report?since=2026-07-01&until=9999-12-30", nil), http.StatusOK)
}
