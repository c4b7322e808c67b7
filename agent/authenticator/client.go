package authenticator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
)

// This file is the kiosk's WebAuthn client: what a browser does between the relying party's
// options and the authenticator. It reads the options exactly as go-webauthn serialises them
// (protocol.CredentialCreation / protocol.CredentialAssertion, with or without the
// {"publicKey": …} wrapper), builds clientDataJSON, runs the authenticator and writes the
// PublicKeyCredential JSON a browser's toJSON() produces (RegistrationResponseJSON /
// AuthenticationResponseJSON), which protocol.ParseCredentialCreationResponseBytes and
// protocol.ParseCredentialRequestResponseBytes accept.

// Register runs navigator.credentials.create() for origin: creationOptions is the relying
// party's JSON, and the result is the JSON body to send back for the relying party to finish
// the registration ceremony.
//
// As a browser does, Register refuses (ErrSecurity) when the relying party ID is neither the
// origin's host nor a parent domain of it, and applies the options' timeout to a. Attestation is
// passed through unchanged whatever the conveyance preference (WebAuthn L3 lets clients keep
// it), so the relying party sees the badge's real AAGUID. user.id must be base64url, as
// go-webauthn writes it by default (its EncodeUserIDAsString mode is not supported).
func Register(ctx context.Context, a Authenticator, origin string, creationOptions []byte) ([]byte, error) {
	var opts protocol.PublicKeyCredentialCreationOptions
	if err := decodeOptions(creationOptions, &opts); err != nil {
		return nil, err
	}
	origin, host, err := parseOrigin(origin)
	if err != nil {
		return nil, err
	}
	rpID := opts.RelyingParty.ID
	if rpID == "" {
		rpID = host
	}
	if !RPIDAllowed(rpID, host) {
		return nil, fmt.Errorf("%w: rp.id %q for origin %s", ErrSecurity, rpID, origin)
	}
	return register(ctx, a, origin, rpID, &opts)
}

// register is Register after the origin checks; tests call it to play a client that lies.
func register(ctx context.Context, a Authenticator, origin, rpID string, opts *protocol.PublicKeyCredentialCreationOptions) ([]byte, error) {
	if len(opts.Challenge) == 0 {
		return nil, fmt.Errorf("%w: empty challenge", ErrInvalidOptions)
	}
	user, err := userHandle(opts.User.ID)
	if err != nil {
		return nil, err
	}
	cdj, err := clientDataJSON(protocol.CreateCeremony, opts.Challenge, origin)
	if err != nil {
		return nil, err
	}
	cdh := sha256.Sum256(cdj)

	rk, rkPreferred := residentKey(opts.AuthenticatorSelection)
	req := CreateRequest{
		RPID:                 rpID,
		RPName:               opts.RelyingParty.Name,
		ClientDataHash:       cdh[:],
		UserHandle:           user,
		UserName:             opts.User.Name,
		UserDisplayName:      opts.User.DisplayName,
		ResidentKey:          rk,
		ResidentKeyPreferred: rkPreferred,
		UserVerification:     userVerification(opts.AuthenticatorSelection.UserVerification),
	}
	for _, d := range opts.CredentialExcludeList {
		if d.Type == protocol.PublicKeyCredentialType {
			req.ExcludeCredentialIDs = append(req.ExcludeCredentialIDs, d.CredentialID)
		}
	}
	for _, p := range opts.Parameters {
		if p.Type == protocol.PublicKeyCredentialType {
			req.Algorithms = append(req.Algorithms, COSEAlgorithm(p.Algorithm))
		}
	}

	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	res, err := a.MakeCredential(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("make credential: %w", err)
	}
	if rk && !rkPreferred && !res.Discoverable {
		// A browser fails here too: the relying party required a credential that a login
		// without a user name can find, and this one never could.
		return nil, fmt.Errorf("make credential: %w: the relying party requires a discoverable credential and the authenticator made one it does not store", ErrResidentKeyUnsupported)
	}

	enc, err := newEncoder()
	if err != nil {
		return nil, err
	}
	att, err := enc.parseAttestation(res.AttestationObject)
	if err != nil {
		return nil, fmt.Errorf("make credential: authenticator returned %w", err)
	}
	if !bytes.Equal(att.credentialID, res.CredentialID) {
		return nil, fmt.Errorf("make credential: authenticator returned mismatched credential IDs")
	}
	spki, err := x509.MarshalPKIXPublicKey(att.publicKey)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	transports := res.Transports
	if transports == nil {
		transports = []string{}
	}
	ext := map[string]any{}
	if opts.Extensions.CredProps {
		ext["credProps"] = map[string]bool{"rk": res.Discoverable}
	}
	return json.Marshal(registrationResponseJSON{
		ID:    base64.RawURLEncoding.EncodeToString(res.CredentialID),
		RawID: res.CredentialID,
		Response: attestationResponseJSON{
			ClientDataJSON:     cdj,
			AuthenticatorData:  att.authData,
			Transports:         transports,
			PublicKey:          spki,
			PublicKeyAlgorithm: int64(att.alg),
			AttestationObject:  res.AttestationObject,
		},
		AuthenticatorAttachment: string(protocol.CrossPlatform),
		ClientExtensionResults:  ext,
		Type:                    string(protocol.PublicKeyCredentialType),
	})
}

