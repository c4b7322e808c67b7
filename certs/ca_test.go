package certs_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/certs"
)

// t0 is a fixed clock for tests that do not handshake; whole seconds because
// X.509 times have second precision.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func mustCA(t testing.TB, now time.Time) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA("Test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	ca := mustCA(t, t0)
	c := ca.Cert
	got := struct {
		CN             string
		IsCA           bool
		MaxPathLen     int
		MaxPathLenZero bool
		KeyUsage       x509.KeyUsage
		NotAfter       time.Time
		Curve          string
	}{c.Subject.CommonName, c.IsCA, c.MaxPathLen, c.MaxPathLenZero, c.KeyUsage, c.NotAfter.UTC(), c.PublicKey.(*ecdsa.PublicKey).Curve.Params().Name}
	want := got
	want.CN, want.IsCA, want.MaxPathLen, want.MaxPathLenZero = "Test CA", true, 0, true
	want.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	want.NotAfter = t0.Add(certs.CALifetime)
	want.Curve = "P-256"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CA certificate (-want +got):\n%s", diff)
	}
	checkSerial(t, c.SerialNumber)
	if !c.NotBefore.Before(t0) {
		t.Errorf("NotBefore %v not backdated", c.NotBefore)
	}
	if _, err := certs.NewCA("", t0); err == nil {
		t.Error("NewCA with empty common name succeeded")
	}
}

func checkSerial(t *testing.T, n *big.Int) {
	t.Helper()
	if n.Sign() <= 0 || n.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", n)
	}
}

func TestSerialsAreRandom(t *testing.T) {
	ca := mustCA(t, t0)
	seen := map[string]bool{}
	for range 20 {
		der := signDevice(t, ca, p256Key(t), "kiosk-1")
		c, _ := x509.ParseCertificate(der)
		if seen[c.SerialNumber.String()] {
			t.Fatalf("serial %v repeated", c.SerialNumber)
		}
		seen[c.SerialNumber.String()] = true
	}
}

func p256Key(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signDevice(t *testing.T, ca *certs.CA, key crypto.Signer, id string) []byte {
	t.Helper()
	csr, err := certs.NewCSR(key, "whatever")
	if err != nil {
		t.Fatal(err)
	}
	der, err := ca.SignDeviceCSR(csr, id, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func rawCSR(t *testing.T, key crypto.Signer, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSignDeviceCSR(t *testing.T) {
	ca := mustCA(t, t0)
	p256 := p256Key(t)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	greedy := rawCSR(t, p256, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "hub.example.com", Organization: []string{"Admins"}},
		DNSNames:       []string{"hub.example.com", "localhost"},
		IPAddresses:    []net.IP{net.ParseIP("127.0.0.1")},
		EmailAddresses: []string{"admin@example.com"},
		URIs:           []*url.URL{{Scheme: "urn", Opaque: "shiftgate:device:someone-else"}},
	})
	tampered := bytes.Replace(rawCSR(t, p256, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "kiosk-aaaa"}}),
		[]byte("kiosk-aaaa"), []byte("kiosk-aaab"), 1)

	tests := []struct {
		name     string
		csr      []byte
		deviceID string
		lifetime time.Duration
		now      time.Time
		wantPub  crypto.PublicKey
		wantErr  string
	}{
		{name: "P-256", csr: rawCSR(t, p256, &x509.CertificateRequest{}), deviceID: "kiosk-1", wantPub: p256.Public()},
		{name: "Ed25519", csr: rawCSR(t, edKey, &x509.CertificateRequest{}), deviceID: "kiosk-1", wantPub: edKey.Public()},
		{name: "requested names ignored", csr: greedy, deviceID: "0b9e6a4c-3f1e-4c55-9d0b-4d1f6b8f0e21", wantPub: p256.Public()},
		{name: "lifetime clamped to CA expiry", csr: rawCSR(t, p256, &x509.CertificateRequest{}), deviceID: "kiosk-1", lifetime: 20 * 365 * 24 * time.Hour, wantPub: p256.Public()},
		{name: "bad signature", csr: tampered, deviceID: "kiosk-1", wantErr: "bad CSR signature"},
		{name: "RSA-1024 key", csr: rawCSR(t, rsa1024, &x509.CertificateRequest{}), deviceID: "kiosk-1", wantErr: "unsupported public key type"},
		{name: "P-384 key", csr: rawCSR(t, p384, &x509.CertificateRequest{}), deviceID: "kiosk-1", wantErr: "unsupported ECDSA curve P-384"},
		{name: "garbage", csr: []byte("not a CSR"), deviceID: "kiosk-1", wantErr: "sign device CSR"},
		{name: "empty device ID", csr: rawCSR(t, p256, &x509.CertificateRequest{}), deviceID: "", wantErr: "empty device ID"},
		{name: "device ID with slash", csr: rawCSR(t, p256, &x509.CertificateRequest{}), deviceID: "a/b", wantErr: "invalid character"},
		{name: "device ID too long", csr: rawCSR(t, p256, &x509.CertificateRequest{}), deviceID: strings.Repeat("a", 129), wantErr: "longer than"},
		{name: "zero lifetime", csr: rawCSR(t, p256, &x509.CertificateRequest{}), deviceID: "kiosk-1", lifetime: -1, wantErr: "not positive"},
		{name: "CA expired", csr: rawCSR(t, p256, &x509.CertificateRequest{}), deviceID: "kiosk-1", now: t0.Add(certs.CALifetime + time.Hour), wantErr: "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lifetime := tt.lifetime
			if lifetime == 0 {
				lifetime = 24 * time.Hour
			}
			if lifetime < 0 {
				lifetime = 0
			}
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			der, err := ca.SignDeviceCSR(tt.csr, tt.deviceID, lifetime, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			wantNotAfter := now.Add(lifetime)
			if wantNotAfter.After(ca.Cert.NotAfter) {
				wantNotAfter = ca.Cert.NotAfter
			}
			type view struct {
				CN          string
				Org         []string
				URIs        []string
				DNS         []string
				IPs         []net.IP
				Emails      []string
				ExtKeyUsage []x509.ExtKeyUsage
				KeyUsage    x509.KeyUsage
				IsCA        bool
				NotBefore   time.Time
				NotAfter    time.Time
			}
			got := view{CN: c.Subject.CommonName, Org: c.Subject.Organization, DNS: c.DNSNames, IPs: c.IPAddresses,
				Emails: c.EmailAddresses, ExtKeyUsage: c.ExtKeyUsage, KeyUsage: c.KeyUsage, IsCA: c.IsCA,
				NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
			for _, u := range c.URIs {
				got.URIs = append(got.URIs, u.String())
			}
			want := view{
				CN:          tt.deviceID,
				URIs:        []string{"urn:shiftgate:device:" + tt.deviceID},
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
				KeyUsage:    x509.KeyUsageDigitalSignature,
				NotBefore:   now.Add(-time.Hour), // as the server certificate: for kiosks whose clock lags
				NotAfter:    wantNotAfter,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("device certificate (-want +got):\n%s", diff)
			}
			if !tt.wantPub.(interface{ Equal(crypto.PublicKey) bool }).Equal(c.PublicKey) {
				t.Error("certificate public key is not the CSR's")
			}
			checkSerial(t, c.SerialNumber)
			if err := c.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("not signed by the CA: %v", err)
			}
			if id, err := certs.DeviceID(c); err != nil || id != tt.deviceID {
				t.Errorf("DeviceID = %q, %v; want %q", id, err, tt.deviceID)
			}
		})
	}
}

