package hub_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// registerError returns the code and message of the error env, the answer
// to a register, failing the test if it is none.
func registerError(t *testing.T, env wire.Envelope) wire.Error {
	t.Helper()
	var e wire.Error
	if env.Type != wire.TypeError || env.Unmarshal(&e) != nil {
		t.Fatalf("register answered %s %s, want an error", env.Type, env.Data)
	}
	return e
}

// softCredential has a new soft badge answer es (from origin, if set).
func softCredential(t *testing.T, es wire.EnrollStart, origin string, opts authenticator.SoftOptions) []byte {
	t.Helper()
	opts.NoSync = true
	badge, err := authenticator.NewSoft(t.TempDir(), "badge", opts)
	if err != nil {
		t.Fatal(err)
	}
	if origin == "" {
		origin = es.Origin
	}
	cred, err := authenticator.Register(t.Context(), badge, origin, es.Options)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// TestRegistrationRefusalCodes: the hub tells a kiosk why it refused a
// badge registration, with a code the worker's screen can act on and a
// message safe to show; nothing is registered.
func TestRegistrationRefusalCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile string
		roots   bool // the makers' attestation roots are in the data dir
		// register answers the enrollment for nina at k and returns the
		// hub's answer.
		register func(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk) wire.Envelope
		code     string
		says     string
	}{{
		// The NFC thin client admits only YubiKey and Feitian models.
		name: "model not allowed", profile: "thinclient-nfc",
		register: func(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk) wire.Envelope {
			env, _ := h.TryRegisterBadge(t, k, "nina", authenticator.SoftOptions{})
			return env
		},
		code: wire.ErrModelNotAllowed, says: "this key's model is not allowed on this kiosk",
	}, {
		// With the makers' roots, a self-attested badge claiming an
		// allowed model proves nothing.
		name: "attestation untrusted", profile: "rpi5-touch", roots: true,
		register: func(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk) wire.Envelope {
			env, _ := h.TryRegisterBadge(t, k, "nina", authenticator.SoftOptions{AAGUID: yubiKey5})
			return env
		},
		code: wire.ErrAttestationUntrusted, says: "this key's attestation does not prove its model",
	}, {
		name: "no enrollment pending", profile: "generic-x86",
		register: func(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk) wire.Envelope {
			// An answer to another kiosk's enrollment: none is pending on k.
			other := h.EnrollKioskProfile(t, "ward-2", "north", "generic-x86")
			other.Dial("")
			_, es := h.ArmEnrollment(t, other, "nina")
			id := k.Send(wire.TypeRegister, wire.Register{Credential: softCredential(t, es, "", authenticator.SoftOptions{})})
			env := k.Recv(5 * time.Second)
			if env.Re != id {
				t.Fatalf("got %s %s, want the answer to the register", env.Type, env.Data)
			}
			return env
		},
		code: wire.ErrEnrollmentExpired, says: "no enrollment is pending for this kiosk",
	}, {
		name: "enrollment replaced", profile: "generic-x86",
		register: func(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk) wire.Envelope {
			_, old := h.ArmEnrollment(t, k, "nina")
			h.ArmEnrollment(t, k, "nina")
			id := k.Send(wire.TypeRegister, wire.Register{Credential: softCredential(t, old, "", authenticator.SoftOptions{})})
			env := k.Recv(5 * time.Second)
			for env.Type == wire.TypeAck || env.Re != id { // pushes in between
				env = k.Recv(5 * time.Second)
			}
			return env
		},
		code: wire.ErrEnrollmentExpired, says: "no enrollment is pending for this kiosk",
	}, {
		name: "bad origin", profile: "generic-x86",
		register: func(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk) wire.Envelope {
			_, es := h.ArmEnrollment(t, k, "nina")
			// The RP ID's host, but another origin than the hub's.
			u, err := url.Parse(es.Origin)
			if err != nil {
				t.Fatal(err)
			}
			origin := "https://" + u.Hostname() + ":1"
			id := k.Send(wire.TypeRegister, wire.Register{Credential: softCredential(t, es, origin, authenticator.SoftOptions{})})
			env := k.Recv(5 * time.Second)
			if env.Re != id {
				t.Fatalf("got %s %s, want the answer to the register", env.Type, env.Data)
			}
			return env
		},
		code: wire.ErrInvalidAttestation, says: "the key's answer could not be verified",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.roots {
				_, root, err := authenticator.NewModelAttestation(yubiKey5, "Test Maker")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, hub.AttestationRootsFile), root, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			h := hubtest.Start(t, hubtest.Options{DataDir: dir})
			uid := createUser(t, h, "nina", `{"sites":["north"]}`)
			createGroup(t, h, "Nurse", uid)
			k := h.EnrollKioskProfile(t, "ward-1", "north", tc.profile)
			k.Dial("")
			before, err := h.Store().ListCredentials(t.Context(), uid)
			if err != nil {
				t.Fatal(err)
			}
			e := registerError(t, tc.register(t, h, k))
			if e.Code != tc.code || !strings.Contains(e.Message, tc.says) || !strings.Contains(e.Message, "ask the supervisor to start the enrollment again") {
				t.Errorf("error %+v, want code %s saying %q and what to do", e, tc.code, tc.says)
			}
			after, err := h.Store().ListCredentials(t.Context(), uid)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Errorf("credentials %d → %d despite the refusal", len(before), len(after))
			}
		})
	}
}
