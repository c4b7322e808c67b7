// Package certstest builds throwaway in-process PKIs for tests of the hub,
// the agent and anything else that speaks mutual TLS: a hub CA and server
// certificate for 127.0.0.1/localhost in a temporary directory, plus device
// certificates on demand. Everything uses the real certs code paths, so a
// test that passes here exercises what production runs. Nothing is cached
// between tests; ECDSA P-256 keys make a fresh PKI cost a few milliseconds.
package certstest

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
)

// DeviceLifetime is the lifetime of device certificates from Device.
const DeviceLifetime = 24 * time.Hour

// Backdate is how long before its Now a PKI's CA and server certificate
// start to be valid, so that tests can issue certificates in the past (an
// expired device certificate, say) from the same CA.
const Backdate = 7 * 24 * time.Hour

// PKI is an in-process hub PKI. Its fields are read-only.
type PKI struct {
	// Hub is the hub PKI, stored in a t.TempDir.
	Hub *certs.Hub
	// CA is Hub.CA.
	CA *certs.CA
	// Now is the PKI's clock; Device issues relative to it. The hub PKI was
	// created at Now-Backdate.
	Now time.Time
	// Dir is the hub data directory holding ca.pem and the other files.
	Dir string
}

// New creates a PKI at the current time whose server certificate covers
// localhost, 127.0.0.1 and ::1. It fails tb on any error.
func New(tb testing.TB) *PKI {
	tb.Helper()
	return NewAt(tb, time.Now())
}

// NewAt is New with an explicit clock, for tests that move time.
func NewAt(tb testing.TB, now time.Time) *PKI {
	tb.Helper()
	dir := tb.TempDir()
	h, err := certs.LoadOrCreateHub(dir, nil, now.Add(-Backdate))
	if err != nil {
		tb.Fatalf("certstest: create hub PKI: %v", err)
	}
	return &PKI{Hub: h, CA: h.CA, Now: now, Dir: dir}
}

// CAPool returns a pool holding only the hub CA, as an agent builds it from
// ca.pem.
func (p *PKI) CAPool() *x509.CertPool { return p.CA.Pool() }

// CAPEM returns the hub CA certificate as PEM (the content of ca.pem).
func (p *PKI) CAPEM() []byte { return p.CA.CertPEM() }

// Device issues a certificate for deviceID valid from p.Now for
// DeviceLifetime, with a fresh key that went through a real CSR.
func (p *PKI) Device(tb testing.TB, deviceID string) *tls.Certificate {
	tb.Helper()
	return p.DeviceAt(tb, deviceID, DeviceLifetime, p.Now)
}

// DeviceAt issues a certificate for deviceID valid from now-1h to
// now+lifetime, as SignDeviceCSR does. Pass a now in the past for an
// expired certificate.
func (p *PKI) DeviceAt(tb testing.TB, deviceID string, lifetime time.Duration, now time.Time) *tls.Certificate {
	tb.Helper()
	key, err := certs.NewDeviceKey()
	if err != nil {
		tb.Fatalf("certstest: %v", err)
	}
	csr, err := certs.NewCSR(key, deviceID)
	if err != nil {
		tb.Fatalf("certstest: %v", err)
	}
	der, err := p.CA.SignDeviceCSR(csr, deviceID, lifetime, now)
	if err != nil {
		tb.Fatalf("certstest: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("certstest: %v", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// Renewer returns a certs.Renewer holding a fresh certificate for deviceID.
func (p *PKI) Renewer(tb testing.TB, deviceID string) *certs.Renewer {
	tb.Helper()
	r, err := certs.NewRenewer(p.Device(tb, deviceID))
	if err != nil {
		tb.Fatalf("certstest: %v", err)
	}
	return r
}

// ServerConfig returns certs.ServerTLSConfig for the hub with verifyDevice.
func (p *PKI) ServerConfig(verifyDevice func(deviceID string, cert *x509.Certificate) error) *tls.Config {
	return certs.ServerTLSConfig(p.Hub, verifyDevice)
}

// ClientConfig returns an agent configuration that trusts the hub CA and
// presents a fresh certificate for deviceID; an empty deviceID gives a
// configuration without a client certificate (an agent before enrollment).
func (p *PKI) ClientConfig(tb testing.TB, deviceID string) *tls.Config {
	tb.Helper()
	if deviceID == "" {
		return certs.ClientTLSConfig(p.CAPool(), nil)
	}
	return certs.ClientTLSConfig(p.CAPool(), p.Renewer(tb, deviceID))
}
