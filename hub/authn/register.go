package authn

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// ErrAlreadyRegistered: the attestation carries a credential the
// enrollment's user already holds (the authenticator ignored the exclude
// list). A credential ID another user holds is ErrInvalid instead: the
// kiosk must not learn that it exists.
var ErrAlreadyRegistered = errors.New("credential already registered for the user")

// RegistrationRefusal maps an error of FinishRegistration to the agent/wire
// registration refusal code (wire.ErrEnrollmentExpired and friends) and the
// message for the kiosk: safe to show, saying what to do, and saying
// nothing of users other than the enrollment's own. ok is false for an
// error that is no refusal (a store failure), which the caller answers
// with wire.ErrInternal. Either way the enrollment is over.
func RegistrationRefusal(err error) (code, message string, ok bool) {
	const again = "ask the supervisor to start the enrollment again"
	switch {
	case err == nil:
		return "", "", false
	case errors.Is(err, ErrChallenge), errors.Is(err, ErrUserNotEligible):
		// A user who may no longer enroll withdrew the enrollment: the
		// kiosk already knows the name, and is told no more.
		return wire.ErrEnrollmentExpired, "no enrollment is pending for this kiosk (it expired, was replaced or was withdrawn): " + again, true
	case errors.Is(err, ErrAAGUIDNotAllowed):
		return wire.ErrModelNotAllowed, "this key's model is not allowed on this kiosk: " + again + " and use a key of an allowed model", true
	case errors.Is(err, ErrAttestationUntrusted):
		return wire.ErrAttestationUntrusted, "this kiosk allows only some key models, and this key's attestation does not prove its model: " + again + " and use a key of an allowed model", true
	case errors.Is(err, ErrNotDiscoverable):
		return wire.ErrNotDiscoverable, "this key did not store the credential it made, so it could never sign in without a user name: " + again + " and use a key that stores its credentials (a passkey, a resident key) and has room for another", true
	case errors.Is(err, ErrAlreadyRegistered):
		return wire.ErrAlreadyRegistered, "this key is already registered for this user: to register another key, " + again, true
	case errors.Is(err, ErrInvalid):
		return wire.ErrInvalidAttestation, "the key's answer could not be verified: " + again + " and try the key again, or another key", true
	case errors.Is(err, ErrDeviceNotActive):
		return wire.ErrState, "this kiosk is disabled", true
	}
	return "", "", false
}

// pendingReg is a registration waiting for the badge tap on one device.
type pendingReg struct {
	userID  string
	session webauthn.SessionData
	allowed [][]byte
	attest  bool // the allow list must be proven by attestation
	prove   bool // the hub could prove models: a model no attestation proves is recorded as claimed only
	expires time.Time
	start   wire.EnrollStart // the push that asked the kiosk for the tap
	may     MayRegister      // nil: whoever armed it may enroll any user
}

// MayRegister tells, inside the transaction that stores a credential,
// whether the one who armed the registration may still enroll a badge
// for user u as that transaction reads it: nil when it may, else why not
// (FinishRegistration refuses with ErrUserNotEligible wrapping it). The
// console's supervisors enroll badges only for workers of their own
// sites; the badge is registered at the tap, minutes after the arming,
// and a worker moved to another site by the identity provider in between
// must not get a badge from a supervisor no longer theirs.
type MayRegister func(ctx context.Context, tx store.Ops, u store.User) error

// BeginRegistration prepares the registration of a new credential for u at
// deviceID and returns the enroll.start push for that device. The caller
// has checked that the registration is authorised. A registration already
// pending on the device is replaced. allowedAAGUIDs, if not empty, lists the
// authenticator models (16-byte AAGUIDs) FinishRegistration accepts.
//
// It reads the user's credentials, to exclude the active ones: a badge
// already registered for u refuses to register again.
func (rp *RP) BeginRegistration(ctx context.Context, deviceID string, u store.User, allowedAAGUIDs [][]byte) (wire.EnrollStart, error) {
	return rp.BeginRegistrationIf(ctx, deviceID, u, allowedAAGUIDs, nil)
}

