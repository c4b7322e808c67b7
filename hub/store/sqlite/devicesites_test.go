package sqlite

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestListDeviceSites: the spellings of the devices' sites are those a
// loop over every device meets, in the order it meets them (the fixture's
// kiosks are created in the reverse of their IDs' order, so that order is
// not the spellings' own), and they are found through devices_site, a
// search per spelling, never by a scan of the devices.
func TestListDeviceSites(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	liveHub(t, db, 2000)
	all, err := db.ListDevices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range all {
		if !slices.Contains(want, d.Site) {
			want = append(want, d.Site)
		}
	}
	if slices.IsSorted(want) || len(want) < 10 {
		t.Fatalf("the fixture's spellings %q: want many, not in the order of their names", want)
	}
	got, err := db.ListDeviceSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListDeviceSites (-every device's +read):\n%s", diff)
	}

	var plans []string
	o := ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}
	if _, err := o.ListDeviceSites(ctx); err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(plans, "\n")
	if strings.Contains(plan, "error") {
		t.Fatalf("no plan:\n%s", plan)
	}
	for _, line := range plans {
		if strings.HasPrefix(line, "SCAN devices") || strings.HasPrefix(line, "SCAN d") {
			t.Errorf("a table scanned: %q in\n%s", line, plan)
		}
	}
	for _, want := range []string{"SEARCH devices USING COVERING INDEX devices_site (site>?)", "SEARCH d USING COVERING INDEX devices_site (site=?)"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan has no %q:\n%s", want, plan)
		}
	}
}
