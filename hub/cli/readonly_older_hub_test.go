package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadOnlyOlderSchemaSaysWhatToDo: a read-only command refuses a
// database of an older schema (it does not migrate), and what it says to
// do depends on whether a hub holds hub.lock. Beside a running hub (of an
// older build, or it would have upgraded the schema) "start the hub on it
// once" would be wrong: it says to restart the hub on this build, naming
// its PID. With no hub running (a lock file left free, or none) it says,
// as before, to start the hub on it once. When whether a hub runs cannot
// be told (the lock file cannot be opened), it says both. Asking takes
// and changes nothing: no lock file is made, the directory is as it was.
func TestReadOnlyOlderSchemaSaysWhatToDo(t *testing.T) {
	cmds := [][]string{{"token", "list"}, {"audit", "verify"}, {"findings"}, {"report"}, {"device", "list"}}
	const once, restart = "start the hub on it once", "restart it on this build"
	check := func(t *testing.T, dir string, want, notWant []string) {
		t.Helper()
		before := snapshot(t, dir, "hub.db-shm") // shared memory, not data
		for _, c := range cmds {
			code, out, errs := run(t, withData(dir, c)...)
			if code != 1 || out != "" || !strings.Contains(errs, "older than this build's") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 refusing the older schema", c, code, out, errs)
			}
			for _, w := range want {
				if !strings.Contains(errs, w) {
					t.Errorf("%v: %q; want it to say %q", c, errs, w)
				}
			}
			for _, w := range notWant {
				if strings.Contains(errs, w) {
					t.Errorf("%v: %q; want it not to say %q", c, errs, w)
				}
			}
		}
		if after := snapshot(t, dir, "hub.db-shm"); !maps(before, after) {
			t.Errorf("the commands changed the directory:\nbefore %v\nafter  %v", before, after)
		}
	}

	dir := filepath.Join(t.TempDir(), "data")
	olderHub(t, dir)
	t.Run("no lock file", func(t *testing.T) {
		check(t, dir, []string{once}, []string{restart})
		if _, err := os.Lstat(filepath.Join(dir, "hub.lock")); !os.IsNotExist(err) {
			t.Errorf("hub.lock after the read-only commands: %v; want none made", err)
		}
	})
	stop := runningHub(t, dir)
	t.Run("a hub running", func(t *testing.T) {
		check(t, dir, []string{"the hub running on " + dir + " (PID 4242) is of an older build", restart, "nothing was changed"}, []string{once})
	})
	stop()
	t.Run("the hub stopped", func(t *testing.T) {
		check(t, dir, []string{once}, []string{restart})
	})

	// A lock file that cannot be opened (O_NOFOLLOW refuses a link).
	odd := filepath.Join(t.TempDir(), "data")
	olderHub(t, odd)
	elsewhere := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(elsewhere, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(odd, "hub.lock")); err != nil {
		t.Fatal(err)
	}
	t.Run("cannot tell", func(t *testing.T) {
		check(t, odd, []string{once, "if a hub is running on " + odd + " already, it is of an older build: " + restart, "cannot be told"}, nil)
	})
}
