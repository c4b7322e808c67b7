// Package wire is the device channel protocol between a kiosk agent and the
// hub: the only code the two sides share.
//
// The channel is one WebSocket at /agent/v1/ws over mutual TLS (the kiosk's
// device certificate). Every message is one JSON text frame holding an
// Envelope. Requests carry an ID; the answer carries the same ID in Re.
// Pushes from the hub (session.revoke, enroll.start) carry their own ID and
// are acknowledged by the agent with Re set to it. Unknown types are
// answered with an error message and logged; they never end the channel.
//
// Limits: a frame is at most MaxMessageBytes; the hub pings every
// PingInterval and drops a connection silent for PongWait.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Version is the protocol version in every envelope. A peer refuses
// envelopes of another major version with an error message.
const Version = 1

// Channel limits and timings.
const (
	MaxMessageBytes = 64 << 10
	PingInterval    = 15 * time.Second
	PongWait        = 40 * time.Second
	WriteWait       = 5 * time.Second
	// ChallengeTTL is how long a login challenge stays valid (≤ 60 s).
	ChallengeTTL = 60 * time.Second
)

// Paths on the hub.
const (
	EnrollPath = "/agent/v1/enroll"
	WSPath     = "/agent/v1/ws"
)

// Message types. Agent → hub unless noted.
const (
	TypeHello            = "hello"             // first message: profile, live session
	TypeWelcome          = "welcome"           // hub → agent: answer to hello
	TypeChallengeRequest = "challenge.request" // ask for a login challenge
	TypeChallenge        = "challenge"         // hub → agent: WebAuthn request options
	TypeLogin            = "login"             // a signed assertion
	TypeSessionGrant     = "session.grant"     // hub → agent: login accepted
	TypeLoginRefused     = "login.refused"     // hub → agent: login refused
	TypeEnrollStart      = "enroll.start"      // hub → agent push: next tap registers a credential
	TypeRegister         = "register"          // the attestation for enroll.start
	TypeRegistered       = "credential.registered"
	TypeSessionEnd       = "session.end"    // the agent ended a session (signout, idle, expired)
	TypeSessionRevoke    = "session.revoke" // hub → agent push: end this session now
	TypeSessionExtend    = "session.extend" // hub → agent push: the live session's expiry moved (optional)
	TypeAck              = "ack"            // answer that carries no data
	TypeCertRenew        = "cert.renew"     // a CSR for a fresh device certificate
	TypeCert             = "cert"           // hub → agent: the new certificate
	TypeCleanupReport    = "cleanup.report" // the kiosk's start-up clean-up is failing, or no longer (CleanupReport)
	TypeError            = "error"          // either way: the request could not be handled
)

// Envelope is one message on the channel.
type Envelope struct {
	V    int             `json:"v"`
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"` // set on requests and pushes
	Re   string          `json:"re,omitempty"` // the ID this answers
	Data json.RawMessage `json:"data,omitempty"`
}

// Hello opens the channel.
type Hello struct {
	AgentVersion string `json:"agent_version"`
	Profile      string `json:"profile"`
	// LiveSession is the session the kiosk has open, if any: the hub
	// answers with its verdict (Welcome.Revoke) so a revocation that
	// happened while the kiosk was offline is applied at once.
	LiveSession string `json:"live_session,omitempty"`
	// Ended names the sessions the kiosk has ended whose session.end
	// reports are still queued: they follow the welcome, with their
	// reasons. At most MaxHelloEnded.
	Ended []string `json:"ended,omitempty"`
	// Complete says that LiveSession and Ended name every session of this
	// kiosk that the hub may still hold live: the hub ends any other as
	// never opened (ReasonNotOpened). Its grant was lost with a channel
	// that dropped, so the kiosk never had it. Agents from before this
	// field leave it false, and the hub then ends nothing.
	Complete bool `json:"complete,omitempty"`
}

