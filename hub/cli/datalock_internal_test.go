package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runIn runs the command line in process with a deadline, so that a serve
// that is not refused ends instead of hanging the test.
func runIn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := Run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDataDirLock: while a hub holds the data directory, serve and demo
// are refused before they open anything in it, naming the directory and
// the holder's PID; the commands documented to work beside a running hub
// still do. Released, the directory can be locked again.
func TestDataDirLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	held, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	b, err := os.ReadFile(filepath.Join(dir, lockFile))
	if err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("hub.lock holds %q, %v; want this process's PID", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, lockFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("hub.lock: %v, %v; want mode 0600", fi, err)
	}
	if _, err := lockDataDir(dir); !errors.Is(err, errDataDirBusy) {
		t.Errorf("second lock in one process = %v, want errDataDirBusy", err)
	}

	for _, args := range [][]string{
		{"serve", "--data", dir, "--listen", "127.0.0.1:0"},
		{"demo", "--data", dir, "--listen", "127.0.0.1:0", "--exit"},
	} {
		code, _, errs := runIn(t, args...)
		want := fmt.Sprintf("%s: another hub (shiftgate-hub serve or demo) is running on it (PID %d", dir, os.Getpid())
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("%s on a locked directory: exit %d, %q; want 1 and %q", args[0], code, errs, want)
		}
		// Refused before the database, the certificates or the audit key.
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("%s on a locked directory left %v; want only %s", args[0], names, lockFile)
		}
	}

	// What hub/README.md says works beside a running hub takes no lock.
	for _, args := range [][]string{
		{"token", "create", "--data", dir, "--name", "idp", "--scope", "scim"},
		{"device", "code", "--data", dir, "--site", "north", "--name", "north-1"},
		{"site", "set", "--data", dir, "--name", "north", "--time-zone", "Europe/Berlin"},
		{"audit", "verify", "--data", dir},
		{"token", "list", "--data", dir},
	} {
		if code, _, errs := runIn(t, args...); code != 0 {
			t.Errorf("%v beside a running hub: exit %d, %q", args[:2], code, errs)
		}
	}

	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Close()
}

// TestDemoLeavesFullDirectoryAlone: a demo on a directory with files is
// refused without a hub.lock put into it.
func TestDemoLeavesFullDirectoryAlone(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runIn(t, "demo", "--data", dir, "--exit"); code != 2 || !strings.Contains(errs, "new or empty") {
		t.Errorf("demo on a directory with files: exit %d, %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, lockFile)); err == nil {
		t.Error("demo left a hub.lock in a directory that is not its own")
	}
}