// BeginRegistrationIf is BeginRegistration with may (nil: no check) asked
// again, about the user as read there, inside the transaction in which
// FinishRegistration stores the credential.
func (rp *RP) BeginRegistrationIf(ctx context.Context, deviceID string, u store.User, allowedAAGUIDs [][]byte, may MayRegister) (wire.EnrollStart, error) {
	if u.State == store.UserDeleted || u.State == store.UserDisabled {
		return wire.EnrollStart{}, fmt.Errorf("begin registration for user %s on device %s: %w: user is %s", u.ID, deviceID, ErrUserNotEligible, u.State)
	}
	creds, err := rp.st.ListCredentials(ctx, u.ID)
	if err != nil {
		return wire.EnrollStart{}, fmt.Errorf("begin registration for user %s on device %s: %w", u.ID, deviceID, err)
	}
	var exclude []protocol.CredentialDescriptor
	for i := range creds {
		if creds[i].State == store.CredentialActive {
			exclude = append(exclude, descriptor(&creds[i]))
		}
	}
	// An allow list is only as good as the proof of the model: with
	// trusted roots or FIDO metadata, ask for the authenticator's
	// attestation as it is (a client may otherwise replace it with
	// "none").
	prove := rp.ProvesModels()
	attest := len(allowedAAGUIDs) > 0 && prove
	conveyance := protocol.PreferNoAttestation
	if prove {
		// Also on a kiosk that lists no models: the credential may be
		// used on one that does, which takes only a proven model.
		conveyance = protocol.PreferDirectAttestation
	}
	creation, session, err := rp.wa.BeginRegistration(&user{u: &u},
		webauthn.WithExclusions(exclude),
		// Kiosk logins name no user: only a discoverable credential can
		// sign in. credProps has the client say whether it got one, for
		// FinishRegistration to refuse one that is not.
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
		webauthn.WithConveyancePreference(conveyance),
	)
	if err != nil {
		return wire.EnrollStart{}, fmt.Errorf("begin registration for user %s on device %s: %w", u.ID, deviceID, err)
	}
	opts, err := json.Marshal(creation)
	if err != nil {
		return wire.EnrollStart{}, fmt.Errorf("begin registration for user %s on device %s: marshal options: %w", u.ID, deviceID, err)
	}
	allowed := make([][]byte, len(allowedAAGUIDs))
	for i, a := range allowedAAGUIDs {
		allowed[i] = bytes.Clone(a)
	}
	start := wire.EnrollStart{User: u.UserName, Options: opts, Origin: rp.origin}
	now := rp.now()
	rp.mu.Lock()
	rp.pruneLocked(now)
	rp.regs[deviceID] = &pendingReg{userID: u.ID, session: *session, allowed: allowed, attest: attest, prove: prove, expires: now.Add(rp.regTTL), start: start, may: may}
	rp.mu.Unlock()
	return start, nil
}

// PendingEnrollment returns the enroll.start of the registration pending
// on deviceID, if one is and it has not expired: a kiosk whose channel
// dropped before the tap is asked again when it is back.
func (rp *RP) PendingEnrollment(deviceID string) (wire.EnrollStart, bool) {
	now := rp.now()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	p := rp.regs[deviceID]
	if p == nil || !now.Before(p.expires) {
		return wire.EnrollStart{}, false
	}
	return p.start, true
}

// CancelRegistration drops the registration pending on deviceID if it is
// the one start came from (a newer one is left alone): its push never
// reached the kiosk, and the caller told the one who asked so. It must
// not come back when the kiosk connects.
func (rp *RP) CancelRegistration(deviceID string, start wire.EnrollStart) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if p := rp.regs[deviceID]; p != nil && bytes.Equal(p.start.Options, start.Options) {
		delete(rp.regs, deviceID)
	}
}

// FinishRegistration verifies the PublicKeyCredential JSON of an
// attestation sent by deviceID for its pending registration, and stores the
// new active credential with a credential.registered audit record in one
// transaction, which refuses (ErrDeviceNotActive, ErrUserNotEligible) a
// kiosk disabled or a user disabled or deleted during the ceremony, or a
// user the registration's MayRegister refuses. The pending registration
// is consumed whatever the outcome.
func (rp *RP) FinishRegistration(ctx context.Context, deviceID string, credentialJSON []byte) (store.Credential, error) {
	c, _, err := rp.FinishRegistrationWithUser(ctx, deviceID, credentialJSON)
	return c, err
}

// FinishRegistrationWithUser is FinishRegistration that also returns the
// credential's user as the transaction that stored the credential read
// it. The kiosk is answered with the user's name: read again after the
// commit, a store busy past its timeout would make the answer an error
// although the badge is registered, and the worker, told to try again,
// would be refused as already registered.
func (rp *RP) FinishRegistrationWithUser(ctx context.Context, deviceID string, credentialJSON []byte) (store.Credential, store.User, error) {
	c, u, err := rp.finishRegistration(ctx, deviceID, credentialJSON)
	if err != nil {
		return store.Credential{}, store.User{}, fmt.Errorf("finish registration on device %s: %w", deviceID, err)
	}
	return c, u, nil
}