// Authenticate runs navigator.credentials.get() for origin: requestOptions is the relying
// party's JSON (an empty allowCredentials asks for a discoverable credential), and the result is
// the JSON body to send back for the relying party to finish the login ceremony.
func Authenticate(ctx context.Context, a Authenticator, origin string, requestOptions []byte) ([]byte, error) {
	var opts protocol.PublicKeyCredentialRequestOptions
	if err := decodeOptions(requestOptions, &opts); err != nil {
		return nil, err
	}
	origin, host, err := parseOrigin(origin)
	if err != nil {
		return nil, err
	}
	rpID := opts.RelyingPartyID
	if rpID == "" {
		rpID = host
	}
	if !RPIDAllowed(rpID, host) {
		return nil, fmt.Errorf("%w: rpId %q for origin %s", ErrSecurity, rpID, origin)
	}
	return authenticate(ctx, a, origin, rpID, &opts)
}

// authenticate is Authenticate after the origin checks.
func authenticate(ctx context.Context, a Authenticator, origin, rpID string, opts *protocol.PublicKeyCredentialRequestOptions) ([]byte, error) {
	if len(opts.Challenge) == 0 {
		return nil, fmt.Errorf("%w: empty challenge", ErrInvalidOptions)
	}
	cdj, err := clientDataJSON(protocol.AssertCeremony, opts.Challenge, origin)
	if err != nil {
		return nil, err
	}
	cdh := sha256.Sum256(cdj)
	req := GetRequest{
		RPID:             rpID,
		ClientDataHash:   cdh[:],
		UserVerification: userVerification(opts.UserVerification),
	}
	for _, d := range opts.AllowedCredentials {
		if d.Type == protocol.PublicKeyCredentialType {
			req.AllowCredentialIDs = append(req.AllowCredentialIDs, d.CredentialID)
		}
	}
	if len(opts.AllowedCredentials) > 0 && len(req.AllowCredentialIDs) == 0 {
		return nil, fmt.Errorf("get assertion: %w", ErrNoCredentials)
	}

	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	res, err := a.GetAssertion(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("get assertion: %w", err)
	}
	return json.Marshal(authenticationResponseJSON{
		ID:    base64.RawURLEncoding.EncodeToString(res.CredentialID),
		RawID: res.CredentialID,
		Response: assertionResponseJSON{
			ClientDataJSON:    cdj,
			AuthenticatorData: res.AuthenticatorData,
			Signature:         res.Signature,
			UserHandle:        res.UserHandle,
		},
		AuthenticatorAttachment: string(protocol.CrossPlatform),
		ClientExtensionResults:  map[string]any{},
		Type:                    string(protocol.PublicKeyCredentialType),
	})
}

// registrationResponseJSON is WebAuthn L3 RegistrationResponseJSON, members in spec order.
type registrationResponseJSON struct {
	ID                      string                  `json:"id"`
	RawID                   b64u                    `json:"rawId"`
	Response                attestationResponseJSON `json:"response"`
	AuthenticatorAttachment string                  `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any          `json:"clientExtensionResults"`
	Type                    string                  `json:"type"`
}

type attestationResponseJSON struct {
	ClientDataJSON     b64u     `json:"clientDataJSON"`
	AuthenticatorData  b64u     `json:"authenticatorData"`
	Transports         []string `json:"transports"`
	PublicKey          b64u     `json:"publicKey"`
	PublicKeyAlgorithm int64    `json:"publicKeyAlgorithm"`
	AttestationObject  b64u     `json:"attestationObject"`
}

// authenticationResponseJSON is WebAuthn L3 AuthenticationResponseJSON.
type authenticationResponseJSON struct {
	ID                      string                `json:"id"`
	RawID                   b64u                  `json:"rawId"`
	Response                assertionResponseJSON `json:"response"`
	AuthenticatorAttachment string                `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any        `json:"clientExtensionResults"`
	Type                    string                `json:"type"`
}

type assertionResponseJSON struct {
	ClientDataJSON    b64u `json:"clientDataJSON"`
	AuthenticatorData b64u `json:"authenticatorData"`
	Signature         b64u `json:"signature"`
	UserHandle        b64u `json:"userHandle,omitempty"`
}

// collectedClientData is CollectedClientData in the member order and form of WebAuthn's
// JSON-compatible serialization (§5.8.1.1), which browsers emit: crossOrigin is always written.
// protocol.CollectedClientData would drop "crossOrigin":false (omitempty).
type collectedClientData struct {
	Type        protocol.CeremonyType `json:"type"`
	Challenge   string                `json:"challenge"`
	Origin      string                `json:"origin"`
	CrossOrigin bool                  `json:"crossOrigin"`
}