func TestDeviceID(t *testing.T) {
	key := p256Key(t)
	mk := func(uris ...string) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: t0, NotAfter: t0.Add(time.Hour)}
		for _, s := range uris {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			tmpl.URIs = append(tmpl.URIs, u)
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		want    string
		wantErr string
	}{
		{name: "device URI", cert: mk("urn:shiftgate:device:kiosk-9"), want: "kiosk-9"},
		{name: "device URI among others", cert: mk("https://example.com/", "urn:shiftgate:device:kiosk-9"), want: "kiosk-9"},
		{name: "no URI", cert: mk(), wantErr: "no urn:shiftgate:device:"},
		{name: "other URN", cert: mk("urn:example:device:kiosk-9"), wantErr: "no urn:shiftgate:device:"},
		{name: "two device URIs", cert: mk("urn:shiftgate:device:a", "urn:shiftgate:device:b"), wantErr: "several"},
		{name: "empty ID", cert: mk("urn:shiftgate:device:"), wantErr: "empty device ID"},
		{name: "query smuggled into ID", cert: mk("urn:shiftgate:device:a?b=c"), wantErr: "invalid character"},
		{name: "nil certificate", cert: nil, wantErr: "no certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := certs.DeviceID(tt.cert)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DeviceID = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DeviceID = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestIssueServerCertHosts(t *testing.T) {
	ca := mustCA(t, t0)
	tests := []struct {
		name    string
		hosts   []string
		wantDNS []string
		wantIPs []string
		wantErr bool
	}{
		{name: "defaults only", wantDNS: []string{"localhost"}, wantIPs: []string{"127.0.0.1", "::1"}},
		{
			name:    "names and addresses normalised",
			hosts:   []string{"Hub.Example.COM.", "10.0.0.5", "[fd00::1]", "", "*.kiosks.example.com", "localhost", "::1"},
			wantDNS: []string{"localhost", "hub.example.com", "*.kiosks.example.com"},
			wantIPs: []string{"127.0.0.1", "::1", "10.0.0.5", "fd00::1"},
		},
		{name: "URL", hosts: []string{"https://hub.example.com"}, wantErr: true},
		{name: "host with port", hosts: []string{"hub.example.com:8443"}, wantErr: true},
		{name: "space", hosts: []string{"hub example"}, wantErr: true},
		{name: "leading hyphen", hosts: []string{"-hub.example.com"}, wantErr: true},
		{name: "empty label", hosts: []string{"hub..example.com"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := ca.IssueServerCert(tt.hosts, certs.ServerCertLifetime, t0)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var ips []string
			for _, ip := range tc.Leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if diff := cmp.Diff(tt.wantDNS, tc.Leaf.DNSNames); diff != "" {
				t.Errorf("DNS SANs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIPs, ips); diff != "" {
				t.Errorf("IP SANs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, tc.Leaf.ExtKeyUsage); diff != "" {
				t.Errorf("ExtKeyUsage (-want +got):\n%s", diff)
			}
		})
	}
}
