package agent

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// The hub refuses a credential the key did not store (not_discoverable):
// shiftgate-agent register says why and what to do, and both it and the
// Agent pass the reason on in credential.refused.
func TestRegisterNotDiscoverableRefusal(t *testing.T) {
	t.Run("register", func(t *testing.T) {
		hub := newFakeHub(t, SystemClock{})
		hub.setResponder(wire.TypeRegister, refuse(wire.ErrNotDiscoverable))
		src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
		mustNoErr(t, err)
		r := startRegister(t, RegisterConfig{StateDir: enrolledDir(t, "generic-x86"), Authenticators: src, Badge: "ana", Hub: hub, Timeout: time.Minute})
		hub.connect()
		hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))
		_, err = r.wait(t)
		const msg = `registration refused: the hub refused key "ana" for ana: the key did not store the credential it made (it cannot store credentials, or has no room left), so it could never sign in at a kiosk, where nobody types a user name: with a key that stores its credentials, or after deleting unused ones from this key, run this command again`
		if !errors.Is(err, ErrRegistrationRefused) || !strings.Contains(err.Error(), msg) {
			t.Fatalf("Register: %v\nwant ErrRegistrationRefused saying %q", err, msg)
		}
		evs := r.ev.expect(t, EventConnected, EventEnrollmentArmed, EventCredentialRefused, EventEnrollmentEnded)
		if e := evs[2]; e.Reason != RegisterNotDiscoverable {
			t.Errorf("credential.refused = %+v, want reason %s", e, RegisterNotDiscoverable)
		}
	})
	t.Run("run", func(t *testing.T) {
		h := newHarness(t)
		h.connect()
		h.hub.setResponder(wire.TypeRegister, refuse(wire.ErrNotDiscoverable))
		h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
		h.ev.expect(t, EventEnrollmentArmed)
		h.a.Tap("ana")
		evs := h.ev.expect(t, EventCredentialRefused, EventEnrollmentEnded)
		if e := evs[0]; e.Reason != RegisterNotDiscoverable {
			t.Errorf("credential.refused = %+v, want reason %s", e, RegisterNotDiscoverable)
		}
	})
}
