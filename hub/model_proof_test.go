package hub_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestUnprovenModelRefusedWhereModelsAreListed: with attestation
// roots, a kiosk whose profile allow-lists badge models takes only a model
// an attestation proves (see TestAttestationRootsInDataDir). A badge that
// merely claims an allowed model must not get round that by registering at
// a kiosk whose profile lists no models (where the claim is stored
// unchecked) and then signing in at the one that lists them: the login's
// allow-list check must not take a stored AAGUID no attestation proved.
func TestUnprovenModelRefusedWhereModelsAreListed(t *testing.T) {
	dir := t.TempDir()
	batch, root, err := authenticator.NewModelAttestation(yubiKey5, "Test Maker")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, hub.AttestationRootsFile), root, 0o600); err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, hubtest.Options{DataDir: dir})
	createGroup(t, h, "Associate", createUser(t, h, "amy", `{"sites":["north"]}`), createUser(t, h, "bo", `{"sites":["north"]}`))
	listing := h.EnrollKioskProfile(t, "back-1", "north", "rpi5-touch") // lists models
	open := h.EnrollKioskProfile(t, "front-1", "north", "generic-x86")  // lists none
	listing.Dial("")
	open.Dial("")

	// The claim alone is refused where models are listed.
	if env, _ := h.TryRegisterBadge(t, listing, "amy", authenticator.SoftOptions{AAGUID: yubiKey5}); env.Type != wire.TypeError {
		t.Fatalf("a self-attested badge claiming an allowed model registered: %s %s", env.Type, env.Data)
	}
	// Registered where no model is listed, the same claim is stored ...
	claimed := h.RegisterBadge(t, open, "amy", authenticator.SoftOptions{AAGUID: yubiKey5})
	if g := grant(t, first(tap(t, open, claimed))); g.User != "amy" {
		t.Fatalf("granted %+v at the kiosk that lists no models", g)
	}
	// ... and must not open the kiosk that lists models.
	if env := first(tap(t, listing, claimed)); env.Type != wire.TypeLoginRefused || refusal(t, env) != wire.RefusedNotAllowedHere {
		t.Errorf("a badge whose model no attestation proved signed in where models are listed: %s %s", env.Type, env.Data)
	}

	// A badge whose model was proven, wherever it registered, signs in there.
	proven := h.RegisterBadge(t, open, "bo", authenticator.SoftOptions{AAGUID: yubiKey5, Batch: batch})
	if g := grant(t, first(tap(t, listing, proven))); g.User != "bo" {
		t.Errorf("granted %+v", g)
	}
}
