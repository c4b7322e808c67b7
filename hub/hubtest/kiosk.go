package hubtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Kiosk is a bare device-channel client for hub tests: it speaks the wire
// protocol message by message, so tests control every step.
type Kiosk struct {
	t      testing.TB
	h      *Hub
	ID     string
	Name   string
	Site   string
	TLS    *tls.Config
	Conn   *websocket.Conn
	nextID int
}

// AdminToken returns an admin-scope token, made on first use.
func (h *Hub) AdminToken(t testing.TB) string {
	t.Helper()
	if h.adminToken == "" {
		h.adminToken = h.Token(t, "test-admin", "admin")
	}
	return h.adminToken
}

// API sends an admin API request and returns the response.
func (h *Hub) API(t testing.TB, method, path string, body any) Response {
	t.Helper()
	return h.DoToken(t, h.AdminToken(t), method, path, body)
}

// EnrollKiosk enrolls a kiosk named name at site through the real flow
// (admin API code, CSR, /agent/v1/enroll) and returns it, not connected.
func (h *Hub) EnrollKiosk(t testing.TB, name, site string) *Kiosk {
	t.Helper()
	return h.EnrollKioskProfile(t, name, site, "generic-x86")
}

// EnrollKioskProfile is EnrollKiosk for a kiosk of the given hardware profile.
func (h *Hub) EnrollKioskProfile(t testing.TB, name, site, profile string) *Kiosk {
	t.Helper()
	r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": name, "site": site})
	if r.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	code, _ := r.JSON()["code"].(string)
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, name)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: profile})
	resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("enroll %s: %d %s", name, resp.StatusCode, b)
	}
	var er wire.EnrollResponse
	if err := json.Unmarshal(b, &er); err != nil {
		t.Fatal(err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{er.Cert}, PrivateKey: key}
	renewer, err := certs.NewRenewer(cert)
	if err != nil {
		t.Fatal(err)
	}
	base := h.Client.Transport.(*http.Transport).TLSClientConfig
	return &Kiosk{t: t, h: h, ID: er.DeviceID, Name: er.DeviceName, Site: er.Site, TLS: certs.ClientTLSConfig(base.RootCAs, renewer)}
}

// Dial opens the device channel and says hello, as an agent from before
// wire.Hello.Complete; it returns the welcome.
func (k *Kiosk) Dial(liveSession string) wire.Welcome {
	k.t.Helper()
	return k.DialHello(wire.Hello{LiveSession: liveSession})
}

// DialHello opens the device channel and says hello h (AgentVersion and
// Profile filled in when empty); it returns the welcome.
func (k *Kiosk) DialHello(h wire.Hello) wire.Welcome {
	k.t.Helper()
	if h.AgentVersion == "" {
		h.AgentVersion = "test"
	}
	if h.Profile == "" {
		h.Profile = "generic-x86"
	}
	u, _ := url.Parse(k.h.URL)
	u.Scheme, u.Path = "wss", wire.WSPath
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(context.Background(), u.String(), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		k.t.Fatalf("dial %s: %v (HTTP %d)", u, err, status)
	}
	k.Conn = conn
	k.t.Cleanup(func() { conn.Close() })
	var w wire.Welcome
	k.Call(wire.TypeHello, h, wire.TypeWelcome, &w)
	return w
}

// Send writes one request and returns its ID.
func (k *Kiosk) Send(typ string, data any) string {
	k.t.Helper()
	k.nextID++
	id := "k" + strconv.Itoa(k.nextID)
	env, err := wire.New(typ, id, "", data)
	if err != nil {
		k.t.Fatal(err)
	}
	if err := k.Conn.WriteJSON(env); err != nil {
		k.t.Fatalf("send %s: %v", typ, err)
	}
	return id
}

// Recv reads the next message within timeout.
func (k *Kiosk) Recv(timeout time.Duration) wire.Envelope {
	k.t.Helper()
	k.Conn.SetReadDeadline(time.Now().Add(timeout))
	var env wire.Envelope
	if err := k.Conn.ReadJSON(&env); err != nil {
		k.t.Fatalf("receive: %v", err)
	}
	return env
}

// Call sends a request and decodes the reply, which must have type want.
func (k *Kiosk) Call(typ string, data any, want string, out any) wire.Envelope {
	k.t.Helper()
	id := k.Send(typ, data)
	for {
		env := k.Recv(10 * time.Second)
		if env.Re != id {
			k.t.Fatalf("%s: unexpected %s (re %q) while waiting for the reply", typ, env.Type, env.Re)
		}
		if env.Type != want {
			k.t.Fatalf("%s: got %s %s, want %s", typ, env.Type, env.Data, want)
		}
		if out != nil {
			if err := env.Unmarshal(out); err != nil {
				k.t.Fatal(err)
			}
		}
		return env
	}
}