func (rp *RP) finishRegistration(ctx context.Context, deviceID string, credentialJSON []byte) (store.Credential, store.User, error) {
	now := rp.now()
	rp.mu.Lock()
	p := rp.regs[deviceID]
	delete(rp.regs, deviceID)
	rp.mu.Unlock()
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credentialJSON)
	switch {
	case err != nil:
		return store.Credential{}, store.User{}, verifyError("parse attestation", err)
	case p == nil:
		return store.Credential{}, store.User{}, fmt.Errorf("%w: no registration pending", ErrChallenge)
	case !now.Before(p.expires):
		return store.Credential{}, store.User{}, fmt.Errorf("%w: registration expired at %s", ErrChallenge, p.expires.UTC().Format(time.RFC3339Nano))
	case strings.TrimRight(parsed.Response.CollectedClientData.Challenge, "=") != p.session.Challenge:
		return store.Credential{}, store.User{}, fmt.Errorf("%w: attestation answers another challenge than the pending registration's", ErrChallenge)
	}

	u, err := rp.st.GetUser(ctx, p.userID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, store.User{}, fmt.Errorf("%w: user %s does not exist", ErrUserNotEligible, p.userID)
	}
	if err != nil {
		return store.Credential{}, store.User{}, err
	}
	if u.State == store.UserDeleted || u.State == store.UserDisabled {
		return store.Credential{}, store.User{}, fmt.Errorf("%w: user %s is %s", ErrUserNotEligible, u.ID, u.State)
	}

	wc, err := rp.wa.CreateCredential(&user{u: &u}, p.session, parsed)
	if err != nil {
		return store.Credential{}, store.User{}, verifyError("verify attestation", err)
	}
	switch protocol.AttestationFormat(wc.AttestationFormat) {
	case protocol.AttestationFormatNone, protocol.AttestationFormatPacked:
	default:
		return store.Credential{}, store.User{}, fmt.Errorf("%w: attestation format %q is not accepted (none or packed)", ErrInvalid, wc.AttestationFormat)
	}
	if err := checkPublicKey(wc.PublicKey); err != nil {
		return store.Credential{}, store.User{}, fmt.Errorf("%w: credential %s: %w", ErrInvalid, b64(wc.ID), err)
	}
	if rk := wc.Extensions.RK; rk != nil && !*rk {
		// Stored, it would be a credential no kiosk login (no allow list)
		// could ever find: the enroller would learn it only at the first
		// tap. A client that does not say (an older agent, a browser
		// without credProps) is trusted to have honoured "required", as
		// WebAuthn clients must.
		return store.Credential{}, store.User{}, fmt.Errorf("%w: credential %s: the client reports credProps rk false", ErrNotDiscoverable, b64(wc.ID))
	}
	aaguid := wc.Authenticator.AAGUID
	if len(p.allowed) > 0 && !slices.ContainsFunc(p.allowed, func(a []byte) bool { return bytes.Equal(a, aaguid) }) {
		return store.Credential{}, store.User{}, fmt.Errorf("%w: AAGUID %s", ErrAAGUIDNotAllowed, aaguidString(aaguid))
	}
	var (
		proof    *modelProof
		unproven string // why the model is only claimed
	)
	if p.attest {
		if proof, err = rp.verifyModel(&parsed.Response.AttestationObject, aaguid, now); err != nil {
			return store.Credential{}, store.User{}, fmt.Errorf("%w: AAGUID %s: %w", ErrAttestationUntrusted, aaguidString(aaguid), err)
		}
	} else if p.prove {
		// No allow list here, so nothing is refused; but a kiosk whose
		// profile lists models must not take the claim for a proof.
		if proof, err = rp.verifyModel(&parsed.Response.AttestationObject, aaguid, now); err != nil {
			proof, unproven = nil, err.Error()
		}
	}

	c := store.Credential{
		ID:        wc.ID,
		UserID:    u.ID,
		PublicKey: wc.PublicKey,
		AAGUID:    aaguid,
		SignCount: wc.Authenticator.SignCount,
		State:     store.CredentialActive,
		Created:   now,
		// Only where the hub could have proven it: without a proof
		// source every kiosk takes the claim (and credentials registered
		// before one was set keep working, as documented).
		ModelUnproven: p.prove && proof == nil,
	}
	var owner store.User // the user as the transaction that stores the credential reads it
	err = rp.st.InTx(ctx, func(tx store.Ops) error {
		// The kiosk may have been disabled during the ceremony: its
		// channel stays open a moment after (for the revocations), and a
		// disabled, perhaps stolen, kiosk must not bind a badge of its
		// choosing to the user. Checked in the transaction that stores
		// the credential, as a certificate renewal checks it.
		d, err := tx.GetDevice(ctx, deviceID)
		if errors.Is(err, store.ErrNotFound) || err == nil && d.State != store.DeviceActive {
			return fmt.Errorf("%w: device %s", ErrDeviceNotActive, deviceID)
		}
		if err != nil {
			return err
		}
		// So may the user have left (a leaver revokes every credential
		// of the user in its own transaction, which could not see this
		// one): checked again here, or the badge would stay active for
		// a disabled user, and sign a re-hire in without enrolling.
		cur, err := tx.GetUser(ctx, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: user %s does not exist", ErrUserNotEligible, u.ID)
		}
		if err != nil {
			return err
		}
		if cur.State == store.UserDeleted || cur.State == store.UserDisabled {
			return fmt.Errorf("%w: user %s became %s during the registration", ErrUserNotEligible, u.ID, cur.State)
		}
		// And whoever armed the registration may no longer enroll the
		// user (a supervisor whose sites the user has left): asked here,
		// on the user as this transaction reads it.
		if p.may != nil {
			if err := p.may(ctx, tx, cur); err != nil {
				return fmt.Errorf("%w: user %s: %w", ErrUserNotEligible, u.ID, err)
			}
		}
		if c, err = tx.CreateCredential(ctx, c); err != nil {
			return err
		}
		owner = cur
		_, err = rp.log.Append(ctx, tx, audit.Entry{
			Actor:   "agent:" + deviceID,
			Action:  ActionCredentialRegistered,
			Subject: "user:" + u.ID,
			System:  auditSystem,
			Detail:  registeredDetail(c.ID, aaguid, wc.AttestationFormat, proof, unproven, wc.Flags.UserVerified, deviceID),
		})
		return err
	})
	// (c is the zero value when CreateCredential failed: the ID is wc's.)
	if errors.Is(err, store.ErrConflict) {
		// Whose is it? The user's own may be named to the kiosk; anybody
		// else's must look like any other bad attestation.
		old, gerr := rp.st.GetCredential(ctx, wc.ID)
		switch {
		case gerr == nil && old.UserID == u.ID:
			return store.Credential{}, store.User{}, fmt.Errorf("%w: credential %s (%s): %w", ErrAlreadyRegistered, b64(wc.ID), old.State, err)
		case gerr == nil:
			return store.Credential{}, store.User{}, fmt.Errorf("%w: credential %s is already registered to another user: %w", ErrInvalid, b64(wc.ID), err)
		}
		return store.Credential{}, store.User{}, fmt.Errorf("%w: credential %s is already registered (its owner could not be read: %v): %w", ErrInvalid, b64(wc.ID), gerr, err)
	}
	if err != nil {
		return store.Credential{}, store.User{}, fmt.Errorf("store credential %s: %w", b64(wc.ID), err)
	}
	return c, owner, nil
}

