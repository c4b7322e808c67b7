//go:build fido2

package authenticator

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/keys-pub/go-libfido2"
)

// The pure half of the FIDO2 backend: what FIDO2 asks libfido2 for, and what it makes of the
// answers. Nothing here touches a device, so all of it is tested without one.

// deviceCaps are the authenticatorGetInfo options FIDO2 plans with. The zero value is a
// U2F-only key (or one that answered nothing): no PIN, no built-in UV, no resident keys.
type deviceCaps struct {
	fido2            bool // speaks CTAP2
	clientPIN        bool // "clientPin": true — a PIN is set
	uv               bool // "uv": true — built-in verification (fingerprint) is configured
	rk               bool // "rk": can store discoverable credentials
	alwaysUV         bool // "alwaysUv": every command needs UV
	makeCredUVNotRqd bool // "makeCredUvNotRqd": non-resident credentials need no UV
}

func capsFromInfo(info *libfido2.DeviceInfo) deviceCaps {
	c := deviceCaps{fido2: info != nil}
	if info == nil {
		return c
	}
	for _, o := range info.Options {
		on := o.Value == libfido2.True
		switch o.Name {
		case "clientPin":
			c.clientPIN = on
		case "uv":
			c.uv = on
		case "rk":
			c.rk = on
		case "alwaysUv":
			c.alwaysUV = on
		case "makeCredUvNotRqd":
			c.makeCredUVNotRqd = on
		}
	}
	return c
}

// uvPlan is how one operation verifies the user and what it passes to libfido2.
type uvPlan struct {
	uv      libfido2.OptionValue // the uv option: True for built-in verification, else omitted
	needPIN bool                 // verify with the PIN (libfido2 turns it into pinUvAuthParam)
	rk      libfido2.OptionValue // makeCredential's rk option
}

// planUV decides user verification for a key with capabilities c. mustVerify says the key will
// refuse the command without verification (makeCredential on a key with a PIN set). Built-in
// verification is preferred to the PIN, as it needs no typing; the PIN is never sent together
// with uv=true (CTAP2.0 keys without built-in UV reject that). UVRequired on a key that can
// verify neither way fails with ErrUVUnavailable before the key is touched.
func planUV(c deviceCaps, uv UserVerification, mustVerify bool) (uvPlan, error) {
	want := uv != UVDiscouraged || mustVerify || c.alwaysUV
	switch {
	case !want:
		return uvPlan{}, nil
	case c.uv:
		return uvPlan{uv: libfido2.True}, nil
	case c.clientPIN:
		return uvPlan{needPIN: true}, nil
	case uv == UVRequired:
		return uvPlan{}, fmt.Errorf("%w: the key has no PIN or fingerprint set up", ErrUVUnavailable)
	default:
		return uvPlan{}, nil
	}
}

// planCreate is planUV for makeCredential, plus the rk option. A discoverable credential is
// asked for with rk=true, which a CTAP2 key either honours or refuses (KEY_STORE_FULL when it
// has no room left): it never makes a non-discoverable one in its place, so the plan's rk is
// what the credential is. A key that cannot store one at all fails a required one here,
// before it is touched; a preferred one becomes non-discoverable, as in a browser.
func planCreate(c deviceCaps, req CreateRequest) (uvPlan, error) {
	resident := req.ResidentKey
	if resident && !c.rk {
		if !req.ResidentKeyPreferred {
			return uvPlan{}, fmt.Errorf("%w: the key has no rk option (U2F-only keys never have one)", ErrResidentKeyUnsupported)
		}
		resident = false
	}
	// CTAP2: a key with a PIN set refuses makeCredential without verification, except for a
	// non-resident credential on a key that says makeCredUvNotRqd.
	mustVerify := c.clientPIN && (resident || !c.makeCredUVNotRqd)
	p, err := planUV(c, req.UserVerification, mustVerify)
	if err != nil {
		return uvPlan{}, err
	}
	if resident {
		p.rk = libfido2.True
	}
	return p, nil
}

func (p uvPlan) makeCredentialOpts() *libfido2.MakeCredentialOpts {
	return &libfido2.MakeCredentialOpts{RK: p.rk, UV: p.uv}
}

func (p uvPlan) assertionOpts() *libfido2.AssertionOpts {
	return &libfido2.AssertionOpts{UV: p.uv} // UP omitted: the key's default, a touch
}

// excludeProbeOptions are the options of the silent assertion that checks the exclude list:
// no user presence, no verification, so the key answers at once without blinking.
func excludeProbeOptions() *libfido2.AssertionOpts {
	return &libfido2.AssertionOpts{UP: libfido2.False}
}

