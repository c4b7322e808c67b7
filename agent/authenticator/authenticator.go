package authenticator

import (
	"context"
	"errors"
	"strconv"
)

// Authenticator is a FIDO2 authenticator as the kiosk's WebAuthn client sees it: the two CTAP2
// operations authenticatorMakeCredential and authenticatorGetAssertion, with the client data
// already hashed. Implementations wait for the user (touch, PIN, biometric) inside the call and
// MUST give up when ctx is done.
//
// Errors are wrapped sentinels of this package (ErrNoCredentials, ErrUVUnavailable, …); compare
// them with errors.Is.
type Authenticator interface {
	// MakeCredential creates a new credential for req.RPID and returns its attestation.
	MakeCredential(ctx context.Context, req CreateRequest) (CreateResult, error)
	// GetAssertion signs req.ClientDataHash with a credential of req.RPID.
	GetAssertion(ctx context.Context, req GetRequest) (GetResult, error)
}

// COSEAlgorithm is a COSE algorithm identifier (IANA "COSE Algorithms" registry), the value
// WebAuthn carries in pubKeyCredParams[].alg.
type COSEAlgorithm int64

// ES256 is ECDSA over P-256 with SHA-256, the one algorithm every FIDO2 authenticator supports
// and the only one Soft implements.
const ES256 COSEAlgorithm = -7

// UserVerification is what the relying party asks for in its userVerification member.
type UserVerification int

const (
	// UVPreferred verifies the user when the authenticator is able to. It is the zero value,
	// as "preferred" is WebAuthn's default.
	UVPreferred UserVerification = 0
	// UVRequired fails with ErrUVUnavailable when the authenticator cannot verify the user.
	UVRequired UserVerification = 1
	// UVDiscouraged asks for user presence only; the UV flag stays clear.
	UVDiscouraged UserVerification = 2
)

// String returns the WebAuthn spelling of v.
func (v UserVerification) String() string {
	switch v {
	case UVPreferred:
		return "preferred"
	case UVRequired:
		return "required"
	case UVDiscouraged:
		return "discouraged"
	default:
		return "UserVerification(" + strconv.Itoa(int(v)) + ")"
	}
}

// CreateRequest holds the parameters of authenticatorMakeCredential.
type CreateRequest struct {
	// RPID is the relying party identifier, e.g. "shiftgate.example"; its SHA-256 is the
	// rpIdHash in the authenticator data.
	RPID string
	// RPName is the relying party's display name (informational).
	RPName string
	// ClientDataHash is SHA-256(clientDataJSON), exactly 32 bytes.
	ClientDataHash []byte
	// UserHandle is the relying party's opaque user ID, 1 to 64 bytes. It is returned by
	// GetAssertion for discoverable credentials.
	UserHandle []byte
	// UserName and UserDisplayName are stored with a discoverable credential for account pickers.
	UserName        string
	UserDisplayName string
	// ExcludeCredentialIDs lists credentials the relying party already knows; if the
	// authenticator holds one of them for RPID, MakeCredential fails with ErrCredentialExcluded.
	ExcludeCredentialIDs [][]byte
	// ResidentKey asks for a discoverable (client-side resident) credential, which a login with
	// an empty allow list can find. An authenticator that cannot store one fails
	// (ErrResidentKeyUnsupported, ErrKeyStoreFull) unless ResidentKeyPreferred is set.
	ResidentKey bool
	// ResidentKeyPreferred, with ResidentKey, is WebAuthn's residentKey "preferred": an
	// authenticator that cannot store a discoverable credential at all makes a
	// non-discoverable one instead of failing, as a browser does. CreateResult.Discoverable
	// says which it made.
	ResidentKeyPreferred bool
	// UserVerification says whether the user must be verified.
	UserVerification UserVerification
	// Algorithms are the acceptable credential algorithms in the relying party's order of
	// preference; empty means ES256.
	Algorithms []COSEAlgorithm
}

// CreateResult is the output of authenticatorMakeCredential.
type CreateResult struct {
	// CredentialID is the new credential's ID, also found in the attested credential data.
	CredentialID []byte
	// AttestationObject is the CTAP2-canonical CBOR map {fmt, attStmt, authData}.
	AttestationObject []byte
	// Transports are the AuthenticatorTransport values the authenticator is reachable by,
	// e.g. "nfc".
	Transports []string
	// Discoverable reports whether the credential is resident (the credProps "rk" output).
	Discoverable bool
}

