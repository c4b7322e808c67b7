package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// forgetfulBadge is a key that cannot store a discoverable credential: it
// ignores the rk option and makes credentials it does not keep (and says
// so), which the client refuses, as a browser does, with
// authenticator.ErrResidentKeyUnsupported.
type forgetfulBadge struct{ authenticator.Authenticator }

func (k forgetfulBadge) MakeCredential(ctx context.Context, req authenticator.CreateRequest) (authenticator.CreateResult, error) {
	req.ResidentKey = false
	return k.Authenticator.MakeCredential(ctx, req)
}

// keyStoreFull is how a FIDO2 key with no room left fails
// (CTAP2_ERR_KEY_STORE_FULL, mapped as the fido2 authenticator maps it).
var keyStoreFull = fmt.Errorf("%w: CTAP2_ERR_KEY_STORE_FULL", authenticator.ErrKeyStoreFull)

// unusableBadges are the badges that cannot be registered however often
// they are tapped, and the credential.refused reason of each.
func unusableBadges(t *testing.T) []struct {
	name   string
	key    func() authenticator.Authenticator
	reason string
} {
	soft := func() authenticator.Authenticator {
		s, err := authenticator.NewSoft(t.TempDir(), "old", authSoftOpts())
		mustNoErr(t, err)
		return s
	}
	return []struct {
		name   string
		key    func() authenticator.Authenticator
		reason string
	}{
		{"cannot store credentials", func() authenticator.Authenticator { return forgetfulBadge{soft()} }, RegisterResidentKeyUnsupported},
		{"no room left", func() authenticator.Authenticator {
			// More failures than any test taps it.
			return &scriptedKey{Authenticator: soft(), fails: slices.Repeat([]error{keyStoreFull}, 100)}
		}, RegisterKeyStoreFull},
	}
}

// A badge that cannot hold the kiosk's credential (it stores none, or has
// no room left) fails with a reason of its own, not "error", which a
// screen answers with "tap again": tapping it again cannot help. Nothing
// is sent to the hub, and the enrollment stays armed for another badge,
// which then registers.
func TestRegisterUnusableBadgeReason(t *testing.T) {
	for _, tc := range unusableBadges(t) {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.key()
			h := newHarness(t, func(h *harness, cfg *Config) {
				soft := cfg.Authenticators
				cfg.Authenticators = func(name string) (authenticator.Authenticator, error) {
					if name == "old" {
						return bad, nil
					}
					return soft(name)
				}
			})
			h.connect()
			h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
			h.ev.expect(t, EventEnrollmentArmed)

			for range 2 { // and again: the same reason, still armed
				h.a.Tap("old")
				if e := h.ev.expect(t, EventCredentialRefused)[0]; e.Reason != tc.reason || e.User != "ana" {
					t.Errorf("credential.refused = %+v, want reason %s", e, tc.reason)
				}
				h.wantState(Locked)
				h.ev.none(t) // no enrollment.ended
			}
			if got := h.hub.requestsOf(wire.TypeRegister); len(got) != 0 {
				t.Errorf("%d registrations sent to the hub for a badge that made no credential", len(got))
			}

			h.hub.setResponder(wire.TypeRegister, func(context.Context, any) (wire.Envelope, error) {
				return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
			})
			h.a.Tap("ana")
			if evs := h.ev.expect(t, EventCredentialRegistered, EventEnrollmentEnded); evs[1].Reason != EnrollmentRegistered {
				t.Errorf("enrollment.ended = %+v", evs[1])
			}
		})
	}
}

