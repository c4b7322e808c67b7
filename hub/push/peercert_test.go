package push

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// TestPeerCertificate: the Handler's context carries the device
// certificate the kiosk presented at the TLS handshake, in Hello and in
// every Request, so the hub can tell which of a device's certificates a
// channel was opened with (certificate renewal pins it).
func TestPeerCertificate(t *testing.T) {
	e := newTestEnv(t, nil)
	seen := make(chan *x509.Certificate, 2)
	e.rec.hello = func(ctx context.Context, deviceID string, _ wire.Hello) (wire.Welcome, error) {
		seen <- PeerCertificate(ctx)
		return wire.Welcome{DeviceID: deviceID}, nil
	}
	e.rec.request = func(ctx context.Context, _ string, env wire.Envelope) (wire.Envelope, error) {
		seen <- PeerCertificate(ctx)
		return wire.Envelope{Type: "echo.reply", Data: env.Data}, nil
	}
	cert := e.pki.Device(t, "kiosk-1")
	r, err := certs.NewRenewer(cert)
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{TLSClientConfig: certs.ClientTLSConfig(e.pki.CAPool(), r), HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial(e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	writeEnv(t, ws, wire.TypeHello, "h1", "", wire.Hello{AgentVersion: "test", Profile: "generic"})
	if env := readEnv(t, ws); env.Type != wire.TypeWelcome {
		t.Fatalf("got %+v, want welcome", env)
	}
	writeEnv(t, ws, "echo", "r1", "", "x")
	if env := readEnv(t, ws); env.Type != "echo.reply" {
		t.Fatalf("got %+v, want echo.reply", env)
	}
	for _, in := range []string{"Hello", "Request"} {
		got := recv(t, seen, in)
		if got == nil || !got.Equal(cert.Leaf) {
			t.Errorf("%s: PeerCertificate = %v, want the certificate the kiosk presented (serial %x)", in, got, cert.Leaf.SerialNumber)
		}
	}
	if c := PeerCertificate(t.Context()); c != nil {
		t.Errorf("PeerCertificate of a context of no channel = %v, want nil", c)
	}
}
