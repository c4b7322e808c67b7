package hub

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestOperatorCertRefused: a hub given an HTTPS certificate that cannot
// serve its public URL does not start, and says why and what to do.
func TestOperatorCertRefused(t *testing.T) {
	op := certstest.NewOperator(t, time.Now(), "intranet.example.org")
	certFile, keyFile := op.CertFile, op.KeyFile
	for _, tc := range []struct {
		name         string
		cert, key    string
		want1, want2 string
	}{
		{"another host", certFile, keyFile, "does not cover the public URL's host hub.example.org", "leave --tls-cert and --tls-key out"},
		{"no key", certFile, "", "together", "or neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://hub.example.org:8443",
				TLSCertFile: tc.cert, TLSKeyFile: tc.key})
			if err == nil {
				s.Close()
				t.Fatal("the hub started")
			}
			if !strings.Contains(err.Error(), tc.want1) || !strings.Contains(err.Error(), tc.want2) {
				t.Errorf("error %q, want it to say %q and %q", err, tc.want1, tc.want2)
			}
		})
	}
}

// TestOperatorCertExpiryMessage: the hub cannot renew an operator's
// certificate, so what renewServerCert logs of it (externalCertExpiry)
// says when one is about to expire, and louder once it has.
func TestOperatorCertExpiryMessage(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		left  time.Duration
		level slog.Level
		want  string
	}{
		{30 * 24 * time.Hour, 0, ""},
		{14*24*time.Hour + time.Minute, 0, ""},
		{14 * 24 * time.Hour, slog.LevelWarn, "expires soon"},
		{time.Hour, slog.LevelWarn, "expires soon"},
		{0, slog.LevelError, "has expired"},
		{-time.Hour, slog.LevelError, "has expired"},
	} {
		msg, level := externalCertExpiry(now.Add(tc.left), now)
		if (tc.want == "") != (msg == "") || !strings.Contains(msg, tc.want) || level != tc.level {
			t.Errorf("%s left: %q at %s, want %q at %s", tc.left, msg, level, tc.want, tc.level)
		}
	}
}

// TestOperatorCertRSA: the hub starts on an RSA certificate, the kind
// most CAs issue, with its key as OpenSSL writes it (PKCS #1), and serves
// it.
func TestOperatorCertRSA(t *testing.T) {
	now := time.Now()
	op, err := certs.NewCA("Operator Test Root", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub.example.org"}, DNSNames: []string{"hub.example.org"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, op.Cert, key.Public(), op.Key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := certs.WriteCertFile(certFile, der); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://hub.example.org:8443",
		TLSCertFile: certFile, TLSKeyFile: keyFile})
	if err != nil {
		t.Fatalf("the hub refused an RSA certificate: %v", err)
	}
	defer s.Close()
	if c := s.certs.Certificate(); !s.certs.ExternalCert() || !bytes.Equal(c.Leaf.Raw, der) {
		t.Error("the hub does not serve the operator's RSA certificate")
	}
}

// TestOperatorCertFailureLoggedOnce: operator's files that stay broken are
// logged when they first fail, again when the error changes and then
// hourly, not at every check a minute; and once when they are good again.
func TestOperatorCertFailureLoggedOnce(t *testing.T) {
	now := time.Now()
	op := certstest.NewOperator(t, now, "hub.example.org")
	var logs bytes.Buffer
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://hub.example.org:8443",
		TLSCertFile: op.CertFile, TLSKeyFile: op.KeyFile, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	good, err := os.ReadFile(op.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	failures := func() int { return strings.Count(logs.String(), `msg="renew server certificate"`) }
	var st certTicks
	tick := func(after time.Duration) {
		t.Helper()
		s.serverCertTick(t.Context(), now.Add(after), &st)
	}
	if err := os.WriteFile(op.CertFile, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for m := range 5 {
		tick(time.Duration(m+1) * time.Minute)
	}
	if n := failures(); n != 1 {
		t.Fatalf("a broken file logged %d times over five checks, want once:\n%s", n, logs.String())
	}
	tick(61 * time.Minute)
	if n := failures(); n != 2 {
		t.Errorf("after an hour: %d failures logged, want the reminder (2)", n)
	}
	if err := os.WriteFile(op.CertFile, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644); err != nil { // another error
		t.Fatal(err)
	}
	tick(62 * time.Minute)
	if n := failures(); n != 3 {
		t.Errorf("another error: %d failures logged, want it logged (3):\n%s", n, logs.String())
	}
	if err := os.WriteFile(op.CertFile, good, 0o644); err != nil {
		t.Fatal(err)
	}
	tick(63 * time.Minute)
	tick(64 * time.Minute)
	if n := failures(); n != 3 || strings.Count(logs.String(), "readable again") != 1 {
		t.Errorf("files good again: %d failures, %d all-clears logged; want 3 and 1:\n%s", n, strings.Count(logs.String(), "readable again"), logs.String())
	}
}