// Ack acknowledges a push.
func (k *Kiosk) Ack(push wire.Envelope) {
	k.t.Helper()
	env, _ := wire.New(wire.TypeAck, "", push.ID, nil)
	if err := k.Conn.WriteJSON(env); err != nil {
		k.t.Fatalf("ack: %v", err)
	}
}

// WaitAcked waits until the hub has recorded the kiosk's acknowledgement
// of the teardown of session (its first revocation), failing t after 5 s.
func (h *Hub) WaitAcked(t testing.TB, session string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: session})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > 0 && !rs[0].Acked.IsZero() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("revocation of session %s never recorded as acknowledged", session)
}

// RegisterBadge arms an enrollment of userName at kiosk k through the
// admin API and completes it with a new software badge made with opts (a
// real WebAuthn registration ceremony), as a supervisor and a worker do.
// The kiosk must be connected.
func (h *Hub) RegisterBadge(t testing.TB, k *Kiosk, userName string, opts authenticator.SoftOptions) authenticator.Authenticator {
	t.Helper()
	reply, badge := h.TryRegisterBadge(t, k, userName, opts)
	var reg wire.Registered
	if reply.Type != wire.TypeRegistered || reply.Unmarshal(&reg) != nil {
		t.Fatalf("registration: got %s %s, want %s", reply.Type, reply.Data, wire.TypeRegistered)
	}
	if reg.User != userName {
		t.Errorf("registered for %q, want %q", reg.User, userName)
	}
	return badge
}

// TryRegisterBadge is RegisterBadge that returns the hub's answer to the
// registration (registered, or an error), with the badge, instead of
// requiring it to succeed.
func (h *Hub) TryRegisterBadge(t testing.TB, k *Kiosk, userName string, opts authenticator.SoftOptions) (wire.Envelope, authenticator.Authenticator) {
	t.Helper()
	push, es := h.ArmEnrollment(t, k, userName)
	return TapToRegister(t, k, push, es, userName, opts)
}

// TapToRegister answers the enroll.start push k received (es, its
// content), however the enrollment was armed, with a new soft badge of
// userName, as a worker's tap does, and returns the hub's answer to the
// registration with the badge.
func TapToRegister(t testing.TB, k *Kiosk, push wire.Envelope, es wire.EnrollStart, userName string, opts authenticator.SoftOptions) (wire.Envelope, authenticator.Authenticator) {
	t.Helper()
	opts.NoSync = true
	badge, err := authenticator.NewSoft(t.TempDir(), userName, opts)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := authenticator.Register(t.Context(), badge, es.Origin, es.Options)
	if err != nil {
		t.Fatal(err)
	}
	id := k.Send(wire.TypeRegister, wire.Register{Credential: cred})
	reply := k.Recv(10 * time.Second)
	if reply.Re != id {
		t.Fatalf("got %s %s, want the answer to the registration", reply.Type, reply.Data)
	}
	k.Ack(push)
	return reply, badge
}

// ArmEnrollment authorises an enrollment of userName at k, as an admin
// does (POST /api/v1/enrollments), and returns the enroll.start push k
// receives, with its content.
func (h *Hub) ArmEnrollment(t testing.TB, k *Kiosk, userName string) (wire.Envelope, wire.EnrollStart) {
	t.Helper()
	if r := h.API(t, "POST", "/api/v1/enrollments", map[string]string{"user": userName, "device": k.Name}); r.Status != http.StatusAccepted {
		t.Fatalf("enrollment: %d %s", r.Status, r.Body)
	}
	push := k.Recv(5 * time.Second)
	var es wire.EnrollStart
	if push.Type != wire.TypeEnrollStart || push.Unmarshal(&es) != nil {
		t.Fatalf("got %s %s, want enroll.start", push.Type, push.Data)
	}
	return push, es
}

// Tap runs one login at k with badge — challenge, assertion, login — and
// returns the hub's reply and the assertion that was sent.
func (k *Kiosk) Tap(t testing.TB, badge authenticator.Authenticator) (wire.Envelope, json.RawMessage) {
	t.Helper()
	var ch wire.Challenge
	k.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, &ch)
	assertion, err := authenticator.Authenticate(t.Context(), badge, ch.Origin, ch.Options)
	if err != nil {
		t.Fatal(err)
	}
	id := k.Send(wire.TypeLogin, wire.Login{Credential: assertion})
	env := k.Recv(5 * time.Second)
	if env.Re != id {
		t.Fatalf("reply to %s, want %s", env.Re, id)
	}
	return env, assertion
}
