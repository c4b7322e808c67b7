package authenticator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

const (
	testRPID   = "localhost"
	testOrigin = "https://localhost:8443"
)

// testUser is the relying party's user record.
type testUser struct {
	id    []byte
	name  string
	creds []webauthn.Credential
}

func (u *testUser) WebAuthnID() []byte                         { return u.id }
func (u *testUser) WebAuthnName() string                       { return u.name }
func (u *testUser) WebAuthnDisplayName() string                { return "User " + u.name }
func (u *testUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// testRP is a minimal relying party around a real go-webauthn v0.18.2: it keeps users and
// their credentials, and stores the updated counter after each login as a hub would.
type testRP struct {
	t     testing.TB
	wa    *webauthn.WebAuthn
	users map[string]*testUser // by user handle

	// lastFlags are the authenticator data flags of the last verified login. (The UV flag of a
	// stored credential is latched by go-webauthn and says nothing about one ceremony.)
	lastFlags protocol.AuthenticatorFlags
}

func newTestRP(t testing.TB) *testRP {
	t.Helper()
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          testRPID,
		RPDisplayName: "Shiftgate",
		RPOrigins:     []string{testOrigin},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testRP{t: t, wa: wa, users: map[string]*testUser{}}
}

func (rp *testRP) user(name string) *testUser {
	id := []byte("uid-" + name)
	u, ok := rp.users[string(id)]
	if !ok {
		u = &testUser{id: id, name: name}
		rp.users[string(id)] = u
	}
	return u
}

// beginRegistration returns the options JSON as the hub would send it, and the session.
func (rp *testRP) beginRegistration(u *testUser, opts ...webauthn.RegistrationOption) ([]byte, *webauthn.SessionData) {
	rp.t.Helper()
	opts = append([]webauthn.RegistrationOption{webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired)}, opts...)
	creation, session, err := rp.wa.BeginRegistration(u, opts...)
	if err != nil {
		rp.t.Fatal(err)
	}
	j, err := json.Marshal(creation)
	if err != nil {
		rp.t.Fatal(err)
	}
	return j, session
}

// finishRegistration verifies a registration response body and stores the credential.
func (rp *testRP) finishRegistration(u *testUser, session *webauthn.SessionData, body []byte) (*webauthn.Credential, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	cred, err := rp.wa.CreateCredential(u, *session, parsed)
	if err != nil {
		return nil, fmt.Errorf("create credential: %w", err)
	}
	u.creds = append(u.creds, *cred)
	return cred, nil
}

// register runs a whole registration ceremony for u with badge a.
func (rp *testRP) register(u *testUser, a Authenticator, opts ...webauthn.RegistrationOption) (*webauthn.Credential, error) {
	rp.t.Helper()
	j, session := rp.beginRegistration(u, opts...)
	body, err := Register(rp.t.Context(), a, testOrigin, j)
	if err != nil {
		return nil, err
	}
	return rp.finishRegistration(u, session, body)
}

func (rp *testRP) beginLogin(opts ...webauthn.LoginOption) ([]byte, *webauthn.SessionData) {
	rp.t.Helper()
	assertion, session, err := rp.wa.BeginDiscoverableLogin(opts...)
	if err != nil {
		rp.t.Fatal(err)
	}
	j, err := json.Marshal(assertion)
	if err != nil {
		rp.t.Fatal(err)
	}
	return j, session
}

// finishLogin verifies a discoverable login response and stores the updated credential.
func (rp *testRP) finishLogin(session *webauthn.SessionData, body []byte) (*testUser, *webauthn.Credential, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, nil, fmt.Errorf("parse: %w", err)
	}
	var who *testUser
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		u, ok := rp.users[string(userHandle)]
		if !ok {
			return nil, errors.New("unknown user")
		}
		who = u
		return u, nil
	}
	cred, err := rp.wa.ValidateDiscoverableLogin(handler, *session, parsed)
	if err != nil {
		return nil, nil, fmt.Errorf("validate login: %w", err)
	}
	rp.lastFlags = parsed.Response.AuthenticatorData.Flags
	for i := range who.creds {
		if bytes.Equal(who.creds[i].ID, cred.ID) {
			who.creds[i] = *cred
		}
	}
	return who, cred, nil
}

