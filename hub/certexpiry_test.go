package hub_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// A device channel lives on past the TLS handshake that checked its
// certificate's validity period. These tests hold the hub to "short
// lifetime, renewed over the channel": a certificate that has expired by
// the hub's clock is not renewed (agent/README.md: "An expired
// certificate cannot be renewed"), does not open a channel, and does not
// keep one open.

// TestRenewRefusedWithExpiredCert: a kiosk whose renewals kept failing
// until its certificate expired, with its channel still open, asks to
// renew. The hub issues nothing (an expired credential must not mint a
// fresh 30-day one) and closes the channel saying why (as it does for a
// renewal over a superseded certificate, TestCertRenewOutlivedChannel):
// the kiosk must be enrolled again, as one whose certificate expired
// while it was away.
func TestRenewRefusedWithExpiredCert(t *testing.T) {
	h, clock, logs := startPinning(t, hubtest.Options{SchedulerInterval: time.Hour}) // no pass cuts it meanwhile
	k := h.EnrollKiosk(t, "north-1", "north")
	enrolled := k.Cert()
	k.Dial("")

	setClock(clock, enrolled.Leaf.NotAfter.Add(time.Minute))
	k.Send(wire.TypeCertRenew, wire.CertRenew{CSR: newCSR(t, k.ID)})
	k.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var env wire.Envelope
	err := k.Conn.ReadJSON(&env)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "expired") {
		t.Fatalf("renewal with a certificate that expired at %v (hub clock %v): got %s %s (%v), want no certificate and the channel closed (1008, expired)",
			enrolled.Leaf.NotAfter, clock.Now(), env.Type, env.Data, err)
	}
	if d := getDevice(t, h, k.ID); d.CertSerial != serial(enrolled) || d.PrevCertSerial != "" {
		t.Errorf("after the refused renewal the device records %q (previous %q), want %q as before", d.CertSerial, d.PrevCertSerial, serial(enrolled))
	}
	for _, want := range []string{"level=WARN", "expired", "device=" + k.ID, "enroll it again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the refusal's log lines lack %q:\n%s", want, logs.String())
		}
	}
}

// TestChannelCutAtCertExpiry: a channel whose device certificate expires
// while it is open is closed then (1008), within a pass of the scheduler,
// whatever the kiosk does; one whose kiosk renewed over it speaks for the
// certificate it was issued and stays open.
func TestChannelCutAtCertExpiry(t *testing.T) {
	h, clock, logs := startPinning(t, hubtest.Options{SchedulerInterval: graceCheck})
	stale := h.EnrollKiosk(t, "north-1", "north")
	expires := stale.Cert().Leaf.NotAfter
	stale.Dial("")

	renewing := h.EnrollKiosk(t, "north-2", "north")
	renewing.Dial("")

	setClock(clock, expires.Add(-enroll.DeviceCertLifetime/3)) // both due; one renews
	renewing.Renew()

	setClock(clock, expires.Add(-time.Second))
	time.Sleep(10 * graceCheck)
	mustAnswer(t, stale, "a second before its certificate expires")
	mustAnswer(t, renewing, "the channel renewed over")

	setClock(clock, expires.Add(time.Second))
	waitClosed(t, stale, "expired", "the channel whose certificate expired")
	time.Sleep(10 * graceCheck)
	mustAnswer(t, renewing, "the channel renewed over, past the expiry of the certificate it was opened with")
	if !strings.Contains(logs.String(), "device="+stale.ID) || !strings.Contains(logs.String(), "expired") {
		t.Errorf("no log line names the kiosk whose channel was closed at its certificate's expiry:\n%s", logs.String())
	}
}

// TestHelloRefusedAfterCertExpiry: the TLS handshake checked the
// certificate, but the hello comes later (the peer chooses when). One
// that comes after the certificate expired by the hub's clock is refused,
// as the handshake would refuse the certificate then.
func TestHelloRefusedAfterCertExpiry(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{SchedulerInterval: time.Hour})
	k := h.EnrollKiosk(t, "north-1", "north")
	expires := k.Cert().Leaf.NotAfter

	u, _ := url.Parse(h.URL)
	u.Scheme, u.Path = "wss", wire.WSPath
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.DialContext(context.Background(), u.String(), nil)
	if err != nil {
		t.Fatalf("the handshake: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	k.Conn = conn

	setClock(clock, expires.Add(time.Second))
	id := k.Send(wire.TypeHello, wire.Hello{AgentVersion: "test", Profile: "generic-x86"})
	env := k.Recv(5 * time.Second)
	var e wire.Error
	if env.Re != id || env.Type != wire.TypeError || env.Unmarshal(&e) != nil || e.Code != wire.ErrState || !strings.Contains(e.Message, "expired") {
		t.Fatalf("hello after the certificate expired: got %s %s, want %s saying it expired", env.Type, env.Data, wire.ErrState)
	}
}

// waitClosed waits until the hub closes k's channel with 1008 and a
// reason holding text, failing the test after 5 s.
func waitClosed(t *testing.T, k *hubtest.Kiosk, text, what string) {
	t.Helper()
	k.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var env wire.Envelope
		err := k.Conn.ReadJSON(&env)
		if err == nil {
			continue // what the hub sent before closing
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, text) {
			t.Fatalf("%s: %s's channel: %v, want it closed (1008, %s)", what, k.Name, err, text)
		}
		return
	}
}

// setClock moves the hub's clock to at.
func setClock(c *hubtest.Clock, at time.Time) { c.Advance(at.Sub(c.Now())) }

// TestKioskTextInLogsIsBounded: what a kiosk sends goes into the hub log
// cut short, as its error codes and messages are (maxKioskErrorMessage):
// a message type the hub does not know, a session.end reason it refuses,
// and a first message that is not a hello. Unbounded, each frame (up to
// wire.MaxMessageBytes) put its type or reason in the log at length,
// twice for an unknown type. The kiosk's answers are as before.
func TestKioskTextInLogsIsBounded(t *testing.T) {
	h, _, logs := startPinning(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	long := strings.Repeat("x", 60000)

	id := k.Send("kiosk."+long, map[string]string{})
	if env := k.Recv(5 * time.Second); env.Re != id || env.Type != wire.TypeError || !strings.Contains(string(env.Data), wire.ErrUnknownType) {
		t.Fatalf("unknown type: got %s %.200s, want %s", env.Type, env.Data, wire.ErrUnknownType)
	}
	id = k.Send(wire.TypeSessionEnd, wire.SessionEnd{SessionID: "s1", Reason: long})
	if env := k.Recv(5 * time.Second); env.Re != id || env.Type != wire.TypeError || !strings.Contains(string(env.Data), wire.ErrBadMessage) {
		t.Fatalf("session.end with an unknown reason: got %s %.200s, want %s", env.Type, env.Data, wire.ErrBadMessage)
	}

	// A first message that is not a hello.
	u, _ := url.Parse(h.URL)
	u.Scheme, u.Path = "wss", wire.WSPath
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.DialContext(context.Background(), u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	k.Conn = conn
	id = k.Send("kiosk."+long, map[string]string{})
	if env := k.Recv(5 * time.Second); env.Re != id || env.Type != wire.TypeError {
		t.Fatalf("a first message that is not a hello: got %s %.200s, want an error", env.Type, env.Data)
	}

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "before hello") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"unknown message type", "unknown reason", "before hello"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line says %q", want)
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if len(line) > 4096 {
			t.Errorf("a log line of %d bytes, want the kiosk's text in it cut short: %.300s…", len(line), line)
		}
	}
}
