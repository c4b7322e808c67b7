package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"sync"
	"time"
)

// NewDeviceKey generates a kiosk's ECDSA P-256 key. The key is generated on
// the device and never leaves it; only its CSR goes to the hub.
func NewDeviceKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new device key: %w", err)
	}
	return key, nil
}

// NewCSR returns a DER PKCS #10 request signed by key, with Subject CN =
// deviceName. The name is informational only: the hub ignores every name in
// a CSR and assigns the device ID itself (see SignDeviceCSR). key must be
// ECDSA P-256 or Ed25519.
func NewCSR(key crypto.Signer, deviceName string) ([]byte, error) {
	if err := checkKeyType(key.Public()); err != nil {
		return nil, fmt.Errorf("new CSR: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: deviceName},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("new CSR: %w", err)
	}
	return der, nil
}

// Renewer holds a kiosk's current device certificate and key and hands them
// to TLS through GetClientCertificate. Replace swaps in a renewed certificate
// atomically: handshakes already under way keep the one they got, new ones
// get the new one. Fetching the renewal (a CSR sent over the hub channel) is
// the agent's job; NeedsRenewal tells it when. A Renewer is safe for
// concurrent use; the zero value is not usable, use NewRenewer.
type Renewer struct {
	mu   sync.RWMutex
	cert *tls.Certificate
}

// NewRenewer returns a Renewer serving cert, typically from LoadKeyPair.
// cert must hold a certificate whose public key matches PrivateKey and that
// carries a device ID (DeviceID); Leaf is parsed if it is nil. The
// certificate may be expired: the agent still needs to hold it to renew or
// to report why it cannot connect.
func NewRenewer(cert *tls.Certificate) (*Renewer, error) {
	tc, err := checkDeviceKeyPair(cert)
	if err != nil {
		return nil, fmt.Errorf("new renewer: %w", err)
	}
	return &Renewer{cert: tc}, nil
}

// GetClientCertificate returns the current certificate. It is meant for
// tls.Config.GetClientCertificate and never fails.
func (r *Renewer) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.Current(), nil
}

// Current returns the current certificate (Leaf set). Callers must not
// modify it; Replace installs a new value rather than changing this one.
func (r *Renewer) Current() *tls.Certificate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert
}

// Replace installs certDER (the renewed device certificate, DER) and key as
// the current pair. It fails, leaving the current pair in place, if the
// certificate does not parse, key does not match it, or it names a different
// device than the current certificate: a renewal never changes identity.
// Persisting the new pair (WriteCertFile, WriteKeyFile) is up to the caller;
// write it before calling Replace so a crash cannot lose it.
func (r *Renewer) Replace(certDER []byte, key crypto.Signer) error {
	leaf, err := x509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("replace device certificate: %w", err)
	}
	tc, err := checkDeviceKeyPair(&tls.Certificate{Certificate: [][]byte{certDER}, PrivateKey: key, Leaf: leaf})
	if err != nil {
		return fmt.Errorf("replace device certificate: %w", err)
	}
	newID, _ := DeviceID(leaf) // checked above
	r.mu.Lock()
	defer r.mu.Unlock()
	oldID, _ := DeviceID(r.cert.Leaf)
	if newID != oldID {
		return fmt.Errorf("replace device certificate: certificate is for device %q, not %q", newID, oldID)
	}
	r.cert = tc
	return nil
}

// NeedsRenewal reports whether the current certificate has passed two thirds
// of its lifetime (NotBefore to NotAfter) at now, or is already expired.
// Renewing at 2/3 leaves a third of the lifetime to retry through hub
// outages.
func (r *Renewer) NeedsRenewal(now time.Time) bool {
	leaf := r.Current().Leaf
	lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
	return !now.Before(leaf.NotBefore.Add(lifetime / 3 * 2))
}

// checkDeviceKeyPair validates a device key pair and returns a copy with
// Leaf set.
func checkDeviceKeyPair(cert *tls.Certificate) (*tls.Certificate, error) {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, errors.New("no certificate")
	}
	key, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key %T is not a crypto.Signer", cert.PrivateKey)
	}
	tc := *cert
	if tc.Leaf == nil {
		leaf, err := x509.ParseCertificate(tc.Certificate[0])
		if err != nil {
			return nil, err
		}
		tc.Leaf = leaf
	}
	if !publicKeysEqual(key.Public(), tc.Leaf.PublicKey) {
		return nil, errors.New("private key does not match the certificate's public key")
	}
	if _, err := DeviceID(tc.Leaf); err != nil {
		return nil, err
	}
	return &tc, nil
}
