package authenticator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagBE = 0x08 // backup eligible; never set: a badge credential cannot leave the badge
	flagBS = 0x10 // backup state; never set
	flagAT = 0x40 // attested credential data included
	flagED = 0x80 // extension data included
)

// COSE key parameters (RFC 9052/9053).
const (
	coseKtyEC2  = 2
	coseCrvP256 = 1
)

// AttestationFormat is the attestation statement format a soft badge produces.
type AttestationFormat string

const (
	// AttestationPacked is "packed" self attestation: attStmt {alg, sig} signed with the
	// credential's own key, no certificate. It is the default.
	AttestationPacked AttestationFormat = "packed"
	// AttestationNone is the "none" format: an empty attStmt.
	AttestationNone AttestationFormat = "none"
)

func (f AttestationFormat) validate() error {
	switch f {
	case AttestationPacked, AttestationNone:
		return nil
	default:
		return fmt.Errorf("attestation %q: want %q or %q", string(f), AttestationPacked, AttestationNone)
	}
}

// coseEC2Key is a COSE_Key for an EC2 public key. X and Y are always 32 bytes: big-endian field
// elements left-padded with zeros, as RFC 9053 §7.1.1 requires (leading zero bytes MUST be kept).
type coseEC2Key struct {
	Kty int64  `cbor:"1,keyasint"`
	Alg int64  `cbor:"3,keyasint"`
	Crv int64  `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint"`
}

// attestationObject is the WebAuthn attestation object. With CTAP2 canonical encoding its keys
// come out in the order fmt, attStmt, authData.
type attestationObject struct {
	Fmt      string          `cbor:"fmt"`
	AttStmt  cbor.RawMessage `cbor:"attStmt"`
	AuthData []byte          `cbor:"authData"`
}

// packedSelfStatement is the attStmt of packed self attestation.
type packedSelfStatement struct {
	Alg int64  `cbor:"alg"`
	Sig []byte `cbor:"sig"`
}

// packedBasicStatement is the attStmt of packed basic attestation: signed with the model's
// attestation key, whose certificate chain is x5c.
type packedBasicStatement struct {
	Alg int64    `cbor:"alg"`
	Sig []byte   `cbor:"sig"`
	X5c [][]byte `cbor:"x5c"`
}

// encoder wraps the CTAP2 canonical CBOR modes; it is built once per Soft.
type encoder struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newEncoder() (encoder, error) {
	enc, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		return encoder{}, fmt.Errorf("cbor encoder: %w", err)
	}
	dec, err := cbor.DecOptions{
		DupMapKey:       cbor.DupMapKeyEnforcedAPF,
		IndefLength:     cbor.IndefLengthForbidden,
		TagsMd:          cbor.TagsForbidden,
		MaxNestedLevels: 8,
	}.DecMode()
	if err != nil {
		return encoder{}, fmt.Errorf("cbor decoder: %w", err)
	}
	return encoder{enc: enc, dec: dec}, nil
}

// coseKey encodes pub as a CTAP2 canonical COSE_Key with fixed-length coordinates.
func (e encoder) coseKey(pub *ecdsa.PublicKey) ([]byte, error) {
	pt, err := pub.Bytes() // 0x04 ‖ X ‖ Y, each coordinate exactly 32 bytes
	if err != nil || len(pt) != 65 {
		return nil, fmt.Errorf("encode public key: %w", errors.Join(err, errors.New("not an uncompressed P-256 point")))
	}
	return e.enc.Marshal(coseEC2Key{
		Kty: coseKtyEC2,
		Alg: int64(ES256),
		Crv: coseCrvP256,
		X:   pt[1:33],
		Y:   pt[33:65],
	})
}

// authenticatorData builds rpIdHash ‖ flags ‖ signCount ‖ attestedCredentialData.
// attested is empty for assertions.
func authenticatorData(rpID string, flags byte, signCount uint32, attested []byte) []byte {
	out := make([]byte, 0, 37+len(attested))
	h := sha256.Sum256([]byte(rpID))
	out = append(out, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, signCount)
	return append(out, attested...)
}