// shiftgate-agent register with such a key: credential.refused carries the
// reason, and the command says to use another key (with Retry, once, and
// it waits for one; without, it fails saying what to do). Nothing is sent
// to the hub for that key.
func TestRegisterCommandUnusableKey(t *testing.T) {
	for _, tc := range unusableBadges(t) {
		t.Run(tc.name+"/no retry", func(t *testing.T) {
			hub := newFakeHub(t, SystemClock{})
			key := tc.key()
			r := startRegister(t, RegisterConfig{
				StateDir: enrolledDir(t, "generic-x86"), Hub: hub, Timeout: time.Minute, Badge: "old",
				Authenticators: func(string) (authenticator.Authenticator, error) { return key, nil },
			})
			hub.connect()
			hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))
			_, err := r.wait(t)
			// The key's failure, that nothing was sent, and what to do.
			want := map[string][]string{
				RegisterResidentKeyUnsupported: {`key "old": make credential: authenticator cannot store discoverable credentials`,
					"nothing was sent to the hub", "with a key that stores its credentials"},
				RegisterKeyStoreFull: {`key "old": make credential: authenticator has no room for another discoverable credential`,
					"nothing was sent to the hub", "after deleting unused credentials from this key", "or with another key"},
			}[tc.reason]
			if !errors.Is(err, ErrKeyFailed) || slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(err.Error(), w) }) {
				t.Fatalf("Register: %v\nwant ErrKeyFailed saying %q", err, want)
			}
			if e := r.ev.expect(t, EventConnected, EventEnrollmentArmed, EventCredentialRefused)[2]; e.Reason != tc.reason {
				t.Errorf("credential.refused = %+v, want reason %s", e, tc.reason)
			}
			r.ev.none(t)
			if got := hub.requestTypes(); len(got) != 0 {
				t.Errorf("requests %v, want none", got)
			}
		})
	}

	// With Retry (hardware keys), the worker is told once to use another
	// key; the key, still plugged in, fails the same way quietly until
	// another is touched (here: the same key object succeeding).
	for _, tc := range []struct {
		name, reason, prompt string
		fail                 error
	}{
		{"cannot store credentials", RegisterResidentKeyUnsupported, "This key cannot store its credentials, which signing in at a kiosk needs: unplug it, plug in another key and touch that.",
			fmt.Errorf("%w: the key has no rk option (U2F-only keys never have one)", authenticator.ErrResidentKeyUnsupported)},
		{"no room left", RegisterKeyStoreFull, "This key has no room for another credential: unplug it, plug in another key and touch that (or delete unused credentials from this one first).", keyStoreFull},
	} {
		t.Run(tc.name+"/retry", func(t *testing.T) {
			soft, err := authenticator.NewSoft(t.TempDir(), "ana", authSoftOpts())
			mustNoErr(t, err)
			key := &scriptedKey{Authenticator: soft, fails: []error{tc.fail, tc.fail, tc.fail}}
			hub := newFakeHub(t, SystemClock{})
			hub.setResponder(wire.TypeRegister, func(context.Context, any) (wire.Envelope, error) {
				return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
			})
			var mu sync.Mutex
			var prompts []string
			r := startRegister(t, RegisterConfig{
				StateDir: enrolledDir(t, "generic-x86"), Hub: hub, Timeout: time.Minute, Retry: true, Clock: quickPause{},
				Authenticators: func(string) (authenticator.Authenticator, error) { return key, nil },
				Prompt:         func(line string) { mu.Lock(); prompts = append(prompts, line); mu.Unlock() },
			})
			hub.connect()
			hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))
			if _, err := r.wait(t); err != nil {
				t.Fatalf("Register: %v", err)
			}
			if e := r.ev.expect(t, EventConnected, EventEnrollmentArmed, EventCredentialRefused, EventCredentialRegistered, EventEnrollmentEnded)[2]; e.Reason != tc.reason {
				t.Errorf("credential.refused = %+v, want reason %s", e, tc.reason)
			}
			r.ev.none(t)
			mu.Lock()
			defer mu.Unlock()
			if want := []string{"Touch the security key to register it for User ana (ana).", tc.prompt}; !slices.Equal(prompts, want) {
				t.Errorf("prompts %q, want %q", prompts, want)
			}
			if got := hub.requestsOf(wire.TypeRegister); len(got) != 1 {
				t.Errorf("%d registrations sent, want 1 (the key that made a credential)", len(got))
			}
		})
	}
}