// MaxPublicKeyLength bounds a credential's public key (its COSE
// encoding). The keys authenticators make are far shorter: ES256 77
// bytes, EdDSA 42, RS256 of 2048 bits 272, of 4096 bits 528. Every login
// reads and parses the key, and the signature check of an RSA key costs
// the hub time that grows with the square of its modulus (seconds for one
// of 30 KB, which a registration frame can carry); this bound keeps it
// under a few milliseconds.
const MaxPublicKeyLength = 1024

// checkPublicKey refuses a credential public key no login could verify,
// or longer than MaxPublicKeyLength. With attestation "none" nothing at
// registration uses the key (go-webauthn stores it as the authenticator
// data carries it): a key that does not parse, a point off its curve,
// would make a badge registered as working that fails at its first tap.
// The error does not quote the key.
func checkPublicKey(cose []byte) error {
	if len(cose) > MaxPublicKeyLength {
		return fmt.Errorf("public key of %d bytes is longer than the %d allowed", len(cose), MaxPublicKeyLength)
	}
	if _, err := webauthncose.ParsePublicKey(cose); err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	return nil
}

func aaguidString(b []byte) string {
	if id, err := uuid.FromBytes(b); err == nil {
		return id.String()
	}
	return fmt.Sprintf("%x", b)
}