// attestedCredentialData builds aaguid ‖ credentialIdLength ‖ credentialId ‖ credentialPublicKey.
func attestedCredentialData(aaguid [16]byte, credID, coseKey []byte) []byte {
	out := make([]byte, 0, 18+len(credID)+len(coseKey))
	out = append(out, aaguid[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(credID)))
	out = append(out, credID...)
	return append(out, coseKey...)
}

// attest builds the attestation object for authData in format f. For packed self attestation
// the signature is made with the credential key over authData ‖ clientDataHash; with batch,
// it is made with batch's key, and the statement carries batch's chain (basic attestation).
func (e encoder) attest(f AttestationFormat, authData, clientDataHash []byte, key *ecdsa.PrivateKey, batch *BatchAttestation) ([]byte, error) {
	var (
		stmt any
		err  error
	)
	switch {
	case f == AttestationNone:
		stmt = cbor.RawMessage{0xa0} // an empty map
	case f == AttestationPacked && batch == nil:
		sig, err := sign(key, authData, clientDataHash)
		if err != nil {
			return nil, err
		}
		stmt = packedSelfStatement{Alg: int64(ES256), Sig: sig}
	case f == AttestationPacked:
		if batch.Key == nil || len(batch.Chain) == 0 {
			return nil, fmt.Errorf("%w: batch attestation needs a key and a certificate chain", ErrInvalidRequest)
		}
		sig, err := sign(batch.Key, authData, clientDataHash)
		if err != nil {
			return nil, err
		}
		stmt = packedBasicStatement{Alg: int64(ES256), Sig: sig, X5c: batch.Chain}
	default:
		return nil, f.validate()
	}
	raw, err := e.enc.Marshal(stmt)
	if err != nil {
		return nil, fmt.Errorf("encode attStmt: %w", err)
	}
	obj, err := e.enc.Marshal(attestationObject{Fmt: string(f), AttStmt: raw, AuthData: authData})
	if err != nil {
		return nil, fmt.Errorf("encode attestation object: %w", err)
	}
	return obj, nil
}

// sign returns the DER ECDSA-SHA256 signature over authData ‖ clientDataHash.
func sign(key *ecdsa.PrivateKey, authData, clientDataHash []byte) ([]byte, error) {
	h := sha256.New()
	h.Write(authData)
	h.Write(clientDataHash)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}

// parsedAttestation is what a client needs back from an attestation object.
type parsedAttestation struct {
	authData     []byte
	credentialID []byte
	publicKey    *ecdsa.PublicKey
	alg          COSEAlgorithm
}

// parseAttestation decodes an attestation object and the attested credential data inside it, as
// a WebAuthn client does to fill getAuthenticatorData(), getPublicKey() and
// getPublicKeyAlgorithm().
func (e encoder) parseAttestation(obj []byte) (*parsedAttestation, error) {
	var att attestationObject
	if err := e.dec.Unmarshal(obj, &att); err != nil {
		return nil, fmt.Errorf("decode attestation object: %w", err)
	}
	ad := att.AuthData
	if len(ad) < 37+18 || ad[32]&flagAT == 0 {
		return nil, errors.New("decode attestation object: no attested credential data")
	}
	n := int(binary.BigEndian.Uint16(ad[53:55]))
	if len(ad) < 55+n {
		return nil, errors.New("decode attestation object: credential ID truncated")
	}
	var key coseEC2Key
	rest, err := e.dec.UnmarshalFirst(ad[55+n:], &key)
	if err != nil {
		return nil, fmt.Errorf("decode credential public key: %w", err)
	}
	if len(rest) != 0 && ad[32]&flagED == 0 {
		return nil, errors.New("decode attestation object: trailing bytes after credential public key")
	}
	if key.Kty != coseKtyEC2 || key.Alg != int64(ES256) || key.Crv != coseCrvP256 || len(key.X) != 32 || len(key.Y) != 32 {
		return nil, fmt.Errorf("decode credential public key: unsupported COSE key kty=%d alg=%d crv=%d", key.Kty, key.Alg, key.Crv)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, key.X...), key.Y...))
	if err != nil {
		return nil, fmt.Errorf("decode credential public key: %w", err)
	}
	return &parsedAttestation{
		authData:     ad,
		credentialID: ad[55 : 55+n],
		publicKey:    pub,
		alg:          COSEAlgorithm(key.Alg),
	}, nil
}
