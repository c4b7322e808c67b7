package cli_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// deviceCodeRecords counts the device.code audit records of the hub in dir.
func deviceCodeRecords(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		recs, err := st.ListAudit(t.Context(), store.AuditQuery{Action: "device.code"})
		if err != nil {
			t.Fatal(err)
		}
		n = len(recs)
	})
	return n
}

// TestDeviceCodeProfile: a code bound to a profile the hub does not know
// is a usage mistake (exit 2, the command's -h named) with the known ones
// named: no code is printed or stored, and a new --data is not made a
// hub; a known profile, built in or in DIR/profiles/, gets a code.
func TestDeviceCodeProfile(t *testing.T) {
	const hint = "Run 'shiftgate-hub device code -h' for its flags."
	dir := t.TempDir()
	withHub(t, dir, func(store.Store, *lifecycle.Engine) {})
	newDir := filepath.Join(t.TempDir(), "new")
	for _, d := range []string{dir, newDir} {
		code, out, errs := run(t, "device", "code", "--data", d, "--site", "north", "--name", "north-1", "--profile", "rpi5-tuoch")
		if code != 2 || out != "" {
			t.Errorf("unknown profile, --data %s: exit %d, stdout %q; want 2 and no code", filepath.Base(d), code, out)
		}
		if !strings.Contains(errs, `--profile: unknown kiosk profile "rpi5-tuoch"`) || !strings.Contains(errs, "rpi5-touch") || !strings.Contains(errs, hint) {
			t.Errorf("stderr %q does not name the unknown profile, the known ones and %q", errs, hint)
		}
	}
	if _, err := os.Stat(newDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an unknown profile made the new --data: %v", err)
	}
	if n := deviceCodeRecords(t, dir); n != 0 {
		t.Errorf("%d device.code records after a refused code, want none", n)
	}

	code, out, errs := run(t, "device", "code", "--data", dir, "--site", "north", "--name", "north-1", "--profile", "rpi5-touch")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("known profile: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if n := deviceCodeRecords(t, dir); n != 1 {
		t.Errorf("%d device.code records after one code, want 1", n)
	}

	// A hub's own profile is a file too: known before any database.
	b, err := os.ReadFile(filepath.Join("..", "..", "firmware-profiles", "generic-x86.json"))
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(t.TempDir(), "own")
	if err := os.MkdirAll(filepath.Join(own, hub.ProfilesDir), 0o700); err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(string(b), `"name": "generic-x86"`, `"name": "depot-x86"`, 1)
	if renamed == string(b) {
		t.Fatal(`generic-x86.json has no "name": "generic-x86" to rename`)
	}
	b = []byte(renamed)
	if err := os.WriteFile(filepath.Join(own, hub.ProfilesDir, "depot-x86.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "device", "code", "--data", own, "--site", "north", "--name", "north-2", "--profile", "depot-x86"); code != 0 || strings.TrimSpace(out) == "" {
		t.Errorf("the hub's own profile: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestDeviceCodeUnreadableProfiles: when DIR/profiles/ cannot be read the
// hub cannot tell a known profile from an unknown one: that is no usage
// mistake (exit 1, no -h hint), and nothing is made.
func TestDeviceCodeUnreadableProfiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, hub.ProfilesDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, hub.ProfilesDir, "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"rpi5-touch", "rpi5-tuoch"} {
		code, out, errs := run(t, "device", "code", "--data", dir, "--site", "north", "--name", "north-1", "--profile", p)
		if code != 1 || out != "" || !strings.Contains(errs, "kiosk profiles in") || strings.Contains(errs, " -h'") {
			t.Errorf("--profile %s: exit %d, stdout %q, stderr %q; want exit 1 saying the profiles cannot be read", p, code, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, hub.DBFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a hub was made: %v", err)
	}
}
