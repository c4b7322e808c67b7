package console_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

var watchedUpTo = regexp.MustCompile(`data-breaks="0">Watched by the hub: every record up to ([0-9]+) checked`)

// TestAuditExportChecksTheWatchHead: the console's export is not signed
// while the trail no longer holds the record the hub's audit watch last
// checked, as `audit export` does with audit.head. Records cut off the
// end leave every record left intact under the key; until the watch's
// next check (a minute) records the break, the download would be signed
// as the whole trail without them.
func TestAuditExportChecksTheWatchHead(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{}) // the watch checks at start, then every minute
	admin := bootstrapAdmin(t, h)
	var checked int64
	for deadline := time.Now().Add(10 * time.Second); checked == 0; time.Sleep(20 * time.Millisecond) {
		r := admin.get("/console/audit")
		if m := watchedUpTo.FindStringSubmatch(r.Body); m != nil {
			checked, _ = strconv.ParseInt(m[1], 10, 64)
		} else if time.Now().After(deadline) {
			t.Fatalf("the audit page never said what the watch checked: %d %s", r.Status, r.Body)
		}
	}
	if exp := admin.get("/console/audit/export"); exp.Status != http.StatusOK || !strings.Contains(exp.Body, "\n{\"signature\":{") {
		t.Fatalf("export of an intact trail: %d, want a signed download:\n%s", exp.Status, exp.Body)
	}
	hubtest.CutAuditTrail(t, h.DataDir, checked-1)
	exp := admin.get("/console/audit/export")
	if strings.Contains(exp.Body, `{"signature":`) {
		t.Errorf("export of a trail cut before record %d, which the watch checked, was signed:\n%s", checked, exp.Body)
	}
}