// login runs a whole discoverable login ceremony with badge a.
func (rp *testRP) login(a Authenticator, opts ...webauthn.LoginOption) (*testUser, *webauthn.Credential, error) {
	rp.t.Helper()
	j, session := rp.beginLogin(opts...)
	body, err := Authenticate(rp.t.Context(), a, testOrigin, j)
	if err != nil {
		return nil, nil, err
	}
	return rp.finishLogin(session, body)
}

func newTestSoft(t testing.TB, dir, name string, opts SoftOptions) *Soft {
	t.Helper()
	s, err := NewSoft(dir, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegisterAndDiscoverableLogin(t *testing.T) {
	const aaguid = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	tests := []struct {
		name        string
		opts        SoftOptions
		wantFormat  string
		wantType    string
		wantAAGUID  string
		wantUV      bool
		loginOption []webauthn.LoginOption
	}{
		{name: "packed default", opts: SoftOptions{}, wantFormat: "packed", wantType: "basic_surrogate", wantAAGUID: DefaultAAGUID},
		{name: "packed configured aaguid", opts: SoftOptions{AAGUID: aaguid, Attestation: AttestationPacked}, wantFormat: "packed", wantType: "basic_surrogate", wantAAGUID: aaguid},
		{name: "none", opts: SoftOptions{AAGUID: aaguid, Attestation: AttestationNone}, wantFormat: "none", wantType: "none", wantAAGUID: aaguid},
		{name: "packed with uv", opts: SoftOptions{UserVerification: true}, wantFormat: "packed", wantType: "basic_surrogate", wantAAGUID: DefaultAAGUID, wantUV: true,
			loginOption: []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationRequired)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp := newTestRP(t)
			ana := rp.user("ana")
			badge := newTestSoft(t, t.TempDir(), "badge1", tt.opts)

			cred, err := rp.register(ana, badge)
			if err != nil {
				t.Fatalf("register: %v", err)
			}
			if cred.AttestationFormat != tt.wantFormat || cred.AttestationType != tt.wantType {
				t.Errorf("attestation = %s/%s, want %s/%s", cred.AttestationFormat, cred.AttestationType, tt.wantFormat, tt.wantType)
			}
			if got := uuid.UUID(cred.Authenticator.AAGUID).String(); got != tt.wantAAGUID {
				t.Errorf("AAGUID = %s, want %s", got, tt.wantAAGUID)
			}
			if !cred.Flags.UserPresent || cred.Flags.UserVerified != tt.wantUV || cred.Flags.BackupEligible || cred.Flags.BackupState {
				t.Errorf("flags = %+v, want UP, UV=%v, no BE/BS", cred.Flags, tt.wantUV)
			}
			if len(cred.Transport) != 1 || cred.Transport[0] != protocol.NFC {
				t.Errorf("transports = %v, want [nfc]", cred.Transport)
			}
			if cred.Authenticator.SignCount != 0 {
				t.Errorf("registration sign count = %d, want 0", cred.Authenticator.SignCount)
			}

			for want := uint32(1); want <= 3; want++ {
				who, got, err := rp.login(badge, tt.loginOption...)
				if err != nil {
					t.Fatalf("login %d: %v", want, err)
				}
				if who != ana || !bytes.Equal(got.ID, cred.ID) {
					t.Fatalf("login %d: got user %s credential %x, want ana %x", want, who.name, got.ID, cred.ID)
				}
				if got.Authenticator.SignCount != want || got.Authenticator.CloneWarning {
					t.Fatalf("login %d: counter %d clone warning %v, want %d and no warning", want, got.Authenticator.SignCount, got.Authenticator.CloneWarning, want)
				}
				if f := rp.lastFlags; !f.HasUserPresent() || f.HasUserVerified() != tt.wantUV || f.HasBackupEligible() || f.HasBackupState() {
					t.Errorf("login %d: flags %08b, want UP, UV=%v, no BE/BS", want, f, tt.wantUV)
				}
			}
		})
	}
}

