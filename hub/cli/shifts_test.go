package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestImportShiftsGraceBounds: --shift-grace takes what the login policy
// takes, 0 to 12h; anything else is a usage error (exit 2) that changes
// nothing, not a grace of none (negative) or one the policy refuses.
func TestImportShiftsGraceBounds(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Hour)
	withHub(t, dir, func(_ store.Store, eng *lifecycle.Engine) {
		if _, err := eng.CreateUser(t.Context(), lifecycle.Actor{Name: "t", System: "scim"}, store.User{ID: "u-ana", UserName: "ana", Active: true}); err != nil {
			t.Fatal(err)
		}
	})
	file := filepath.Join(t.TempDir(), "week.csv")
	body := "userName,start,end\nana," + start.Format(time.RFC3339) + "," + start.Add(8*time.Hour).Format(time.RFC3339) + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, grace := range []string{"-15m", "12h1m"} {
		code, _, errs := run(t, "import", "shifts", "--data", dir, "--shift-grace", grace, file)
		if code != 2 || !strings.Contains(errs, "give 0 or a duration up to 12h") {
			t.Errorf("--shift-grace %s: exit %d, %q; want a usage error", grace, code, errs)
		}
	}
	if u := storedUser(t, dir, "u-ana"); len(u.Shifts) != 0 {
		t.Fatalf("a refused import stored shifts: %v", u.Shifts)
	}
	for _, grace := range []string{"0", "12h"} {
		if code, out, errs := run(t, "import", "shifts", "--data", dir, "--shift-grace", grace, file); code != 0 || !strings.Contains(out, "replaced the shifts of 1 users") {
			t.Errorf("--shift-grace %s: exit %d\n%s%s", grace, code, out, errs)
		}
	}
}