// GetRequest holds the parameters of authenticatorGetAssertion.
type GetRequest struct {
	// RPID is the relying party identifier.
	RPID string
	// ClientDataHash is SHA-256(clientDataJSON), exactly 32 bytes.
	ClientDataHash []byte
	// AllowCredentialIDs restricts the credentials that may answer. Empty means a
	// discoverable ("usernameless") login: any resident credential for RPID.
	AllowCredentialIDs [][]byte
	// UserVerification says whether the user must be verified.
	UserVerification UserVerification
}

// GetResult is the output of authenticatorGetAssertion.
type GetResult struct {
	// CredentialID identifies the credential that signed.
	CredentialID []byte
	// AuthenticatorData is rpIdHash ‖ flags ‖ signCount.
	AuthenticatorData []byte
	// Signature is the DER ECDSA signature over AuthenticatorData ‖ ClientDataHash.
	Signature []byte
	// UserHandle is the user handle stored with a discoverable credential; empty otherwise.
	UserHandle []byte
}

// Sentinel errors. They mirror the CTAP2 status codes a client reacts to.
var (
	// ErrNoCredentials means the authenticator holds no usable credential for the relying
	// party (CTAP2_ERR_NO_CREDENTIALS).
	ErrNoCredentials = errors.New("no credentials for this relying party")
	// ErrUVUnavailable means user verification was required but the authenticator has no
	// PIN or biometric configured (CTAP2_ERR_UNSUPPORTED_OPTION / PIN not set).
	ErrUVUnavailable = errors.New("user verification not available")
	// ErrCredentialExcluded means the authenticator already holds a credential from the
	// exclude list (CTAP2_ERR_CREDENTIAL_EXCLUDED): this badge is already registered.
	ErrCredentialExcluded = errors.New("credential excluded: authenticator already registered")
	// ErrUnsupportedAlgorithm means none of the requested algorithms is supported
	// (CTAP2_ERR_UNSUPPORTED_ALGORITHM).
	ErrUnsupportedAlgorithm = errors.New("no supported credential algorithm")
	// ErrInvalidRequest means a request parameter is malformed (CTAP1_ERR_INVALID_PARAMETER).
	ErrInvalidRequest = errors.New("invalid authenticator request")
	// ErrInvalidBadge means a soft badge file is unreadable or inconsistent.
	ErrInvalidBadge = errors.New("invalid badge file")
	// ErrInvalidName means a soft badge name is not a plain file name.
	ErrInvalidName = errors.New("invalid badge name")
	// ErrSecurity means the origin may not act for the relying party ID (the browser's
	// SecurityError): the client refuses before the authenticator is touched.
	ErrSecurity = errors.New("origin not allowed for relying party")
	// ErrInvalidOptions means the relying party's options JSON is malformed.
	ErrInvalidOptions = errors.New("invalid relying party options")
	// ErrResidentKeyUnsupported means a discoverable credential was required and the
	// authenticator cannot store one (no "rk" option, as U2F-only keys): a relying party whose
	// users sign in without typing a name cannot use it, so use another key.
	ErrResidentKeyUnsupported = errors.New("authenticator cannot store discoverable credentials")
	// ErrKeyStoreFull means the authenticator has no room left for another discoverable
	// credential (CTAP2_ERR_KEY_STORE_FULL): delete some of its credentials (e.g. with its
	// maker's tool or fido2-token -D), or use another key.
	ErrKeyStoreFull = errors.New("authenticator has no room for another discoverable credential")
	// ErrTouchTimeout means the authenticator gave up waiting for the user's touch
	// (CTAP2_ERR_USER_ACTION_TIMEOUT and the like): nobody touched it, nothing was signed.
	ErrTouchTimeout = errors.New("timed out waiting for a touch")
	// ErrBadgeLocked means a soft badge's directory stayed locked by another tap or process
	// (a kiosk sharing the soft:DIR) until the request's context ended: nothing was signed.
	ErrBadgeLocked = errors.New("badge directory locked by another tap or process")
)
