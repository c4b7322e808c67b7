package cli_test

import (
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
)

// TestAuditReindexOlderSchema: on the database of an older build, with no
// hub running, audit reindex refuses (it does not migrate) and says to
// start the hub on this build once; it must not say that a hub of an
// older build is running on the directory: the lock it sees held is its
// own. Nothing is made or changed.
func TestAuditReindexOlderSchema(t *testing.T) {
	src, dir, _ := olderHubWithTrail(t)
	copyFiles(t, src, dir, audit.KeyFile)
	before := snapshotBesideLock(t, dir)
	code, stdout, stderr := run(t, "audit", "reindex", "--data", dir)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "older than this build's") {
		t.Fatalf("audit reindex of an older schema: exit %d, stdout %q, stderr %q; want exit 1 refusing it", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "start the hub of this build on "+dir+" once") {
		t.Errorf("audit reindex of an older schema does not say to start the hub on it once:\n%s", stderr)
	}
	for _, bad := range []string{"is of an older build", "restart it on this build", "whether one runs cannot be told"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("audit reindex with no hub running says %q:\n%s", bad, stderr)
		}
	}
	if after := snapshotBesideLock(t, dir); !maps(before, after) {
		t.Errorf("the refused command changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}
