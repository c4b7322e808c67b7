package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestTLS12OnlyAEADSuites: with TLS 1.2 the hub accepts ECDHE with an AEAD
// only, a device certificate included, and the agent's configuration
// offers nothing else: a CBC-SHA1 suite (Go's default list still has
// them) fails the handshake on both ends.
func TestTLS12OnlyAEADSuites(t *testing.T) {
	pki := certstest.New(t)
	addr, results := startTLSServer(t, pki.ServerConfig(nil))

	tests := []struct {
		name   string
		suites []uint16
		wantOK bool
	}{
		{name: "ECDHE-ECDSA-AES128-GCM", suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, wantOK: true},
		{name: "ECDHE-ECDSA-CHACHA20", suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, wantOK: true},
		{name: "ECDHE-ECDSA-AES128-CBC-SHA", suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
		{name: "ECDHE-ECDSA-AES256-CBC-SHA", suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}},
		{name: "ECDHE-ECDSA-AES128-CBC-SHA256", suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pki.ClientConfig(t, "kiosk-1")
			cfg.MaxVersion = tls.VersionTLS12
			cfg.CipherSuites = tt.suites
			state, err := dial(t.Context(), addr, cfg)
			res := recv(t, results)
			if !tt.wantOK {
				if err == nil || res.err == nil {
					t.Fatalf("handshake with %s succeeded (client err %v, server err %v), want refused", tt.name, err, res.err)
				}
				return
			}
			if err != nil || res.err != nil {
				t.Fatalf("handshake: client %v, server %v", err, res.err)
			}
			if state.Version != tls.VersionTLS12 || state.CipherSuite != tt.suites[0] {
				t.Errorf("negotiated %s %s, want TLS 1.2 %s", tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite), tls.CipherSuiteName(tt.suites[0]))
			}
			if id, err := certs.RequireDeviceCert(&res.state); err != nil || id != "kiosk-1" {
				t.Errorf("RequireDeviceCert = %q, %v; want kiosk-1", id, err)
			}
		})
	}

	// The agent refuses a hub (or a machine in the middle) that offers a
	// CBC suite only.
	t.Run("agent refuses CBC", func(t *testing.T) {
		srv := pki.ServerConfig(nil)
		srv.MaxVersion = tls.VersionTLS12
		srv.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		cbcAddr, cbcResults := startTLSServer(t, srv)
		_, err := dial(t.Context(), cbcAddr, pki.ClientConfig(t, ""))
		recv(t, cbcResults)
		if err == nil {
			t.Fatal("the agent's configuration negotiated a CBC suite")
		}
	})

	// The suites are the configuration's own, not the environment's.
	for _, cfg := range []*tls.Config{pki.ServerConfig(nil), pki.ClientConfig(t, "")} {
		if len(cfg.CipherSuites) == 0 {
			t.Fatal("no explicit cipher suites: GODEBUG could bring back RSA key exchange and 3DES")
		}
		for _, id := range cfg.CipherSuites {
			name := tls.CipherSuiteName(id)
			if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
				t.Errorf("cipher suite %s allowed, want ECDHE with an AEAD only", name)
			}
		}
	}
}

// TestSignDeviceCSRErrInvalidCSR: the requester's mistakes wrap
// ErrInvalidCSR, the hub's do not, so that a CA that cannot sign is not
// reported to a kiosk as a bad request.
func TestSignDeviceCSRErrInvalidCSR(t *testing.T) {
	ca := mustCA(t, t0)
	good := rawCSR(t, p256Key(t), &x509.CertificateRequest{})
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	badSig := append([]byte(nil), good...)
	badSig[len(badSig)-3] ^= 0xff // in the signature value

	tests := []struct {
		name        string
		ca          *certs.CA
		csr         []byte
		deviceID    string
		now         time.Time
		wantInvalid bool
	}{
		{name: "garbage", ca: ca, csr: []byte("not a CSR"), deviceID: "kiosk-1", now: t0, wantInvalid: true},
		{name: "P-384 key", ca: ca, csr: rawCSR(t, p384, &x509.CertificateRequest{}), deviceID: "kiosk-1", now: t0, wantInvalid: true},
		{name: "bad signature", ca: ca, csr: badSig, deviceID: "kiosk-1", now: t0, wantInvalid: true},
		{name: "CA expired", ca: ca, csr: good, deviceID: "kiosk-1", now: t0.Add(certs.CALifetime + time.Hour)},
		{name: "CA key not the certificate's", ca: &certs.CA{Cert: ca.Cert, Key: p256Key(t)}, csr: good, deviceID: "kiosk-1", now: t0},
		{name: "bad device ID", ca: ca, csr: good, deviceID: "a/b", now: t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ca.SignDeviceCSR(tt.csr, tt.deviceID, time.Hour, tt.now)
			if err == nil {
				t.Fatal("signed, want an error")
			}
			if got := errors.Is(err, certs.ErrInvalidCSR); got != tt.wantInvalid {
				t.Errorf("errors.Is(%q, ErrInvalidCSR) = %v, want %v", err, got, tt.wantInvalid)
			}
		})
	}
	if _, err := ca.SignDeviceCSR(good, "kiosk-1", time.Hour, t0); err != nil {
		t.Fatalf("good CSR: %v", err)
	}
}