// MaxHelloEnded is the most sessions a hello may name in Ended. A kiosk
// with more reports queued sends an incomplete hello.
const MaxHelloEnded = 64

// Welcome answers Hello.
type Welcome struct {
	DeviceID   string    `json:"device_id"`
	DeviceName string    `json:"device_name"`
	Site       string    `json:"site"`
	ServerTime time.Time `json:"server_time"`
	// Revoke is set when LiveSession must end; it is acknowledged like a
	// SessionRevoke push.
	Revoke *SessionRevoke `json:"revoke,omitempty"`
	// Extend, when LiveSession may go on, carries its expiry as the hub
	// has it now (a shift extended or shortened while the kiosk was
	// offline). Optional; applied like a SessionExtend push, not acked.
	Extend *SessionExtend `json:"extend,omitempty"`
}

// Challenge carries WebAuthn PublicKeyCredentialRequestOptions (usernameless:
// empty allow list) as go-webauthn serialises them, bound to this channel.
type Challenge struct {
	Options   json.RawMessage `json:"options"`
	Origin    string          `json:"origin"` // the origin the agent puts in clientDataJSON
	ExpiresAt time.Time       `json:"expires_at"`
}

// Login carries the PublicKeyCredential JSON of an assertion.
type Login struct {
	Credential json.RawMessage `json:"credential"`
}

// SessionGrant is an accepted login.
type SessionGrant struct {
	SessionID   string    `json:"session_id"`
	User        string    `json:"user"` // userName
	DisplayName string    `json:"display_name,omitempty"`
	Role        string    `json:"role"`
	Apps        []string  `json:"apps"`
	ExpiresAt   time.Time `json:"expires_at"`
	// ExpiryReason is the session-end reason the agent reports when it
	// ends the session at ExpiresAt: ReasonShiftEnd when the shift bounds
	// it, ReasonExpired otherwise (and when empty).
	ExpiryReason string `json:"expiry_reason,omitempty"`
	// WarnSeconds are how many seconds before ExpiresAt the agent warns
	// the user (session.warning), e.g. [600, 120]. Optional: without it
	// the agent uses its own warning lead.
	WarnSeconds []int `json:"warn_seconds,omitempty"`
	// NextChallenge is the kiosk's next login challenge, so that the
	// next tap needs no challenge.request first (optional).
	NextChallenge *Challenge `json:"next_challenge,omitempty"`
}

// Refusal reasons shown to the agent. They say what to do without saying
// whether a user exists.
const (
	RefusedNotRecognised   = "not_recognised"   // unknown, revoked or suspended credential; or no such user
	RefusedNotAllowedHere  = "not_allowed_here" // no access at this kiosk's site or with this profile
	RefusedOutsideShift    = "outside_shift"
	RefusedVerifyRequired  = "verification_required" // the role needs a PIN or biometric
	RefusedChallengeExpire = "challenge_expired"
	RefusedInvalid         = "invalid_assertion"
)

// LoginRefused is a refused login.
type LoginRefused struct {
	Reason string `json:"reason"`
	// NextChallenge: as in SessionGrant (optional).
	NextChallenge *Challenge `json:"next_challenge,omitempty"`
}

// EnrollStart tells the kiosk that its next tap registers a credential.
type EnrollStart struct {
	User    string          `json:"user"`    // userName
	Options json.RawMessage `json:"options"` // PublicKeyCredentialCreationOptions
	Origin  string          `json:"origin"`
}

// Register carries the PublicKeyCredential JSON of an attestation.
type Register struct {
	Credential json.RawMessage `json:"credential"`
}

// Registered confirms a new credential.
type Registered struct {
	User string `json:"user"`
}

