package authn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

func TestRegisterThenLogin(t *testing.T) {
	for _, uv := range []bool{false, true} {
		t.Run(fmt.Sprintf("uv=%v", uv), func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			ana := e.user("ana")
			badge := e.badge("ana", authenticator.SoftOptions{UserVerification: uv})
			cred := e.register(ana, badge)

			want := store.Credential{
				ID:        cred.ID,
				UserID:    ana.ID,
				PublicKey: cred.PublicKey,
				AAGUID:    mustAAGUID(t, authenticator.DefaultAAGUID),
				State:     store.CredentialActive,
				Created:   e.clock.Now(),
			}
			if d := cmp.Diff(want, cred); d != "" {
				t.Fatalf("registered credential (-want +got):\n%s", d)
			}
			if len(cred.ID) == 0 || len(cred.PublicKey) == 0 {
				t.Fatalf("credential without ID or key: %+v", cred)
			}
			stored, err := e.st.GetCredential(ctx, cred.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(cred, stored); d != "" {
				t.Fatalf("stored credential (-returned +stored):\n%s", d)
			}
			recs, err := e.st.ListAudit(ctx, store.AuditQuery{Action: ActionCredentialRegistered})
			if err != nil || len(recs) != 1 || recs[0].Subject != "user:"+ana.ID || recs[0].Actor != "agent:"+kioskA || recs[0].System != "agent" {
				t.Fatalf("registration audit = %+v, %v", recs, err)
			}

			for n := uint32(1); n <= 3; n++ {
				e.clock.Advance(time.Minute)
				res, err := e.login(kioskA, badge)
				if err != nil {
					t.Fatalf("login %d: %v", n, err)
				}
				if res.User.ID != ana.ID || !bytes.Equal(res.Credential.ID, cred.ID) || res.UserVerified != uv {
					t.Fatalf("login %d: user %s credential %x uv %v", n, res.User.UserName, res.Credential.ID, res.UserVerified)
				}
				if res.Credential.SignCount != n || !res.Credential.LastUsed.Equal(e.clock.Now()) {
					t.Fatalf("login %d: counter %d last used %v", n, res.Credential.SignCount, res.Credential.LastUsed)
				}
				stored, err := e.st.GetCredential(ctx, cred.ID)
				if err != nil || stored.SignCount != n {
					t.Fatalf("login %d: stored counter %d, %v", n, stored.SignCount, err)
				}
			}
		})
	}
}

func mustAAGUID(t testing.TB, s string) []byte {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id[:]
}

