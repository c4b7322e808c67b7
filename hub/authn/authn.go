package authn

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Defaults and limits.
const (
	// MaxChallengeTTL is the longest a login challenge may live (the design's
	// "≤ 60 s").
	MaxChallengeTTL = 60 * time.Second
	// DefaultRegistrationTTL is how long a pending registration waits for
	// the badge tap when Config.RegistrationTTL is zero.
	DefaultRegistrationTTL = 5 * time.Minute
	// MaxOutstandingChallenges is how many unused login challenges one
	// device may hold; fetching another evicts its oldest.
	MaxOutstandingChallenges = 4
)

// Sentinel errors. Every error FinishLogin, FinishRegistration and the
// Begin methods return for a refused ceremony wraps exactly one of them;
// compare with errors.Is and map to the kiosk with RefusalCode.
var (
	// ErrUnknownCredential: the credential is not registered, is suspended
	// or revoked, or its user is deleted. The kiosk cannot tell which.
	ErrUnknownCredential = errors.New("credential not recognised")
	// ErrChallenge: the challenge is unknown, already used, expired, or was
	// issued to another device; for a registration, no registration is
	// pending on the device or it expired.
	ErrChallenge = errors.New("challenge not valid")
	// ErrInvalid: the response is malformed or fails verification (bad
	// signature, origin, rpId hash, flags, attestation).
	ErrInvalid = errors.New("invalid webauthn response")
	// ErrCloned: the sign counter went backwards; the credential has been
	// suspended.
	ErrCloned = errors.New("sign counter regression: possible cloned key")
	// ErrNoCounter: the authenticator does not keep a sign counter (it
	// presents 0, and 0 is stored), so a copy of it could never be
	// detected: it is refused until it presents one.
	ErrNoCounter = errors.New("authenticator keeps no sign counter")
	// ErrAAGUIDNotAllowed: the badge model is not in the registration's
	// allow list.
	ErrAAGUIDNotAllowed = errors.New("authenticator model not allowed")
	// ErrAttestationUntrusted: the registration's allow list must be
	// proven (Config.AttestationRoots), and the attestation does not prove
	// the model: no certificate, none naming the AAGUID, or a chain to no
	// trusted root.
	ErrAttestationUntrusted = errors.New("authenticator model not proven by a trusted attestation")
	// ErrNotDiscoverable: the client reports (credProps rk false) that the
	// authenticator did not store the credential it made: no kiosk login,
	// which names no user, could ever find it.
	ErrNotDiscoverable = errors.New("credential is not discoverable")
	// ErrUserNotEligible: the user may not enroll a credential (deleted or
	// disabled).
	ErrUserNotEligible = errors.New("user not eligible for enrollment")
	// ErrDeviceNotActive: the kiosk was disabled (or removed) while the
	// ceremony ran; it may bind no credential.
	ErrDeviceNotActive = errors.New("device is not active")
)

// RefusalCode maps an error of this package to the agent/wire refusal
// reason the kiosk shows. It returns "" for nil and for errors that are not
// refusals (internal failures), which the caller answers with
// wire.ErrInternal instead.
func RefusalCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrCloned), errors.Is(err, ErrUnknownCredential), errors.Is(err, ErrUserNotEligible):
		return wire.RefusedNotRecognised
	case errors.Is(err, ErrChallenge):
		return wire.RefusedChallengeExpire
	case errors.Is(err, ErrInvalid):
		return wire.RefusedInvalid
	case errors.Is(err, ErrAAGUIDNotAllowed), errors.Is(err, ErrAttestationUntrusted), errors.Is(err, ErrNoCounter), errors.Is(err, ErrDeviceNotActive):
		return wire.RefusedNotAllowedHere
	}
	return ""
}

// Config configures an RP. RPID, RPDisplayName, Origin, Store and Audit are
// required.
type Config struct {
	// RPID is the WebAuthn relying party ID, the hub's host name or a parent
	// domain of it, e.g. "shiftgate.example".
	RPID string
	// RPDisplayName is shown by authenticators that display one.
	RPDisplayName string
	// Origin is the one origin kiosks put in clientDataJSON: the hub's public
	// URL, scheme://host[:port].
	Origin string
	Store  store.Store
	Audit  *audit.Log
	// Now is the clock for challenge expiry and stored times; time.Now if nil.
	Now func() time.Time
	// ChallengeTTL is the login challenge lifetime; wire.ChallengeTTL if
	// zero, at most MaxChallengeTTL.
	ChallengeTTL time.Duration
	// RegistrationTTL is how long a pending registration stays usable;
	// DefaultRegistrationTTL if zero.
	RegistrationTTL time.Duration
	// Suspend, when set, suspends a credential whose sign counter went
	// backwards (state suspended, reason as given, if it is active) and
	// writes the ActionCredentialSuspended audit record with detail, in
	// place of the RP's own transaction, which does only that. The hub's
	// lifecycle engine also ends the owner's live sessions in it and
	// pushes their revocations: the copy that signed in first may hold one.
	// A credential that is no longer active (revoked or suspended since the
	// login read it) is left alone, and Suspend returns an error wrapping
	// ErrUnknownCredential: the login is refused as not recognised.
	Suspend func(ctx context.Context, deviceID string, credentialID []byte, reason string, detail map[string]any) error
	// AttestationRoots, when set, are the attestation roots trusted to
	// vouch for authenticator models (the makers' roots, e.g. from the FIDO
	// Metadata Service). A registration with an AAGUID allow list then
	// asks for direct attestation and needs a packed attestation whose
	// certificate names the AAGUID and chains to one of them; without
	// them, the list is checked against the AAGUID the authenticator
	// claims. Registrations without a list take any attestation.
	AttestationRoots *x509.CertPool
	// Metadata, when set, is the FIDO Metadata Service BLOB (ParseMetadata;
	// RP.SetMetadata replaces it). A registration with an AAGUID allow list
	// then asks for direct attestation, and for a model the BLOB lists its
	// entry decides: the attestation must chain to the roots the maker
	// registered for that model, and no status report in effect may rule
	// it out (revoked, a compromised attestation key, a user verification
	// bypass). A model the BLOB does not list needs AttestationRoots.
	Metadata *Metadata
}