func clientDataJSON(typ protocol.CeremonyType, challenge []byte, origin string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(collectedClientData{
		Type:      typ,
		Challenge: base64.RawURLEncoding.EncodeToString(challenge),
		Origin:    origin,
	})
	if err != nil {
		return nil, fmt.Errorf("encode client data: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeOptions decodes the relying party's options into v, with or without the
// {"publicKey": …} wrapper of CredentialCreation / CredentialAssertion.
func decodeOptions(data []byte, v any) error {
	var wrapper struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(data, &wrapper); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if len(wrapper.PublicKey) > 0 && !bytes.Equal(wrapper.PublicKey, []byte("null")) {
		data = wrapper.PublicKey
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return nil
}

// parseOrigin checks that origin is a secure-context origin (https, or http on loopback) and
// returns it in serialized form (scheme://host[:port], lower case) with its host.
func parseOrigin(origin string) (serialized, host string, err error) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%w: origin %q is not scheme://host[:port]", ErrSecurity, origin)
	}
	scheme := strings.ToLower(u.Scheme)
	host = strings.ToLower(u.Hostname())
	switch {
	case scheme == "https":
	case scheme == "http" && (host == "localhost" || isLoopback(host)):
	default:
		return "", "", fmt.Errorf("%w: origin %q is not a secure context", ErrSecurity, origin)
	}
	return scheme + "://" + strings.ToLower(u.Host), host, nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RPIDAllowed reports whether an origin whose host is host may use rpID, the one rule the
// agent has for it (Register and Authenticate check the hub's options with it, the agent the
// origin and rp_id pinned in state.json): rpID is the host itself or a parent domain of it, the
// comparison ignoring case. That is WebAuthn's "registrable domain suffix of or equal to" the
// origin's effective domain without the public suffix list: an IP address must match exactly,
// and a single label (com, or localhost) only itself, as the list's default rule makes any
// unlisted top-level label a public suffix. So localhost is the RP ID of https://localhost but
// not of https://hub.localhost, as a browser decides: a parent that is a public suffix would
// let every site under it sign in with the credential. The labels are counted without the
// trailing dot of a fully qualified name, and an empty one names no domain: "com." and
// ".localhost" are single labels too.
func RPIDAllowed(rpID, host string) bool {
	rpID, host = strings.ToLower(rpID), strings.ToLower(host)
	if rpID == host {
		return true
	}
	labels := strings.Split(strings.TrimSuffix(rpID, "."), ".")
	if net.ParseIP(host) != nil || net.ParseIP(rpID) != nil || len(labels) < 2 || slices.Contains(labels, "") {
		return false
	}
	return strings.HasSuffix(host, "."+rpID)
}

// userHandle decodes user.id, which go-webauthn serialises as base64url.
func userHandle(id any) ([]byte, error) {
	s, ok := id.(string)
	if !ok || s == "" {
		return nil, fmt.Errorf("%w: user.id missing or not a string", ErrInvalidOptions)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("%w: user.id: %w", ErrInvalidOptions, err)
	}
	return b, nil
}

// residentKey maps the options' residentKey (or, without it, the older requireResidentKey) to
// the rk option: rk asks for a discoverable credential, and preferred lets an authenticator
// that cannot store one make a non-discoverable one instead (WebAuthn §5.4.6).
func residentKey(sel protocol.AuthenticatorSelection) (rk, preferred bool) {
	switch sel.ResidentKey {
	case protocol.ResidentKeyRequirementRequired:
		return true, false
	case protocol.ResidentKeyRequirementPreferred:
		return true, true
	case protocol.ResidentKeyRequirementDiscouraged:
		return false, false
	default:
		return sel.RequireResidentKey != nil && *sel.RequireResidentKey, false
	}
}

func userVerification(uv protocol.UserVerificationRequirement) UserVerification {
	switch uv {
	case protocol.VerificationRequired:
		return UVRequired
	case protocol.VerificationDiscouraged:
		return UVDiscouraged
	default:
		return UVPreferred
	}
}

// maxOptionsTimeout bounds the options' timeout (milliseconds, from the
// relying party): WebAuthn's recommended range tops out at 10 minutes, and
// a larger number would overflow a time.Duration.
const maxOptionsTimeout = 10 * time.Minute

// withTimeout applies the options' timeout (ms) to ctx: none when it is
// not positive, at most maxOptionsTimeout.
func withTimeout(ctx context.Context, ms int) (context.Context, context.CancelFunc) {
	if ms <= 0 {
		return context.WithCancel(ctx)
	}
	d := maxOptionsTimeout
	if int64(ms) < int64(maxOptionsTimeout/time.Millisecond) {
		d = time.Duration(ms) * time.Millisecond
	}
	return context.WithTimeout(ctx, d)
}