// relabelBadge rewrites the badge file's credentials for another rpId, so
// the badge signs with the right key over the wrong rpIdHash.
func relabelBadge(t *testing.T, path, rpID string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	for _, c := range b["credentials"].([]any) {
		c.(map[string]any)["rpId"] = rpID
	}
	raw, err = json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name     string
		sentinel error
		code     string
		text     string // in the error text: the precise reason
		run      func(t *testing.T, e *env, badge *authenticator.Soft, cred store.Credential) error
	}{
		{"replayed assertion", ErrChallenge, wire.RefusedChallengeExpire, "already used (replay)", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			body := e.assert(kioskA, badge)
			if _, err := e.rp.FinishLogin(t.Context(), kioskA, body); err != nil {
				t.Fatal(err)
			}
			_, err := e.rp.FinishLogin(t.Context(), kioskA, body)
			return err
		}},
		{"challenge from another device", ErrChallenge, wire.RefusedChallengeExpire, "issued to device kiosk-a", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			body := e.assert(kioskA, badge)
			_, err := e.rp.FinishLogin(t.Context(), kioskB, body)
			// The leaked challenge is burnt: not even kiosk A may use it now.
			if _, err2 := e.rp.FinishLogin(t.Context(), kioskA, body); !errors.Is(err2, ErrChallenge) {
				t.Errorf("kiosk A after kiosk B: %v, want ErrChallenge", err2)
			}
			return err
		}},
		{"expired challenge", ErrChallenge, wire.RefusedChallengeExpire, "expired at", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			body := e.assert(kioskA, badge)
			e.clock.Advance(wire.ChallengeTTL)
			_, err := e.rp.FinishLogin(t.Context(), kioskA, body)
			return err
		}},
		{"challenge single use after a failed attempt", ErrChallenge, wire.RefusedChallengeExpire, "already used (replay)", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			ch, err := e.rp.BeginLogin(kioskA)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := authenticator.Authenticate(t.Context(), badge, "https://evil.shiftgate.test", ch.Options)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.rp.FinishLogin(t.Context(), kioskA, bad); !errors.Is(err, ErrInvalid) {
				t.Fatalf("first attempt: %v, want ErrInvalid", err)
			}
			good, err := authenticator.Authenticate(t.Context(), badge, ch.Origin, ch.Options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishLogin(t.Context(), kioskA, good)
			return err
		}},
		{"oldest challenge evicted", ErrChallenge, wire.RefusedChallengeExpire, "evicted", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			first := e.assert(kioskA, badge)
			for range MaxOutstandingChallenges {
				if _, err := e.rp.BeginLogin(kioskA); err != nil {
					t.Fatal(err)
				}
			}
			_, err := e.rp.FinishLogin(t.Context(), kioskA, first)
			return err
		}},
		{"expired challenge already pruned", ErrChallenge, wire.RefusedChallengeExpire, "expired at 2031-03-04T07:01:00Z", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			body := e.assert(kioskA, badge)
			e.clock.Advance(wire.ChallengeTTL + time.Second)
			mustChallenge(t, e, kioskB) // prunes
			_, err := e.rp.FinishLogin(t.Context(), kioskA, body)
			return err
		}},
		{"challenge not issued by this hub", ErrChallenge, wire.RefusedChallengeExpire, "not issued by this hub", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			ch := mustChallenge(t, newEnv(t), kioskA) // e.g. before a restart
			body, err := authenticator.Authenticate(t.Context(), badge, ch.Origin, ch.Options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishLogin(t.Context(), kioskA, body)
			return err
		}},
		{"unknown credential", ErrUnknownCredential, wire.RefusedNotRecognised, "is not registered", func(t *testing.T, e *env, _ *authenticator.Soft, _ store.Credential) error {
			// A badge registered with another hub for the same rpId.
			other := newEnv(t)
			stranger := other.badge("stranger", authenticator.SoftOptions{})
			other.register(other.user("zed"), stranger)
			body, err := authenticator.Authenticate(t.Context(), stranger, testOrigin, mustChallenge(t, e, kioskA).Options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishLogin(t.Context(), kioskA, body)
			return err
		}},
		{"revoked credential", ErrUnknownCredential, wire.RefusedNotRecognised, "is revoked (left the company)", func(t *testing.T, e *env, badge *authenticator.Soft, cred store.Credential) error {
			if _, err := e.st.RevokeCredentials(t.Context(), cred.UserID, "left the company"); err != nil {
				t.Fatal(err)
			}
			_, err := e.login(kioskA, badge)
			return err
		}},
		{"suspended credential", ErrUnknownCredential, wire.RefusedNotRecognised, "is suspended (lost badge)", func(t *testing.T, e *env, badge *authenticator.Soft, cred store.Credential) error {
			_, err := e.st.UpdateCredential(t.Context(), cred.ID, func(c store.Credential) (store.Credential, error) {
				c.State, c.Reason = store.CredentialSuspended, "lost badge"
				return c, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.login(kioskA, badge)
			return err
		}},
		{"deleted user", ErrUnknownCredential, wire.RefusedNotRecognised, "deleted user", func(t *testing.T, e *env, badge *authenticator.Soft, cred store.Credential) error {
			_, err := e.st.UpdateUser(t.Context(), cred.UserID, func(u store.User) (store.User, error) {
				u.State, u.Active, u.Deleted = store.UserDeleted, false, e.clock.Now()
				return u, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.login(kioskA, badge)
			return err
		}},
		{"wrong origin", ErrInvalid, wire.RefusedInvalid, "origin", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			body, err := authenticator.Authenticate(t.Context(), badge, "https://evil.shiftgate.test", mustChallenge(t, e, kioskA).Options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishLogin(t.Context(), kioskA, body)
			return err
		}},
		{"wrong rpId", ErrInvalid, wire.RefusedInvalid, "RP Hash mismatch", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			// The origin is right, but the badge signs for rpId
			// hub.shiftgate.test (a permitted rpId for that origin, just
			// not ours).
			relabelBadge(t, badge.Path(), "hub.shiftgate.test")
			opts := bytes.Replace(mustChallenge(t, e, kioskA).Options, []byte(`"rpId":"shiftgate.test"`), []byte(`"rpId":"hub.shiftgate.test"`), 1)
			body, err := authenticator.Authenticate(t.Context(), badge, testOrigin, opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishLogin(t.Context(), kioskA, body)
			return err
		}},
		{"tampered signature", ErrInvalid, wire.RefusedInvalid, "signature", func(t *testing.T, e *env, badge *authenticator.Soft, _ store.Credential) error {
			body := e.assert(kioskA, badge)
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			resp := m["response"].(map[string]any)
			// Another valid login's signature: well-formed, but not over
			// this authenticator data and client data.
			var other map[string]any
			if err := json.Unmarshal(e.assert(kioskB, badge), &other); err != nil {
				t.Fatal(err)
			}
			resp["signature"] = other["response"].(map[string]any)["signature"]
			body, _ = json.Marshal(m)
			_, err := e.rp.FinishLogin(t.Context(), kioskA, body)
			return err
		}},
		{"malformed JSON", ErrInvalid, wire.RefusedInvalid, "parse assertion", func(t *testing.T, e *env, _ *authenticator.Soft, _ store.Credential) error {
			_, err := e.rp.FinishLogin(t.Context(), kioskA, []byte(`{"id":`))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			badge := e.badge("ana", authenticator.SoftOptions{})
			cred := e.register(e.user("ana"), badge)
			err := tt.run(t, e, badge, cred)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			if got := RefusalCode(err); got != tt.code {
				t.Errorf("RefusalCode = %q, want %q", got, tt.code)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error text %q does not say %q", err, tt.text)
			}
			t.Logf("%v", err)
		})
	}
}

func mustChallenge(t *testing.T, e *env, device string) wire.Challenge {
	t.Helper()
	ch, err := e.rp.BeginLogin(device)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Origin != testOrigin || !ch.ExpiresAt.Equal(e.clock.Now().Add(wire.ChallengeTTL)) {
		t.Fatalf("challenge = %+v", ch)
	}
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(ch.Options, &ca); err != nil {
		t.Fatal(err)
	}
	if len(ca.Response.AllowedCredentials) != 0 || ca.Response.UserVerification != protocol.VerificationPreferred || ca.Response.RelyingPartyID != testRPID {
		t.Fatalf("options = %s", ch.Options)
	}
	return ch
}

func TestClonedKey(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ana := e.user("ana")
	badge := e.badge("ana", authenticator.SoftOptions{})
	cred := e.register(ana, badge)
	if _, err := e.login(kioskA, badge); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(badge.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.badges, "ana-clone.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	clone := e.badge("ana-clone", authenticator.SoftOptions{})

	if _, err := e.login(kioskA, badge); err != nil { // counter 2
		t.Fatalf("original: %v", err)
	}
	_, err = e.login(kioskB, clone) // counter 2 again
	if !errors.Is(err, ErrCloned) || RefusalCode(err) != wire.RefusedNotRecognised {
		t.Fatalf("clone: %v (code %q), want ErrCloned / not_recognised", err, RefusalCode(err))
	}
	if !strings.Contains(err.Error(), "presented counter 2, stored 2") {
		t.Errorf("error text %q lacks the counters", err)
	}

	got, err := e.st.GetCredential(ctx, cred.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.CredentialSuspended || got.Reason != ReasonCloned || got.SignCount != 2 {
		t.Fatalf("credential after clone = state %d reason %q counter %d", got.State, got.Reason, got.SignCount)
	}

	recs, err := e.st.ListAudit(ctx, store.AuditQuery{Action: ActionCredentialSuspended})
	if err != nil || len(recs) != 1 {
		t.Fatalf("suspension audit: %d records, %v", len(recs), err)
	}
	r := recs[0]
	if r.Actor != "agent:"+kioskB || r.System != "agent" || r.Subject != "user:"+ana.ID {
		t.Errorf("audit record = %+v", r)
	}
	var detail map[string]any
	if err := json.Unmarshal(r.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	wantDetail := map[string]any{
		"credential_id": b64(cred.ID), "stored_counter": 2.0, "presented_counter": 2.0,
		"device": kioskB, "previous_state": "active",
	}
	if d := cmp.Diff(wantDetail, detail); d != "" {
		t.Errorf("audit detail (-want +got):\n%s", d)
	}
	if _, err := audit.Verify(ctx, testAuditKey, e.st); err != nil {
		t.Errorf("audit chain: %v", err)
	}

	// Every copy is refused now, the original included.
	for name, b := range map[string]*authenticator.Soft{"original": badge, "clone": clone} {
		if _, err := e.login(kioskA, b); !errors.Is(err, ErrUnknownCredential) || RefusalCode(err) != wire.RefusedNotRecognised {
			t.Errorf("%s after suspension: %v, want ErrUnknownCredential", name, err)
		}
	}
}

// TestCounterRegressionAfterVerify covers two copies of a key racing past
// go-webauthn's check with the same stored counter: the check inside the
// counter update catches the second.
// TestCounterlessBadgeRefused: an authenticator that keeps no sign
// counter (it presents 0 every time) could be copied without the hub ever
// noticing: its logins are refused (not_allowed_here), and it is not
// suspended, since nothing shows a copy exists. A counting badge of the
// same user signs in.
func TestCounterlessBadgeRefused(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana")
	flat := e.badge("ana-flat", authenticator.SoftOptions{NoCounter: true})
	cred := e.register(ana, flat)
	for range 2 {
		_, err := e.login(kioskA, flat)
		if !errors.Is(err, ErrNoCounter) || RefusalCode(err) != wire.RefusedNotAllowedHere {
			t.Fatalf("counterless badge: %v (code %q), want ErrNoCounter / not_allowed_here", err, RefusalCode(err))
		}
	}
	if got, err := e.st.GetCredential(t.Context(), cred.ID); err != nil || got.State != store.CredentialActive || got.SignCount != 0 {
		t.Errorf("credential after the refusals = %+v, %v; want it active, counter 0", got, err)
	}
	counting := e.badge("ana", authenticator.SoftOptions{})
	e.register(ana, counting)
	if _, err := e.login(kioskA, counting); err != nil {
		t.Errorf("counting badge: %v", err)
	}
}

func TestCounterRegressionAfterVerify(t *testing.T) {
	e := newEnv(t)
	badge := e.badge("ana", authenticator.SoftOptions{})
	e.register(e.user("ana"), badge)
	raw, err := os.ReadFile(badge.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.badges, "ana-clone.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	clone := e.badge("ana-clone", authenticator.SoftOptions{})
	// Both sign counter 1 before either is verified.
	first, second := e.assert(kioskA, badge), e.assert(kioskB, clone)
	if _, err := e.rp.FinishLogin(t.Context(), kioskA, first); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rp.FinishLogin(t.Context(), kioskB, second); !errors.Is(err, ErrCloned) {
		t.Fatalf("second copy: %v, want ErrCloned", err)
	}
}

func TestRegistrationRefused(t *testing.T) {
	other := mustAAGUID(t, "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11")
	tests := []struct {
		name     string
		sentinel error
		text     string
		run      func(t *testing.T, e *env, ana store.User) error
	}{
		{"AAGUID not in allow list", ErrAAGUIDNotAllowed, "AAGUID " + authenticator.DefaultAAGUID, func(t *testing.T, e *env, ana store.User) error {
			body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}), other)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			return err
		}},
		{"kiosk disabled during the ceremony", ErrDeviceNotActive, "device is not active", func(t *testing.T, e *env, ana store.User) error {
			body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.UpdateDevice(t.Context(), kioskA, func(d store.Device) (store.Device, error) {
				d.State = store.DeviceDisabled
				return d, nil
			}); err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			return err
		}},
		{"no registration pending", ErrChallenge, "no registration pending", func(t *testing.T, e *env, ana store.User) error {
			body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskB, body)
			return err
		}},
		{"registration expired", ErrChallenge, "registration expired", func(t *testing.T, e *env, ana store.User) error {
			body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(DefaultRegistrationTTL)
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			return err
		}},
		{"replayed registration", ErrChallenge, "another challenge", func(t *testing.T, e *env, ana store.User) error {
			body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.rp.FinishRegistration(t.Context(), kioskA, body); err != nil {
				t.Fatal(err)
			}
			if _, err := e.rp.BeginRegistration(t.Context(), kioskA, ana, nil); err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			return err
		}},
		{"wrong origin", ErrInvalid, "origin", func(t *testing.T, e *env, ana store.User) error {
			start, err := e.rp.BeginRegistration(t.Context(), kioskA, ana, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := authenticator.Register(t.Context(), e.badge("ana", authenticator.SoftOptions{}), "https://evil.shiftgate.test", start.Options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			return err
		}},
		{"user deleted meanwhile", ErrUserNotEligible, "is deleted", func(t *testing.T, e *env, ana store.User) error {
			body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.UpdateUser(t.Context(), ana.ID, func(u store.User) (store.User, error) {
				u.State, u.Deleted = store.UserDeleted, e.clock.Now()
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			return err
		}},
		{"disabled user", ErrUserNotEligible, "is disabled", func(t *testing.T, e *env, ana store.User) error {
			ana.State = store.UserDisabled
			_, err := e.rp.BeginRegistration(t.Context(), kioskA, ana, nil)
			return err
		}},
		{"malformed", ErrInvalid, "parse attestation", func(t *testing.T, e *env, ana store.User) error {
			_, err := e.rp.FinishRegistration(t.Context(), kioskA, []byte(`[]`))
			return err
		}},
		{"valid answer after a malformed one", ErrChallenge, "no registration pending", func(t *testing.T, e *env, ana store.User) error {
			body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.rp.FinishRegistration(t.Context(), kioskA, []byte(`[]`)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("malformed answer: %v, want ErrInvalid", err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ana := e.user("ana")
			before, err := e.st.ListCredentials(t.Context(), ana.ID)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.run(t, e, ana)
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.sentinel, tt.text)
			}
			t.Logf("%v", err)
			if RefusalCode(err) == "" {
				t.Errorf("RefusalCode(%v) is empty", err)
			}
			after, err := e.st.ListCredentials(t.Context(), ana.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name != "replayed registration" && len(after) != len(before) {
				t.Errorf("credentials stored despite refusal: %d → %d", len(before), len(after))
			}
		})
	}
}

func TestAAGUIDAllowList(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana")
	const model = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	badge := e.badge("ana", authenticator.SoftOptions{AAGUID: model, Attestation: authenticator.AttestationNone})
	body, err := e.attest(kioskA, ana, badge, mustAAGUID(t, authenticator.DefaultAAGUID), mustAAGUID(t, model))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.rp.FinishRegistration(t.Context(), kioskA, body)
	if err != nil {
		t.Fatalf("allowed model: %v", err)
	}
	if !bytes.Equal(c.AAGUID, mustAAGUID(t, model)) {
		t.Fatalf("AAGUID = %x", c.AAGUID)
	}
}

func TestExcludeList(t *testing.T) {
	e := newEnv(t)
	ana, bo := e.user("ana"), e.user("bo")
	badge := e.badge("ana", authenticator.SoftOptions{})
	e.register(ana, badge)

	if _, err := e.attest(kioskA, ana, badge); !errors.Is(err, authenticator.ErrCredentialExcluded) {
		t.Fatalf("same badge, same user: %v, want ErrCredentialExcluded", err)
	}
	e.register(ana, e.badge("ana-spare", authenticator.SoftOptions{})) // another badge: fine
	e.register(bo, badge)                                              // the badge for someone else: fine

	creds, err := e.st.ListCredentials(t.Context(), ana.ID)
	if err != nil || len(creds) != 2 {
		t.Fatalf("ana's credentials: %d, %v", len(creds), err)
	}
}

func TestChallengeBookkeeping(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		for range MaxOutstandingChallenges + 2 {
			if _, err := e.rp.BeginLogin(fmt.Sprintf("kiosk-%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func() (int, int) {
		e.rp.mu.Lock()
		defer e.rp.mu.Unlock()
		n := 0
		for _, l := range e.rp.byDevice {
			n += len(l)
		}
		if n != len(e.rp.logins) {
			t.Fatalf("index out of step: %d listed, %d challenges", n, len(e.rp.logins))
		}
		return len(e.rp.logins), len(e.rp.byDevice)
	}
	if n, d := count(); n != 10*MaxOutstandingChallenges || d != 10 {
		t.Fatalf("outstanding = %d on %d devices, want %d on 10", n, d, 10*MaxOutstandingChallenges)
	}
	e.clock.Advance(wire.ChallengeTTL)
	if _, err := e.rp.BeginLogin("kiosk-new"); err != nil {
		t.Fatal(err)
	}
	if n, d := count(); n != 1 || d != 1 {
		t.Fatalf("after expiry: %d outstanding on %d devices, want 1 on 1", n, d)
	}
}

func TestNewValidates(t *testing.T) {
	e := newEnv(t)
	log, err := audit.New(testAuditKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := Config{RPID: testRPID, RPDisplayName: "Shiftgate", Origin: testOrigin, Store: e.st, Audit: log}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no store", func(c *Config) { c.Store = nil }},
		{"no audit", func(c *Config) { c.Audit = nil }},
		{"no origin", func(c *Config) { c.Origin = "" }},
		{"challenge TTL too long", func(c *Config) { c.ChallengeTTL = 61 * time.Second }},
		{"negative registration TTL", func(c *Config) { c.RegistrationTTL = -time.Second }},
		{"no RP ID", func(c *Config) { c.RPID = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
}

func TestRefusalCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("disk on fire"), ""},
		{fmt.Errorf("x: %w", ErrUnknownCredential), wire.RefusedNotRecognised},
		{fmt.Errorf("x: %w", ErrCloned), wire.RefusedNotRecognised},
		{fmt.Errorf("x: %w", ErrUserNotEligible), wire.RefusedNotRecognised},
		{fmt.Errorf("x: %w", ErrChallenge), wire.RefusedChallengeExpire},
		{fmt.Errorf("x: %w", ErrInvalid), wire.RefusedInvalid},
		{fmt.Errorf("x: %w", ErrAAGUIDNotAllowed), wire.RefusedNotAllowedHere},
		{fmt.Errorf("x: %w", ErrAttestationUntrusted), wire.RefusedNotAllowedHere},
		{fmt.Errorf("x: %w", ErrNoCounter), wire.RefusedNotAllowedHere},
	}
	for _, tt := range tests {
		if got := RefusalCode(tt.err); got != tt.want {
			t.Errorf("RefusalCode(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestStoreFailureIsInternal(t *testing.T) {
	e := newEnv(t)
	badge := e.badge("ana", authenticator.SoftOptions{})
	e.register(e.user("ana"), badge)
	body := e.assert(kioskA, badge)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := e.rp.FinishLogin(ctx, kioskA, body)
	if err == nil || RefusalCode(err) != "" {
		t.Fatalf("store failure: %v (code %q), want an internal error", err, RefusalCode(err))
	}
}

// movingStore commits a change to the user just before the login's
// transaction begins, after everything the RP reads before it: the change
// a mover's SCIM request makes while a login's signature is checked.
type movingStore struct {
	store.Store
	move func()
}

func (m *movingStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	if m.move != nil {
		m.move()
		m.move = nil
	}
	return m.Store.InTx(ctx, fn)
}

// TestLoginDecidesOnTheUserAsCommitted: the user a login's decision sees
// is read in the login's transaction, not before the signature check, so
// a change committed in between (and its revocation pass, which could not
// see this session yet) is not missed.
func TestLoginDecidesOnTheUserAsCommitted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ana := e.user("ana")
	badge := e.badge("ana", authenticator.SoftOptions{})
	e.register(ana, badge)
	ms := &movingStore{Store: e.st, move: func() {
		if _, err := e.st.UpdateUser(ctx, ana.ID, func(u store.User) (store.User, error) {
			u.Sites = []string{"South"}
			return u, nil
		}); err != nil {
			t.Errorf("move: %v", err)
		}
	}}
	e.rp.st = ms
	var seen []string
	_, err := e.rp.FinishLoginWith(ctx, kioskA, e.assert(kioskA, badge), func(_ context.Context, _ store.Ops, res LoginResult) error {
		seen = res.User.Sites
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "South" {
		t.Errorf("decision saw sites %v; want the committed [South]", seen)
	}
	if ms.move != nil {
		t.Error("the login ran no transaction: the move never happened")
	}
}

// TestCredentialChangedSinceRemembered: the RP remembers a credential
// after a login; when another path revokes it (here: straight in the
// store) the next login is refused, and when it is made active again the
// login after that succeeds: the remembered copy never decides.
func TestCredentialChangedSinceRemembered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ana := e.user("ana")
	badge := e.badge("ana", authenticator.SoftOptions{})
	cred := e.register(ana, badge)
	if _, err := e.login(kioskA, badge); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.rp.creds.get(cred.ID); !ok {
		t.Fatal("the credential is not remembered after a login: the test would prove nothing")
	}
	setState := func(s store.CredentialState) {
		t.Helper()
		if _, err := e.st.UpdateCredential(ctx, cred.ID, func(c store.Credential) (store.Credential, error) {
			c.State, c.Reason = s, "test"
			return c, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setState(store.CredentialRevoked)
	if _, err := e.login(kioskA, badge); !errors.Is(err, ErrUnknownCredential) {
		t.Fatalf("login with a revoked credential: %v; want ErrUnknownCredential", err)
	}
	setState(store.CredentialActive)
	res, err := e.login(kioskA, badge)
	if err != nil {
		t.Fatalf("login after the credential was made active again: %v", err)
	}
	stored, err := e.st.GetCredential(ctx, cred.ID)
	if err != nil || stored.SignCount != res.Credential.SignCount || res.Credential.SignCount < 2 {
		t.Errorf("stored counter %d (%v), login's %d", stored.SignCount, err, res.Credential.SignCount)
	}
}