// Session end reasons (agent events and hub records).
const (
	ReasonSignout            = "signout"
	ReasonIdle               = "idle"
	ReasonShiftEnd           = "shift_end"
	ReasonExpired            = "expired"
	ReasonDeprovisioned      = "deprovisioned"
	ReasonEntitlementRemoved = "entitlement_removed"
	ReasonForced             = "forced"
	ReasonCredentialRevoked  = "credential_revoked"
	ReasonDeviceDisabled     = "device_disabled"
	// ReasonOffline: the kiosk ended the session because the hub had been
	// out of reach longer than its profile's offlineGrace.
	ReasonOffline = "offline"
	// ReasonNotOpened: the kiosk never opened the session. Its grant came
	// after the login had given up, or was lost with a channel that
	// dropped, and the kiosk's next hello did not name it.
	ReasonNotOpened = "not_opened"
)

// KnownReason reports whether r is one of the session end reasons above.
func KnownReason(r string) bool {
	switch r {
	case ReasonSignout, ReasonIdle, ReasonShiftEnd, ReasonExpired, ReasonDeprovisioned,
		ReasonEntitlementRemoved, ReasonForced, ReasonCredentialRevoked, ReasonDeviceDisabled, ReasonOffline, ReasonNotOpened:
		return true
	}
	return false
}

// SessionEnd reports a session the agent ended by itself.
type SessionEnd struct {
	SessionID string `json:"session_id"`
	Reason    string `json:"reason"`
}

// SessionRevoke orders the agent to end a session now; the agent tears it
// down and then answers with an Ack whose Re is the push's ID.
type SessionRevoke struct {
	SessionID string `json:"session_id"`
	Reason    string `json:"reason"`
}

// AppendJSON appends r as json.Marshal writes it, without reflection: a
// mass revoke encodes ten thousand at once.
func (r SessionRevoke) AppendJSON(b []byte) []byte {
	b = append(b, `{"session_id":`...)
	b = appendString(b, r.SessionID)
	b = append(b, `,"reason":`...)
	b = appendString(b, r.Reason)
	return append(b, '}')
}

// SessionExtend moves the live session's expiry, later (a supervisor
// extended the shift) or earlier (the shift was cut short). The agent
// re-arms its warning and expiry timers and acks; a SessionExtend for a
// session that is not open there is acked and ignored.
type SessionExtend struct {
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
	// ExpiryReason replaces SessionGrant.ExpiryReason when set.
	ExpiryReason string `json:"expiry_reason,omitempty"`
}

// CleanupReport tells the hub that the kiosk's start-up clean-up of what
// an earlier run of the agent left (a crashed run's session apps and
// files) is failing, or, with Failing false, that a try has succeeded
// after failed ones. While it fails the kiosk stays locked and signs
// nobody in, and the last worker's programs or files may have survived: a
// hub that is not told shows a healthy kiosk. The hub answers with an ack;
// a hub from before this message answers ErrUnknownType, which tells the
// kiosk that it cannot record it, not that anything failed.
//
// An agent reports the first failed try of an episode, then at most one
// report per interval while it keeps failing, the current state again
// after each (re)connection, and the success that ends the episode.
type CleanupReport struct {
	Failing bool `json:"failing"`
	// Try is the number of the latest failed try of the episode (1 for
	// the first); with Failing false, how many tries failed before the
	// one that succeeded. At least 1, at most MaxCleanupTry.
	Try int `json:"try"`
	// Since is when the episode's first try failed, by the kiosk's clock.
	Since time.Time `json:"since"`
	// Reason is the latest failure, cut short to at most MaxCleanupReason
	// bytes (empty with Failing false).
	Reason string `json:"reason,omitempty"`
	// SessionID is the leftover session the failed try was cleaning up,
	// when the failure names one (a valid session ID, at most
	// MaxCleanupSessionID bytes).
	SessionID string `json:"session_id,omitempty"`
}

// Limits of a CleanupReport's fields, as it goes into the hub's audit
// trail: the hub refuses a report whose try or session ID is past them
// (ErrBadMessage), and cuts a longer reason short.
const (
	MaxCleanupReason    = 512
	MaxCleanupSessionID = 128
	MaxCleanupTry       = 1 << 30
)