// excludeProbeResult interprets the silent assertion: excluded when the key holds one of the
// listed credentials. A CTAP2 key then signs (err nil); libfido2's U2F path reports a key it
// found with ErrUserPresenceRequired. Keys that refuse up=false, or that want verification for
// every command (alwaysUv), cannot be probed: the registration goes on, and the relying party
// may get a second credential of the same key.
func excludeProbeResult(err error) (excluded bool, _ error) {
	switch {
	case err == nil, errors.Is(err, libfido2.ErrUserPresenceRequired):
		return true, nil
	case errors.Is(err, libfido2.ErrUnsupportedOption), errors.Is(err, libfido2.ErrInvalidOption),
		errors.Is(err, libfido2.ErrUPRequired), errors.Is(err, libfido2.ErrInvalidCommand),
		errors.Is(err, libfido2.ErrPinRequired):
		return false, nil
	}
	if mapped := mapFIDO2Error(err); !errors.Is(mapped, ErrNoCredentials) {
		return false, mapped
	}
	return false, nil
}

// credentialType picks the credential algorithm: ES256, the only one Register accepts, when
// the relying party offers it (or offers nothing).
func credentialType(algs []COSEAlgorithm) (libfido2.CredentialType, error) {
	if len(algs) > 0 && !slices.Contains(algs, ES256) {
		return 0, fmt.Errorf("%w: offered %v, have ES256 (-7)", ErrUnsupportedAlgorithm, algs)
	}
	return libfido2.ES256, nil
}

// checkCreate checks a CreateRequest before a device is looked for; the go-libfido2 binding
// also insists on a user name.
func checkCreate(req CreateRequest) error {
	if err := checkCommon(req.RPID, req.ClientDataHash); err != nil {
		return err
	}
	if len(req.UserHandle) == 0 || len(req.UserHandle) > maxUserHandle {
		return fmt.Errorf("%w: user handle is %d bytes, want 1 to %d", ErrInvalidRequest, len(req.UserHandle), maxUserHandle)
	}
	if req.UserName == "" {
		return fmt.Errorf("%w: empty user name", ErrInvalidRequest)
	}
	return nil
}

// transportsForPath names the transport of a libfido2 device path: "nfc:…" (Linux NFC) and
// "pcsc://…" (a PC/SC reader) are NFC, anything else (/dev/hidraw*, ioreg://…, \\?\hid#…) USB.
func transportsForPath(path string) []string {
	if strings.HasPrefix(path, "nfc:") || strings.HasPrefix(path, "pcsc:") {
		return []string{"nfc"}
	}
	return []string{"usb"}
}

// libfido2 status codes that go-libfido2 has no named error for (fido/err.h).
const (
	fidoErrInvalidParameter     = 0x02
	fidoErrCredentialExcluded   = 0x19
	fidoErrUnsupportedAlgorithm = 0x26
	fidoErrKeyStoreFull         = 0x28
	fidoErrUserActionTimeout    = 0x2f
	fidoErrPINBlocked           = 0x32
	fidoErrUVBlocked            = 0x3c
	fidoErrUVInvalid            = 0x3f
	fidoErrInvalidParam         = -5
)

// fido2Classify maps a libfido2 error to this package's sentinel, or, for errors with no
// sentinel, to a hint a person can act on. Both are empty for errors it does not know.
func fido2Classify(err error) (sentinel error, hint string) {
	is := func(targets ...error) bool {
		return slices.ContainsFunc(targets, func(t error) bool { return errors.Is(err, t) })
	}
	var code int
	if e := (libfido2.Error{}); errors.As(err, &e) {
		code = e.Code
	}
	switch {
	case is(libfido2.ErrNoCredentials, libfido2.ErrInvalidCredential):
		// CTAP2.0 keys answer an allow list they know nothing of with INVALID_CREDENTIAL.
		return ErrNoCredentials, ""
	case is(libfido2.ErrPinRequired, libfido2.ErrPinNotSet, libfido2.ErrUnsupportedOption, libfido2.ErrPinAuthBlocked),
		code == fidoErrPINBlocked, code == fidoErrUVBlocked:
		return ErrUVUnavailable, ""
	case code == fidoErrCredentialExcluded:
		return ErrCredentialExcluded, ""
	case code == fidoErrUnsupportedAlgorithm:
		return ErrUnsupportedAlgorithm, ""
	case code == fidoErrKeyStoreFull:
		return ErrKeyStoreFull, ""
	case is(libfido2.ErrInvalidArgument, libfido2.ErrMissingParameter, libfido2.ErrInvalidLength, libfido2.ErrInvalidOption),
		code == fidoErrInvalidParameter, code == fidoErrInvalidParam:
		return ErrInvalidRequest, ""
	case is(libfido2.ErrPinInvalid):
		return nil, "the key rejected the PIN (each wrong PIN uses up one of its retries)"
	case is(libfido2.ErrOperationDenied), code == fidoErrUVInvalid:
		return nil, "the key did not verify the user"
	case is(libfido2.ErrActionTimeout, libfido2.ErrUserPresenceRequired, libfido2.ErrUPRequired), code == fidoErrUserActionTimeout:
		return ErrTouchTimeout, ""
	case is(libfido2.ErrKeepaliveCancel):
		return nil, "the operation was cancelled"
	case is(libfido2.ErrTX, libfido2.ErrRX, libfido2.ErrRXNotCBOR, libfido2.ErrRXInvalidCBOR):
		return nil, "lost contact with the key (removed, or moved off the reader?)"
	}
	return nil, ""
}

