package cli_test

import (
	"strings"
	"testing"
)

// TestDeviceCodeProfile: a code bound to a profile the hub does not know
// is refused with the known ones named, and no code is printed; a known
// profile gets a code.
func TestDeviceCodeProfile(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, "device", "code", "--data", dir, "--site", "north", "--name", "north-1", "--profile", "rpi5-tuoch")
	if code == 0 || out != "" {
		t.Fatalf("unknown profile: exit %d, stdout %q; want a failure and no code", code, out)
	}
	if !strings.Contains(errs, `unknown kiosk profile "rpi5-tuoch"`) || !strings.Contains(errs, "rpi5-touch") {
		t.Errorf("stderr %q does not name the unknown profile and the known ones", errs)
	}
	code, out, errs = run(t, "device", "code", "--data", dir, "--site", "north", "--name", "north-1", "--profile", "rpi5-touch")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("known profile: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