// ValidSessionID reports whether id can name a kiosk session as the
// agent's session manager names its directories after it: 1 to
// MaxCleanupSessionID characters of [A-Za-z0-9._-], not starting with '.'
// or '-' (so never "." or ".."). The hub checks a session ID a kiosk
// reports (CleanupReport) by the same rule.
func ValidSessionID(id string) bool {
	if id == "" || len(id) > MaxCleanupSessionID || id[0] == '.' || id[0] == '-' {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// CertRenew carries a PEM CSR for a new device certificate.
type CertRenew struct {
	CSR []byte `json:"csr"` // DER
}

// Cert carries the renewed device certificate.
type Cert struct {
	Cert []byte `json:"cert"` // DER
}

// Error codes.
const (
	ErrBadMessage  = "bad_message"
	ErrUnknownType = "unknown_type"
	ErrVersion     = "unsupported_version"
	ErrState       = "bad_state" // e.g. the kiosk is disabled
	ErrInternal    = "internal"
)

// Registration refusals: the codes of the error answering a register, so
// the kiosk can tell the worker what to do. Whatever the code, the hub has
// dropped the enrollment: a new one must be authorised. They say nothing
// about users other than the enrollment's own. An agent treats an error
// code it does not know (an older hub answers bad_state) as a refusal; a
// hub may add codes.
const (
	// ErrEnrollmentExpired: no enrollment is pending for this kiosk: it
	// expired, a newer one replaced it, it was withdrawn, or none was sent.
	ErrEnrollmentExpired = "enrollment_expired"
	// ErrModelNotAllowed: the key's model (its AAGUID) is not allowed on
	// this kiosk's hardware profile (allowedAAGUIDs).
	ErrModelNotAllowed = "model_not_allowed"
	// ErrAttestationUntrusted: the profile allows only some models, and the
	// key's attestation does not prove its model (no certificate, or one
	// no trusted root or FIDO metadata vouches for).
	ErrAttestationUntrusted = "attestation_untrusted"
	// ErrAlreadyRegistered: the key's credential is already registered for
	// the enrollment's user (a key that ignored the exclude list).
	ErrAlreadyRegistered = "already_registered"
	// ErrInvalidAttestation: the key's answer could not be verified
	// (malformed, a bad signature or origin, an attestation format the hub
	// does not accept).
	ErrInvalidAttestation = "invalid_attestation"
	// ErrNotDiscoverable: the key made a credential it does not store
	// (credProps rk false), which no login without a user name could ever
	// find: the key cannot store one, or has no room left.
	ErrNotDiscoverable = "not_discoverable"
)

// RegistrationRefusal reports whether code is one of the registration
// refusal codes above.
func RegistrationRefusal(code string) bool {
	switch code {
	case ErrEnrollmentExpired, ErrModelNotAllowed, ErrAttestationUntrusted, ErrAlreadyRegistered, ErrInvalidAttestation, ErrNotDiscoverable:
		return true
	}
	return false
}

// Error answers a message that could not be handled.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// EnrollRequest is the body of POST /agent/v1/enroll (no client
// certificate yet: the one-time code authorises it).
type EnrollRequest struct {
	Code    string `json:"code"`
	CSR     []byte `json:"csr"` // DER; the key never leaves the kiosk
	Profile string `json:"profile"`
}

// EnrollResponse answers a successful enrollment.
type EnrollResponse struct {
	DeviceID   string `json:"device_id"`
	DeviceName string `json:"device_name"`
	Site       string `json:"site"`
	Cert       []byte `json:"cert"` // DER device certificate
	// DeviceCA is the hub CA (DER) that issued Cert and will issue its
	// renewals. The kiosk checks them against it; it trusts the hub's
	// HTTPS certificate through the CA given at enrollment (--ca), which
	// is this one unless the hub serves an operator's certificate. Empty
	// from an older hub: the --ca certificate is the hub CA then.
	DeviceCA []byte `json:"device_ca,omitempty"`
}

// New builds an envelope with data marshalled.
func New(typ, id, re string, data any) (Envelope, error) {
	e := Envelope{V: Version, Type: typ, ID: id, Re: re}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return e, fmt.Errorf("marshal %s: %w", typ, err)
		}
		e.Data = b
	}
	return e, nil
}