// mapFIDO2Error wraps err with its sentinel (so errors.Is works on both) or its hint.
func mapFIDO2Error(err error) error {
	if err == nil {
		return nil
	}
	switch s, hint := fido2Classify(err); {
	case s != nil:
		return fmt.Errorf("%w: %w", s, err)
	case hint != "":
		return fmt.Errorf("%s: %w", hint, err)
	default:
		return err
	}
}

// decodeAuthData unwraps authenticator data from libfido2, which hands it out as a CBOR byte
// string (fido_cred_authdata_ptr, fido_assert_authdata_ptr).
func (e encoder) decodeAuthData(b []byte) ([]byte, error) {
	var ad []byte
	rest, err := e.dec.UnmarshalFirst(b, &ad)
	switch {
	case err != nil:
		return nil, fmt.Errorf("decode authenticator data: %w", err)
	case len(rest) != 0:
		return nil, errors.New("decode authenticator data: trailing bytes")
	case len(ad) < 37:
		return nil, fmt.Errorf("decode authenticator data: %d bytes, want at least 37", len(ad))
	}
	return ad, nil
}

// attStmt is an attestation statement of the formats FIDO2 rebuilds.
type attStmt struct {
	Alg *int64   `cbor:"alg,omitempty"`
	Sig []byte   `cbor:"sig"`
	X5c [][]byte `cbor:"x5c,omitempty"`
}

// attestationFromLibfido2 rebuilds the WebAuthn attestation object from libfido2's parts.
func (e encoder) attestationFromLibfido2(att *libfido2.Attestation) ([]byte, error) {
	authData, err := e.decodeAuthData(att.AuthData)
	if err != nil {
		return nil, err
	}
	var x5c [][]byte
	if len(att.Cert) > 0 {
		x5c = [][]byte{att.Cert}
	}
	var stmt []byte
	switch att.Format {
	case "none":
		stmt = []byte{0xa0} // empty map
	case "packed":
		alg := int64(ES256) // the attestation key's (x5c) or the credential's own (self)
		stmt, err = e.enc.Marshal(attStmt{Alg: &alg, Sig: att.Sig, X5c: x5c})
	case "fido-u2f":
		if len(x5c) == 0 {
			return nil, errors.New("fido-u2f attestation without a certificate")
		}
		stmt, err = e.enc.Marshal(attStmt{Sig: att.Sig, X5c: x5c})
	default:
		return nil, fmt.Errorf("attestation format %q is not supported", att.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("encode attStmt: %w", err)
	}
	obj, err := e.enc.Marshal(attestationObject{Fmt: att.Format, AttStmt: cbor.RawMessage(stmt), AuthData: authData})
	if err != nil {
		return nil, fmt.Errorf("encode attestation object: %w", err)
	}
	return obj, nil
}

// assertionFromLibfido2 converts libfido2's first assertion. A key may leave out the
// credential ID when the allow list had exactly one entry (CTAP2 §6.2); it is that entry.
func (e encoder) assertionFromLibfido2(a *libfido2.Assertion, allow [][]byte) (GetResult, error) {
	authData, err := e.decodeAuthData(a.AuthDataCBOR)
	if err != nil {
		return GetResult{}, err
	}
	id := slices.Clone(a.CredentialID)
	if len(id) == 0 && len(allow) == 1 {
		id = slices.Clone(allow[0])
	}
	if len(id) == 0 {
		return GetResult{}, errors.New("the key returned no credential ID")
	}
	if len(a.Sig) == 0 {
		return GetResult{}, errors.New("the key returned no signature")
	}
	res := GetResult{CredentialID: id, AuthenticatorData: authData, Signature: slices.Clone(a.Sig)}
	if len(a.User.ID) > 0 {
		res.UserHandle = slices.Clone(a.User.ID)
	}
	return res, nil
}