func TestRelyingPartyRefuses(t *testing.T) {
	// setup registers ana's badge and returns the relying party and badge.
	setup := func(t *testing.T) (*testRP, *Soft) {
		rp := newTestRP(t)
		badge := newTestSoft(t, t.TempDir(), "badge1", SoftOptions{})
		if _, err := rp.register(rp.user("ana"), badge); err != nil {
			t.Fatal(err)
		}
		return rp, badge
	}
	tests := []struct {
		name string
		want string // in the error or its DevInfo: the reason for refusing
		run  func(t *testing.T, rp *testRP, badge *Soft) error
	}{
		{"registration from wrong origin", "validating origin", func(t *testing.T, rp *testRP, badge *Soft) error {
			u := rp.user("bo")
			j, session := rp.beginRegistration(u)
			body, err := Register(t.Context(), badge, "https://localhost:9443", j)
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			_, err = rp.finishRegistration(u, session, body)
			return err
		}},
		{"registration for wrong rpID", "RP Hash mismatch", func(t *testing.T, rp *testRP, badge *Soft) error {
			u := rp.user("bo")
			j, session := rp.beginRegistration(u)
			var cc protocol.CredentialCreation
			if err := json.Unmarshal(j, &cc); err != nil {
				t.Fatal(err)
			}
			body, err := register(t.Context(), badge, testOrigin, "evil.localhost", &cc.Response)
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			_, err = rp.finishRegistration(u, session, body)
			return err
		}},
		{"replayed registration", "validating challenge", func(t *testing.T, rp *testRP, badge *Soft) error {
			u := rp.user("bo")
			j, session := rp.beginRegistration(u)
			body, err := Register(t.Context(), badge, testOrigin, j)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rp.finishRegistration(u, session, body); err != nil {
				t.Fatal(err)
			}
			_, session2 := rp.beginRegistration(u) // the hub's next challenge
			_, err = rp.finishRegistration(u, session2, body)
			return err
		}},
		{"login from wrong origin", "validating origin", func(t *testing.T, rp *testRP, badge *Soft) error {
			j, session := rp.beginLogin()
			// http on loopback is a secure context the client signs for;
			// the hub's origin check is what refuses it.
			body, err := Authenticate(t.Context(), badge, "http://localhost:8443", j)
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			_, _, err = rp.finishLogin(session, body)
			return err
		}},
		{"login signed for wrong rpID", "RP Hash mismatch", func(t *testing.T, rp *testRP, badge *Soft) error {
			// The badge's credential is re-labelled for another RP, so the badge signs
			// an rpIdHash the hub does not expect with the right key.
			b, err := readBadge(badge.Path())
			if err != nil {
				t.Fatal(err)
			}
			b.Credentials[0].RPID = "evil.localhost"
			if err := writeBadge(badge.Path(), b, nil); err != nil {
				t.Fatal(err)
			}
			j, session := rp.beginLogin()
			var ca protocol.CredentialAssertion
			if err := json.Unmarshal(j, &ca); err != nil {
				t.Fatal(err)
			}
			body, err := authenticate(t.Context(), badge, testOrigin, "evil.localhost", &ca.Response)
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			_, _, err = rp.finishLogin(session, body)
			return err
		}},
		{"replayed login challenge", "validating challenge", func(t *testing.T, rp *testRP, badge *Soft) error {
			j, session := rp.beginLogin()
			body, err := Authenticate(t.Context(), badge, testOrigin, j)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := rp.finishLogin(session, body); err != nil {
				t.Fatal(err)
			}
			_, session2 := rp.beginLogin() // the hub's next challenge
			_, _, err = rp.finishLogin(session2, body)
			return err
		}},
		{"tampered authenticator data", "assertion signature", func(t *testing.T, rp *testRP, badge *Soft) error {
			j, session := rp.beginLogin()
			body, err := Authenticate(t.Context(), badge, testOrigin, j)
			if err != nil {
				t.Fatal(err)
			}
			var resp authenticationResponseJSON
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			resp.Response.AuthenticatorData[36]++ // raise the counter; the signature no longer matches
			body, err = json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = rp.finishLogin(session, body)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp, badge := setup(t)
			err := tt.run(t, rp, badge)
			if err == nil {
				t.Fatal("relying party accepted the response")
			}
			msg := err.Error()
			var pe *protocol.Error
			if errors.As(err, &pe) {
				msg += " (" + pe.DevInfo + ")"
			}
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("refused for the wrong reason: %s; want %q", msg, tt.want)
			}
		})
	}
}