// ForgetDevice drops what deviceID has pending, its registration and its
// login challenges: the kiosk was disabled.
func (rp *RP) ForgetDevice(deviceID string) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	delete(rp.regs, deviceID)
	for _, ch := range rp.byDevice[deviceID] {
		delete(rp.logins, ch)
	}
	delete(rp.byDevice, deviceID)
}

// registeredDetail is the detail of a credential.registered audit record.
// model_attested says whether a trusted attestation proved the AAGUID;
// when it did, attestation_certificate is the certificate's subject and
// model_proven_by what vouched for it ("fido-metadata", with the model's
// name as its metadata statement gives it and the BLOB's serial number,
// or "attestation-roots").
func registeredDetail(id, aaguid []byte, format string, proof *modelProof, unproven string, uv bool, deviceID string) map[string]any {
	d := map[string]any{
		"credential_id":  b64(id),
		"aaguid":         aaguidString(aaguid),
		"attestation":    format,
		"model_attested": proof != nil,
		"user_verified":  uv,
		"device":         deviceID,
	}
	if unproven != "" {
		d["model_unproven"] = unproven
	}
	if proof != nil {
		d["attestation_certificate"] = proof.cert.Subject.String()
		d["model_proven_by"] = proof.by
		if proof.by == provenByMetadata {
			d["model"] = proof.model
			d["fido_metadata_no"] = proof.blob
		}
	}
	return d
}

// oidFIDOAAGUID is id-fido-gen-ce-aaguid, the extension of an attestation
// certificate that names the authenticator model (WebAuthn §8.2.1).
var oidFIDOAAGUID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}

// Where a model's proof came from (modelProof.by).
const (
	provenByMetadata = "fido-metadata"
	provenByRoots    = "attestation-roots"
)

// modelProof is what proved a registration's authenticator model.
type modelProof struct {
	cert  *x509.Certificate // the attestation certificate
	by    string            // provenByMetadata or provenByRoots
	model string            // the metadata statement's description
	blob  int               // the metadata BLOB's serial number
}

// verifyModel checks that att proves the authenticator model aaguid: a
// packed attestation with a certificate chain (go-webauthn has verified
// its signature over the registration with the first certificate, and that
// certificate's requirements) whose first certificate names aaguid in the
// FIDO extension. Self attestation proves only that the credential's key
// signed. Then, when the FIDO metadata (Config.Metadata) lists the model,
// its entry decides (Metadata.check: the chain ends at the maker's roots,
// no status report rules the model out); otherwise the chain must end at
// one of Config.AttestationRoots at now.
func (rp *RP) verifyModel(att *protocol.AttestationObject, aaguid []byte, now time.Time) (*modelProof, error) {
	if protocol.AttestationFormat(att.Format) != protocol.AttestationFormatPacked {
		return nil, fmt.Errorf("attestation format %q carries no certificate", att.Format)
	}
	raw, _ := att.AttStatement["x5c"].([]any)
	if len(raw) == 0 {
		return nil, errors.New("self attestation: no certificate vouches for the model")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		der, ok := r.([]byte)
		if !ok {
			return nil, fmt.Errorf("x5c[%d] is not a certificate", i)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("x5c[%d]: %w", i, err)
		}
		certs[i] = c
	}
	leaf := certs[0]
	var named []byte
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(oidFIDOAAGUID) {
			if rest, err := asn1.Unmarshal(ext.Value, &named); err != nil || len(rest) > 0 {
				return nil, errors.New("the attestation certificate's AAGUID extension is malformed")
			}
		}
	}
	if named == nil {
		// One certificate for several models: it cannot say which.
		return nil, fmt.Errorf("the attestation certificate %q names no AAGUID", leaf.Subject)
	}
	if !bytes.Equal(named, aaguid) {
		return nil, fmt.Errorf("the attestation certificate names AAGUID %s", aaguidString(named))
	}
	if md := rp.metadata.Load(); md != nil && md.Lists(aaguid) {
		if err := md.check(att, aaguid); err != nil {
			return nil, err
		}
		return &modelProof{cert: leaf, by: provenByMetadata, model: md.Describe(aaguid), blob: md.Number}, nil
	}
	if rp.roots == nil {
		return nil, errors.New("the FIDO metadata does not list this model, and no other attestation roots are trusted")
	}
	intermediates := x509.NewCertPool()
	for _, c := range certs[1:] {
		intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         rp.roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, fmt.Errorf("the attestation certificate %q: %w", leaf.Subject, err)
	}
	return &modelProof{cert: leaf, by: provenByRoots}, nil
}