// Encode returns the frame for e: what json.Marshal(e) returns, byte for
// byte when e.Data is compact (as New makes it), without reflection or a
// second copy of Data. Every push and answer goes through it, ten thousand
// at once in a mass revoke.
func (e Envelope) Encode() ([]byte, error) {
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return nil, fmt.Errorf("%w: %s: data is not JSON", ErrMalformed, e.Type)
	}
	b := make([]byte, 0, 48+len(e.Type)+len(e.ID)+len(e.Re)+len(e.Data))
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(e.V), 10)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	if e.ID != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, e.ID)
	}
	if e.Re != "" {
		b = append(b, `,"re":`...)
		b = appendString(b, e.Re)
	}
	if len(e.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, e.Data...)
	}
	return append(b, '}'), nil
}

// Frame is Encode for a frame about to be sent: one longer than
// MaxMessageBytes is refused with ErrTooLarge, since the peer's read limit
// would answer it by closing the channel, and everything else in flight
// on it with the frame.
func (e Envelope) Frame() ([]byte, error) {
	b, err := e.Encode()
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %s of %d bytes, the most a frame may hold is %d", ErrTooLarge, e.Type, len(b), MaxMessageBytes)
	}
	return b, nil
}

// appendString appends s as a JSON string the way encoding/json writes it.
// Message types and IDs are plain ASCII; anything else takes the library's
// path, which owns the escaping rules (HTML characters, U+2028, invalid
// UTF-8).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// ErrTooLarge and friends are Decode's errors.
var (
	ErrTooLarge  = errors.New("message too large")
	ErrMalformed = errors.New("malformed message")
)

// Decode parses one frame into an envelope, checking size, text (UTF-8,
// with no escaped lone surrogate) and version.
func Decode(frame []byte) (Envelope, error) {
	if len(frame) > MaxMessageBytes {
		return Envelope{}, ErrTooLarge
	}
	e, ok := decodeFast(frame)
	if !ok {
		e = Envelope{}
		if err := json.Unmarshal(frame, &e); err != nil {
			return e, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	if !utf8.Valid(frame) {
		// encoding/json reads U+FFFD in place of each byte that is not
		// UTF-8, in data too when it is unmarshalled: a login for
		// "k\xff1" would reach the hub as one for "k\uFFFD1", a name
		// the kiosk never sent. Checked after decoding, so that the
		// answer can name the frame's ID; one pass over the frame, cheap
		// next to the decoding.
		return e, fmt.Errorf("%w: bytes that are not UTF-8", ErrMalformed)
	}
	if esc, ok := LoneSurrogate(frame); ok {
		// The same for an escaped half of a surrogate pair without the
		// other half, which is no character (see LoneSurrogate).
		return e, fmt.Errorf("%w: %s is half of a UTF-16 surrogate pair without the other half", ErrMalformed, esc)
	}
	if e.Type == "" {
		return e, fmt.Errorf("%w: no type", ErrMalformed)
	}
	if e.V != Version {
		return e, fmt.Errorf("%w: version %d, this side speaks %d", ErrMalformed, e.V, Version)
	}
	return e, nil
}

// Unmarshal decodes an envelope's data into v.
func (e Envelope) Unmarshal(v any) error {
	if len(e.Data) == 0 {
		return fmt.Errorf("%w: %s has no data", ErrMalformed, e.Type)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, e.Type, err)
	}
	return nil
}
