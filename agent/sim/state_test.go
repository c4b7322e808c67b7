package sim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// testPKI is a hub CA, an operator's root and another hub's CA.
type testPKI struct {
	hub, op, other *certs.CA
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	now := time.Now()
	p := &testPKI{}
	for _, c := range []struct {
		ca   **certs.CA
		name string
	}{{&p.hub, "Shiftgate Hub CA 0a0b0c0d"}, {&p.op, "Operator Test Root"}, {&p.other, "Shiftgate Hub CA 01020304"}} {
		ca, err := certs.NewCA(c.name, now)
		if err != nil {
			t.Fatal(err)
		}
		*c.ca = ca
	}
	return p
}

// kioskOf enrolls a kiosk with ca as the hub would.
func kioskOf(t *testing.T, ca *certs.CA, name string) kioskState {
	t.Helper()
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, name)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.SignDeviceCSR(csr, "dev-"+name, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return kioskState{Name: name, DeviceID: "dev-" + name, Key: der, Cert: cert}
}

func writeStateFile(t *testing.T, dir string, st any) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLoadStateChecks: the kiosks of a state must be of its hub CA, and
// that CA the one the hub takes device certificates from.
func TestLoadStateChecks(t *testing.T) {
	p := newTestPKI(t)
	base := func() *state {
		return &state{Version: stateVersion, DeviceCA: p.hub.Cert.Raw, Site: "north", Prefix: "simabcd",
			Kiosks: []kioskState{kioskOf(t, p.hub, "k1"), kioskOf(t, p.hub, "k2")}}
	}
	tests := []struct {
		name    string
		mod     func(*state)
		hubCAs  [][]byte
		wantErr string
	}{
		{name: "good", hubCAs: [][]byte{p.hub.Cert.RawSubject}},
		{name: "hub named no CA", hubCAs: nil},
		{name: "hub CA among several", hubCAs: [][]byte{p.other.Cert.RawSubject, p.hub.Cert.RawSubject}},
		{name: "another hub", hubCAs: [][]byte{p.other.Cert.RawSubject},
			wantErr: `belongs to another hub, or one whose CA was replaced: its kiosks' certificates are from "CN=Shiftgate Hub CA 0a0b0c0d,O=Shiftgate", and this hub takes them from "CN=Shiftgate Hub CA 01020304,O=Shiftgate"`},
		{name: "kiosk of another CA", mod: func(st *state) { st.Kiosks[1] = kioskOf(t, p.other, "k2") },
			wantErr: `kiosk k2 certificate: issued by "CN=Shiftgate Hub CA 01020304,O=Shiftgate", not by the hub CA`},
		{name: "kiosk of a CA of the same name", mod: func(st *state) {
			twin, err := certs.NewCA("Shiftgate Hub CA 0a0b0c0d", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			st.Kiosks[0] = kioskOf(t, twin, "k1")
		}, wantErr: `kiosk k1 certificate: issued by another CA named "CN=Shiftgate Hub CA 0a0b0c0d,O=Shiftgate" than the hub CA`},
		{name: "no hub CA", mod: func(st *state) { st.DeviceCA = nil }, wantErr: "kiosk k1 enrolled, but no hub CA recorded"},
		{name: "garbled hub CA", mod: func(st *state) { st.DeviceCA = []byte("x") }, wantErr: "hub CA:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st := base()
			if tt.mod != nil {
				tt.mod(st)
			}
			writeStateFile(t, dir, st)
			got, err := loadState(dir, "north", tt.hubCAs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "fresh --state directory") {
					t.Fatalf("error %v, want one saying %q and what to do", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := &Sim{st: got}
			for i := range got.Kiosks {
				if _, err := s.kioskFor(i); err != nil {
					t.Errorf("kiosk %d: %v", i, err)
				}
			}
		})
	}

	// A key that is not the certificate's.
	st := base()
	st.Kiosks[0].Key = kioskOf(t, p.hub, "k9").Key
	dir := t.TempDir()
	writeStateFile(t, dir, st)
	got, err := loadState(dir, "north", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Sim{st: got}).kioskFor(0); err == nil || !strings.Contains(err.Error(), "certificate and key do not match") {
		t.Errorf("kiosk with another key: %v", err)
	}
}

// TestAnswerCA: the hub CA is the one the enrollment answer names; an
// older hub names none, and it is then the CA of --ca that issued the
// certificate. One state holds the kiosks of one hub CA.
func TestAnswerCA(t *testing.T) {
	p := newTestPKI(t)
	leaf, err := x509.ParseCertificate(kioskOf(t, p.hub, "k1").Cert)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sim{roots: []*x509.Certificate{p.op.Cert}, cfg: Config{CAFile: "root.pem"}}
	if ca, err := s.answerCA(wire.EnrollResponse{DeviceCA: p.hub.Cert.Raw}, leaf); err != nil || !ca.Equal(p.hub.Cert) {
		t.Errorf("named: %v, %v", ca, err)
	}
	if _, err := s.answerCA(wire.EnrollResponse{}, leaf); err == nil || !strings.Contains(err.Error(), "names no device CA") || !strings.Contains(err.Error(), "root.pem") {
		t.Errorf("older hub, operator's root alone in --ca: %v", err)
	}
	if _, err := s.answerCA(wire.EnrollResponse{DeviceCA: leaf.Raw}, leaf); err == nil || !strings.Contains(err.Error(), "not a CA certificate") {
		t.Errorf("a leaf named as the CA: %v", err)
	}
	s.roots = append(s.roots, p.other.Cert, p.hub.Cert)
	if ca, err := s.answerCA(wire.EnrollResponse{}, leaf); err != nil || !ca.Equal(p.hub.Cert) {
		t.Errorf("older hub, hub CA in --ca: %v, %v", ca, err)
	}

	st := &state{}
	if err := st.setDeviceCA(p.hub.Cert); err != nil || !bytes.Equal(st.DeviceCA, p.hub.Cert.Raw) {
		t.Fatalf("first: %v", err)
	}
	if err := st.setDeviceCA(p.hub.Cert); err != nil {
		t.Errorf("same again: %v", err)
	}
	if err := st.setDeviceCA(p.other.Cert); err == nil || !strings.Contains(err.Error(), "belongs to another hub") {
		t.Errorf("another CA: %v", err)
	}
}

// TestCheckIssued: an enrollment's certificate is checked to the
// signature, which catches a CA made to look like the hub CA (its name
// and key ID); a state's by issuer name and key ID, enough to tell
// another hub's CA (TestLoadStateChecks).
func TestCheckIssued(t *testing.T) {
	p := newTestPKI(t)
	hub := p.hub.Cert
	good, err := x509.ParseCertificate(kioskOf(t, p.hub, "k1").Cert)
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []bool{false, true} {
		if err := checkIssued(good, hub, sig); err != nil {
			t.Errorf("signature %v: %v", sig, err)
		}
	}

	// A look-alike: the hub CA's name and key ID, another key.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	twin := &x509.Certificate{SerialNumber: hub.SerialNumber, Subject: hub.Subject, SubjectKeyId: hub.SubjectKeyId,
		NotBefore: hub.NotBefore, NotAfter: hub.NotAfter, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	twinDER, err := x509.CreateCertificate(rand.Reader, twin, twin, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if twin, err = x509.ParseCertificate(twinDER); err != nil {
		t.Fatal(err)
	}
	forged, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: good.SerialNumber, Subject: good.Subject,
		NotBefore: good.NotBefore, NotAfter: good.NotAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, twin, good.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(forged)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkIssued(leaf, hub, true); err == nil || !strings.Contains(err.Error(), "not signed by the hub CA") {
		t.Errorf("look-alike's certificate, with signature: %v", err)
	}

	// The hub CA's server certificate is not a device certificate.
	served, err := p.hub.IssueServerCert([]string{"localhost"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := checkIssued(served.Leaf, hub, true); err == nil || !strings.Contains(err.Error(), "not for client authentication") {
		t.Errorf("server certificate: %v", err)
	}
}