func TestUserVerification(t *testing.T) {
	required := webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
		ResidentKey:        protocol.ResidentKeyRequirementRequired,
		RequireResidentKey: protocol.ResidentKeyRequired(),
		UserVerification:   protocol.VerificationRequired,
	})

	t.Run("registration requiring UV on a badge without UV", func(t *testing.T) {
		rp := newTestRP(t)
		badge := newTestSoft(t, t.TempDir(), "nouv", SoftOptions{})
		_, err := rp.register(rp.user("ana"), badge, required)
		if !errors.Is(err, ErrUVUnavailable) {
			t.Fatalf("err = %v, want ErrUVUnavailable", err)
		}
	})
	t.Run("login requiring UV on a badge without UV", func(t *testing.T) {
		rp := newTestRP(t)
		badge := newTestSoft(t, t.TempDir(), "nouv", SoftOptions{})
		if _, err := rp.register(rp.user("ana"), badge); err != nil {
			t.Fatal(err)
		}
		_, _, err := rp.login(badge, webauthn.WithUserVerification(protocol.VerificationRequired))
		if !errors.Is(err, ErrUVUnavailable) {
			t.Fatalf("err = %v, want ErrUVUnavailable", err)
		}
	})
	t.Run("UV badge, UV required", func(t *testing.T) {
		rp := newTestRP(t)
		badge := newTestSoft(t, t.TempDir(), "uv", SoftOptions{UserVerification: true})
		cred, err := rp.register(rp.user("ana"), badge, required)
		if err != nil || !cred.Flags.UserVerified {
			t.Fatalf("register: %v, flags %+v", err, cred.Flags)
		}
		if _, _, err := rp.login(badge, webauthn.WithUserVerification(protocol.VerificationRequired)); err != nil || !rp.lastFlags.HasUserVerified() {
			t.Fatalf("login: %v, flags %08b", err, rp.lastFlags)
		}
	})
	t.Run("UV badge, UV discouraged", func(t *testing.T) {
		rp := newTestRP(t)
		badge := newTestSoft(t, t.TempDir(), "uv", SoftOptions{UserVerification: true})
		if _, err := rp.register(rp.user("ana"), badge); err != nil {
			t.Fatal(err)
		}
		_, _, err := rp.login(badge, webauthn.WithUserVerification(protocol.VerificationDiscouraged))
		if err != nil || rp.lastFlags.HasUserVerified() {
			t.Fatalf("login: %v, flags %08b; want success without UV", err, rp.lastFlags)
		}
	})
}

func TestExcludeCredentials(t *testing.T) {
	rp := newTestRP(t)
	ana := rp.user("ana")
	badge := newTestSoft(t, t.TempDir(), "ana", SoftOptions{})
	if _, err := rp.register(ana, badge); err != nil {
		t.Fatal(err)
	}
	exclude := webauthn.WithExclusions(webauthn.Credentials(ana.creds).CredentialDescriptors())
	if _, err := rp.register(ana, badge, exclude); !errors.Is(err, ErrCredentialExcluded) {
		t.Fatalf("same badge again: %v, want ErrCredentialExcluded", err)
	}
	other := newTestSoft(t, t.TempDir(), "ana2", SoftOptions{})
	if _, err := rp.register(ana, other, exclude); err != nil {
		t.Fatalf("second badge: %v", err)
	}
}
