package hub_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// yubiKey5 is on the rpi5-touch profile's allow list.
const yubiKey5 = "ee882879-721c-4913-9775-3dfcce97072a"

// TestAttestationRootsInDataDir: with the makers' roots in the data
// directory, a kiosk whose profile allow-lists models registers only a
// badge whose model an attestation chaining to them proves; the AAGUID a
// badge claims with self attestation is refused.
func TestAttestationRootsInDataDir(t *testing.T) {
	dir := t.TempDir()
	batch, root, err := authenticator.NewModelAttestation(yubiKey5, "Test Maker")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, hub.AttestationRootsFile), root, 0o600); err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, hubtest.Options{DataDir: dir})
	createGroup(t, h, "Store Manager", createUser(t, h, "amy", `{"sites":["north"]}`))
	pi := h.EnrollKioskProfile(t, "back-1", "north", "rpi5-touch")
	pi.Dial("")

	if env, _ := h.TryRegisterBadge(t, pi, "amy", authenticator.SoftOptions{AAGUID: yubiKey5}); env.Type != wire.TypeError {
		t.Fatalf("a self-attested badge claiming an allowed model registered: %s %s", env.Type, env.Data)
	}

	badge := h.RegisterBadge(t, pi, "amy", authenticator.SoftOptions{AAGUID: yubiKey5, UserVerification: true, Batch: batch})
	if g := grant(t, first(tap(t, pi, badge))); g.User != "amy" {
		t.Errorf("granted %+v", g)
	}
}

// TestAttestationRootsFile: a roots file that is missing (when named) or
// holds no certificate stops the hub with an error naming it; without one,
// the hub warns that allow-listed models are unproven.
func TestAttestationRootsFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bad := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.pem"), bad} {
		s, err := hub.New(ctx, hub.Config{DataDir: filepath.Join(dir, "data"), AttestationRoots: path})
		if err == nil {
			s.Close()
			t.Fatalf("hub started with attestation roots %s", path)
		}
		if !strings.Contains(err.Error(), filepath.Base(path)) {
			t.Errorf("error %q does not name %s", err, path)
		}
	}
	var logs bytes.Buffer
	s, err := hub.New(ctx, hub.Config{DataDir: filepath.Join(dir, "data"), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "rpi5-touch") {
		t.Errorf("no warning about unproven allow lists in:\n%s", logs.String())
	}
}
