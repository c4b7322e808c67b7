package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types written and accepted by this package.
const (
	pemTypeCert     = "CERTIFICATE"
	pemTypeKey      = "PRIVATE KEY"    // PKCS #8, what this package writes
	pemTypeECKey    = "EC PRIVATE KEY" // SEC 1, accepted when reading
	pemTypeCSR      = "CERTIFICATE REQUEST"
	maxPEMFileBytes = 1 << 20
)

// EncodeCertPEM returns der, a DER-encoded certificate, as one PEM
// "CERTIFICATE" block.
func EncodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemTypeCert, Bytes: der})
}

// EncodeCSRPEM returns der, a DER-encoded PKCS #10 request, as one PEM
// "CERTIFICATE REQUEST" block.
func EncodeCSRPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemTypeCSR, Bytes: der})
}

// EncodeKeyPEM returns key as an unencrypted PKCS #8 "PRIVATE KEY" PEM block.
// Only the key types this package issues for are accepted: ECDSA P-256 and
// Ed25519. The result is secret; write it with WriteKeyFile.
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	if err := checkKeyType(key.Public()); err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypeKey, Bytes: der}), nil
}

// DecodeCertsPEM parses every PEM block in data as a certificate. Text
// around the blocks is ignored, but every block must be a "CERTIFICATE" and
// at least one must be present: a key or CSR handed in by mistake is an
// error rather than silently skipped. It never panics, whatever the input.
func DecodeCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != pemTypeCert {
			return nil, fmt.Errorf("decode certificate PEM: unexpected block %q", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("decode certificate PEM: %w", err)
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, errors.New("decode certificate PEM: no CERTIFICATE block found")
	}
	return out, nil
}

// DecodeCertPEM parses data with DecodeCertsPEM and returns the first
// certificate (for a chain file, the leaf).
func DecodeCertPEM(data []byte) (*x509.Certificate, error) {
	certs, err := DecodeCertsPEM(data)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// DecodeKeyPEM parses the first PEM block of data as a private key, PKCS #8
// ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). Only ECDSA P-256 and Ed25519
// keys are accepted. It never panics, whatever the input.
func DecodeKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("decode private key PEM: no PEM block found")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case pemTypeKey:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case pemTypeECKey:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("decode private key PEM: unexpected block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("decode private key PEM: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("decode private key PEM: %T is not a signing key", key)
	}
	if err := checkKeyType(signer.Public()); err != nil {
		return nil, fmt.Errorf("decode private key PEM: %w", err)
	}
	return signer, nil
}

// DecodeCSRPEM parses the first PEM block of data as a PKCS #10 request and
// returns its DER bytes, ready for SignDeviceCSR. The CSR's signature is not
// checked here; SignDeviceCSR does that.
func DecodeCSRPEM(data []byte) ([]byte, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("decode CSR PEM: no PEM block found")
	}
	if block.Type != pemTypeCSR && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("decode CSR PEM: unexpected block %q", block.Type)
	}
	return block.Bytes, nil
}

// CAPool returns a pool holding exactly the CA certificates in pemBytes
// (typically the hub's ca.pem). Every block must be a CA certificate: a leaf
// such as server.pem passed by mistake is an error, because trusting a leaf
// as a root is never what an agent wants. The pool does not include the
// system roots.
func CAPool(pemBytes []byte) (*x509.CertPool, error) {
	certs, err := DecodeCertsPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("load CA pool: %w", err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, fmt.Errorf("load CA pool: certificate %q is not a CA certificate (use the hub's ca.pem, not server.pem)", c.Subject.CommonName)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// checkKeyType enforces the key policy: ECDSA on P-256, or Ed25519 of large
// order.
func checkKeyType(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == nil {
			return errors.New("ECDSA key without a curve")
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("unsupported ECDSA curve %s, want P-256", k.Curve.Params().Name)
		}
		return nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("Ed25519 public key of %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		if smallOrderEd25519(k) {
			return errors.New("Ed25519 public key of small order: anyone can forge its signatures")
		}
		return nil
	default:
		return fmt.Errorf("unsupported public key type %T, want ECDSA P-256 or Ed25519", pub)
	}
}

// publicKeysEqual reports whether a and b are the same public key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}

// smallOrderEd25519 reports whether pub encodes one of the eight points of
// small order on edwards25519, in any of the encodings Go's decoder accepts
// (either sign bit, and y = p and y = p+1, the non-canonical forms of 0 and
// 1). ed25519.Verify accepts, for such a key, signatures made without any
// private key (R the identity and S zero verify for every message under
// the identity key, and for one message in two, four or eight under the
// others), so a CSR signed with one proves nothing and a certificate for
// it is a credential anyone who has seen it can use. The list is
// libsodium's (ge25519_has_small_order); the sign bit is ignored.
func smallOrderEd25519(pub ed25519.PublicKey) bool {
	var y [ed25519.PublicKeySize]byte
	copy(y[:], pub)
	y[31] &= 0x7f
	switch hex.EncodeToString(y[:]) {
	case "0000000000000000000000000000000000000000000000000000000000000000", // y = 0, order 4
		"0100000000000000000000000000000000000000000000000000000000000000", // y = 1, the identity
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p-1, order 2
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p, i.e. 0
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f": // y = p+1, i.e. 1
		return true
	}
	return false
}
