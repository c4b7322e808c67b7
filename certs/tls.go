package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrNoDeviceCert is returned by RequireDeviceCert when the connection has no
// verified client certificate. Test with errors.Is.
var ErrNoDeviceCert = errors.New("no verified device certificate")

// ServerTLSConfig returns the hub's HTTPS configuration. One port serves
// browsers, SCIM clients and kiosks, so a client certificate is optional at
// the TLS layer (tls.VerifyClientCertIfGiven): a presented one must chain to
// the hub CA, carry ExtKeyUsageClientAuth and be within its validity period,
// or the handshake fails. Kiosk endpoints then insist on one with
// RequireDeviceCert.
//
// When a client certificate was presented, VerifyConnection extracts its
// device ID and calls verifyDevice(id, leaf); a non-nil error fails the
// handshake. This is where a disabled or unknown device is refused, and it
// also runs on resumed sessions, so a device disabled since its last
// handshake cannot get back in with a session ticket. A nil verifyDevice
// accepts every device certificate the CA signed; production must pass one.
//
// The server certificate comes from h.GetCertificate, so RenewServerCert
// takes effect without a restart. TLS 1.2 is the minimum, with ECDHE and
// AEAD cipher suites only (tls12CipherSuites); Go negotiates 1.3 whenever
// the client offers it.
func ServerTLSConfig(h *Hub, verifyDevice func(deviceID string, cert *x509.Certificate) error) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   tls12CipherSuites(),
		GetCertificate: h.GetCertificate,
		ClientAuth:     tls.VerifyClientCertIfGiven,
		ClientCAs:      h.CA.Pool(),
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil
			}
			if len(cs.VerifiedChains) == 0 {
				// Cannot happen with VerifyClientCertIfGiven; refuse
				// rather than trust an unverified certificate.
				return errors.New("client certificate not verified")
			}
			leaf := cs.VerifiedChains[0][0]
			id, err := DeviceID(leaf)
			if err != nil {
				return fmt.Errorf("client certificate: %w", err)
			}
			if verifyDevice == nil {
				return nil
			}
			if err := verifyDevice(id, leaf); err != nil {
				return fmt.Errorf("device %s refused: %w", id, err)
			}
			return nil
		},
	}
}

// tls12CipherSuites returns the cipher suites both ends allow with TLS 1.2:
// ECDHE key exchange (forward secrecy) with an AEAD (AES-GCM or
// ChaCha20-Poly1305), for ECDSA and RSA server keys (RSA for an operator's
// certificate, UseExternalCert). Go's defaults also allow AES-CBC with
// HMAC-SHA1, whose MAC-then-encrypt construction is what Lucky13-style
// padding oracles attack, and GODEBUG=tlsrsakex=1 or tls3des=1 in the
// environment would bring back RSA key exchange (no forward secrecy) and
// 3DES; an explicit list keeps both out whatever the environment. Every
// TLS 1.2 client of the last decade (browsers, Microsoft Entra ID's
// provisioning service, Prometheus, curl) offers one of these. TLS 1.3
// suites are not configurable in Go and are all AEADs.
func tls12CipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// RequireDeviceCert returns the device ID of the verified client certificate
// of a connection accepted with ServerTLSConfig (for HTTP handlers,
// r.TLS). It fails with ErrNoDeviceCert for plain-HTTP requests and for TLS
// connections without a client certificate. The device was already checked
// by verifyDevice during the handshake; handlers serving long-lived
// channels must still watch for the device being disabled later.
func RequireDeviceCert(state *tls.ConnectionState) (deviceID string, err error) {
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return "", ErrNoDeviceCert
	}
	return DeviceID(state.VerifiedChains[0][0])
}

// ClientTLSConfig returns the kiosk agent's configuration for talking to the
// hub. It trusts caPool only (the hub CA from CAPool, never the system
// roots; a nil caPool trusts nothing) and presents r's current certificate when the hub asks; r may be
// nil before enrollment, when the agent has no certificate yet. As on the
// hub, TLS 1.2 is the minimum, with ECDHE and AEAD cipher suites only.
//
// ServerName is left empty on purpose: tls.Dial, net/http and WebSocket
// dialers fill it in from the address dialed, and crypto/tls verifies an IP
// address against the certificate's IP SANs. Hub server certificates always
// list localhost, 127.0.0.1 and ::1, so "https://127.0.0.1:8443" works
// without overrides. Set ServerName on the returned config only when
// dialing one address but verifying another name (tls.Client with a raw
// connection needs it set).
func ClientTLSConfig(caPool *x509.CertPool, r *Renewer) *tls.Config {
	if caPool == nil {
		// A nil RootCAs means "system roots"; an agent must never fall
		// back to those, so a missing pool trusts nothing instead.
		caPool = x509.NewCertPool()
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: tls12CipherSuites(),
		RootCAs:      caPool,
	}
	if r != nil {
		cfg.GetClientCertificate = r.GetClientCertificate
	}
	return cfg
}