// RP is the relying party. It is safe for concurrent use.
type RP struct {
	wa     *webauthn.WebAuthn
	origin string
	st     store.Store
	log    *audit.Log
	now    func() time.Time
	ttl    time.Duration
	regTTL time.Duration
	chKey  []byte

	suspend  func(ctx context.Context, deviceID string, credentialID []byte, reason string, detail map[string]any) error
	roots    *x509.CertPool           // Config.AttestationRoots
	metadata atomic.Pointer[Metadata] // Config.Metadata, or the last SetMetadata

	mu        sync.Mutex
	logins    map[string]*pendingLogin // by challenge (base64url, unpadded)
	byDevice  map[string][]string      // device ID → its challenges, oldest first
	evicted   map[string]time.Time     // evicted challenges → their expiry, for error messages
	regs      map[string]*pendingReg   // by device ID
	lastPrune time.Time

	creds     credCache       // credentials as last seen, for logins (see credCache)
	loginOpts optionsTemplate // BeginLogin's options, but for the challenge
}

// New checks cfg, fills in defaults and returns an RP.
func New(cfg Config) (*RP, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if cfg.Audit == nil {
		errs = append(errs, errors.New("audit log is required"))
	}
	if cfg.RPID == "" {
		errs = append(errs, errors.New("RP ID is required"))
	}
	if cfg.RPDisplayName == "" {
		errs = append(errs, errors.New("RP display name is required"))
	}
	if cfg.Origin == "" {
		errs = append(errs, errors.New("origin is required"))
	}
	if cfg.ChallengeTTL == 0 {
		cfg.ChallengeTTL = wire.ChallengeTTL
	}
	if cfg.ChallengeTTL < 0 || cfg.ChallengeTTL > MaxChallengeTTL {
		errs = append(errs, fmt.Errorf("challenge TTL %v is outside (0, %v]", cfg.ChallengeTTL, MaxChallengeTTL))
	}
	if cfg.RegistrationTTL == 0 {
		cfg.RegistrationTTL = DefaultRegistrationTTL
	}
	if cfg.RegistrationTTL < 0 {
		errs = append(errs, fmt.Errorf("registration TTL %v is negative", cfg.RegistrationTTL))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("new relying party: %w", errors.Join(errs...))
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPDisplayName,
		RPOrigins:             []string{cfg.Origin},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		// Expiry is enforced here with the injected clock, not by
		// go-webauthn (which would read time.Now); the timeouts only tell
		// the client how long it has.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.RegistrationTTL, TimeoutUVD: cfg.RegistrationTTL},
		},
		// A synced passkey keeps its counter at zero, so a copy of it could
		// never be detected: kiosk badges must be device-bound.
		Filtering: &webauthn.FilteringConfig{ProhibitBackupEligibility: true},
	})
	if err != nil {
		return nil, fmt.Errorf("new relying party: %w", err)
	}
	key, err := newChallengeKey()
	if err != nil {
		return nil, fmt.Errorf("new relying party: %w", err)
	}
	rp := &RP{
		wa:       wa,
		origin:   cfg.Origin,
		st:       cfg.Store,
		log:      cfg.Audit,
		now:      cfg.Now,
		ttl:      cfg.ChallengeTTL,
		regTTL:   cfg.RegistrationTTL,
		chKey:    key,
		logins:   make(map[string]*pendingLogin),
		byDevice: make(map[string][]string),
		evicted:  make(map[string]time.Time),
		regs:     make(map[string]*pendingReg),
		suspend:  cfg.Suspend,
		roots:    cfg.AttestationRoots,
	}
	rp.metadata.Store(cfg.Metadata)
	rp.loginOpts = newOptionsTemplate(rp)
	return rp, nil
}

// SetMetadata replaces the FIDO metadata (Config.Metadata) for the
// registrations that begin from now on; nil removes it.
func (rp *RP) SetMetadata(m *Metadata) { rp.metadata.Store(m) }

// ProvesModels reports whether the RP can prove authenticator models
// (Config.AttestationRoots or FIDO metadata): then a credential whose
// model no attestation proved is stored with ModelUnproven, and a kiosk
// whose profile lists models must refuse it.
func (rp *RP) ProvesModels() bool { return rp.roots != nil || rp.metadata.Load() != nil }

// Metadata returns the FIDO metadata in use, or nil.
func (rp *RP) Metadata() *Metadata { return rp.metadata.Load() }

// verifyError wraps a go-webauthn verification error with ErrInvalid,
// keeping the library's developer detail (which says what failed) in the
// text; protocol.Error's own text is only its short description. The
// detail quotes what the client sent (the clientData type, origin or top
// origin: "Expected Values: …, Received: …"), and the error text goes into
// the hub log and, for a login, the audit trail: it is cut to
// maxDevInfo bytes, so that a kiosk cannot write a frame's worth into
// either with each refused login.
func verifyError(op string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%s: %w: %w (%s)", op, ErrInvalid, err, store.Clip(pe.DevInfo, maxDevInfo))
	}
	return fmt.Errorf("%s: %w: %w", op, ErrInvalid, err)
}

// maxDevInfo bounds the go-webauthn detail an error carries: its own part
// is a sentence, plus the RP's expected values.
const maxDevInfo = 512
