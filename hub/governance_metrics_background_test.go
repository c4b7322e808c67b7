package hub_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// govMetricsRun is the frame of the goroutine that computes the
// governance numbers of /metrics in the background.
const govMetricsRun = "hub/governance.(*Collector).Run("

// govComputation is the frame of a computation of them in flight.
const govComputation = "hub/governance.(*Collector).compute("

// goroutinesIn reports whether a running goroutine's stack has frame.
func goroutinesIn(frame string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), frame)
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestGovernanceMetricsComputedWithTheHub: a serving hub computes the
// governance numbers of /metrics in a goroutine of its own, not in the
// scrape (which a slow computation would hold past Prometheus's timeout),
// and that goroutine, with any computation it runs, has ended when the
// hub has stopped: nothing reads the store the caller closes next.
func TestGovernanceMetricsComputedWithTheHub(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	deadline := time.Now().Add(5 * time.Second)
	for !goroutinesIn(govMetricsRun) {
		if time.Now().After(deadline) {
			t.Fatal("no goroutine computes the governance numbers while the hub serves")
		}
		time.Sleep(10 * time.Millisecond)
	}
	body := string(h.API(t, "GET", "/metrics", nil).Body)
	if !strings.Contains(body, "shiftgate_governance_computed_timestamp_seconds ") {
		t.Errorf("/metrics lacks shiftgate_governance_computed_timestamp_seconds:\n%s", body)
	}
	h.Stop()
	for _, f := range []string{govMetricsRun, govComputation} {
		if goroutinesIn(f) {
			t.Errorf("%s still runs after the hub stopped", f)
		}
	}
}
