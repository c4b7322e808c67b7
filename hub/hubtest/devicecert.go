package hubtest

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// Cert returns the device certificate k presents when it dials.
func (k *Kiosk) Cert() *tls.Certificate {
	k.t.Helper()
	c, err := k.TLS.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || c == nil {
		k.t.Fatalf("kiosk %s has no device certificate: %v", k.Name, err)
	}
	return c
}

// UseCert makes k present cert from its next dial on, as an agent does
// once it has stored a renewed certificate.
func (k *Kiosk) UseCert(cert *tls.Certificate) {
	k.t.Helper()
	r, err := certs.NewRenewer(cert)
	if err != nil {
		k.t.Fatal(err)
	}
	k.TLS = certs.ClientTLSConfig(k.TLS.RootCAs, r)
}

// TryRenew sends cert.renew over k's channel with a CSR for a fresh key
// and returns the hub's answer, with the certificate it issued and its
// key (nil when the answer is not a certificate). k goes on presenting
// the certificate it had: UseCert switches.
func (k *Kiosk) TryRenew() (wire.Envelope, *tls.Certificate) {
	k.t.Helper()
	key, err := certs.NewDeviceKey()
	if err != nil {
		k.t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, k.ID)
	if err != nil {
		k.t.Fatal(err)
	}
	id := k.Send(wire.TypeCertRenew, wire.CertRenew{CSR: csr})
	env := k.Recv(10 * time.Second)
	if env.Re != id {
		k.t.Fatalf("cert.renew: unexpected %s (re %q) while waiting for the reply", env.Type, env.Re)
	}
	if env.Type != wire.TypeCert {
		return env, nil
	}
	var c wire.Cert
	if err := env.Unmarshal(&c); err != nil {
		k.t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Cert)
	if err != nil {
		k.t.Fatalf("cert.renew: the certificate does not parse: %v", err)
	}
	return env, &tls.Certificate{Certificate: [][]byte{c.Cert}, PrivateKey: key, Leaf: leaf}
}

// Renew is TryRenew for a renewal that must succeed; it returns the new
// certificate.
func (k *Kiosk) Renew() *tls.Certificate {
	k.t.Helper()
	env, cert := k.TryRenew()
	if cert == nil {
		k.t.Fatalf("cert.renew: got %s %s, want %s", env.Type, env.Data, wire.TypeCert)
	}
	return cert
}

// TryDial is Dial("") that returns the error of a refused dial (a TLS
// handshake the hub refused, an HTTP status) instead of failing the test.
func (k *Kiosk) TryDial() error {
	k.t.Helper()
	u, _ := url.Parse(k.h.URL)
	u.Scheme, u.Path = "wss", wire.WSPath
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(context.Background(), u.String(), nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial: HTTP %d: %w", resp.StatusCode, err)
		}
		return fmt.Errorf("dial: %w", err)
	}
	k.Conn = conn
	k.t.Cleanup(func() { conn.Close() })
	var w wire.Welcome
	k.Call(wire.TypeHello, wire.Hello{AgentVersion: "test", Profile: "generic-x86"}, wire.TypeWelcome, &w)
	return nil
}

// IssueDeviceCert signs a certificate for deviceID with the hub's CA
// (DataDir/ca.pem and ca-key.pem), valid from the hub's clock's now for
// lifetime, as anyone holding the CA key could: the hub never recorded
// it.
func (h *Hub) IssueDeviceCert(t testing.TB, deviceID string, lifetime time.Duration) *tls.Certificate {
	t.Helper()
	pair, err := certs.LoadKeyPair(filepath.Join(h.DataDir, certs.CACertFile), filepath.Join(h.DataDir, certs.CAKeyFile))
	if err != nil {
		t.Fatalf("load the hub CA: %v", err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		t.Fatal(errors.New("the hub CA key is not a crypto.Signer"))
	}
	ca := &certs.CA{Cert: pair.Leaf, Key: signer}
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, deviceID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if h.Clock != nil {
		now = h.Clock.Now()
	}
	der, err := ca.SignDeviceCSR(csr, deviceID, lifetime, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
