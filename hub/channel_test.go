package hub_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// registerBadge authorises an enrollment of userName at kiosk k and
// completes it with a software badge.
func registerBadge(t testing.TB, h *hubtest.Hub, k *hubtest.Kiosk, userName string) authenticator.Authenticator {
	t.Helper()
	return h.RegisterBadge(t, k, userName, authenticator.SoftOptions{})
}

// tap runs one login at k with badge and returns the reply.
func tap(t *testing.T, k *hubtest.Kiosk, badge authenticator.Authenticator) (wire.Envelope, json.RawMessage) {
	t.Helper()
	return k.Tap(t, badge)
}

func grant(t *testing.T, env wire.Envelope) wire.SessionGrant {
	t.Helper()
	if env.Type != wire.TypeSessionGrant {
		t.Fatalf("got %s %s, want session.grant", env.Type, env.Data)
	}
	var g wire.SessionGrant
	if err := env.Unmarshal(&g); err != nil {
		t.Fatal(err)
	}
	return g
}

func refusal(t *testing.T, env wire.Envelope) string {
	t.Helper()
	if env.Type != wire.TypeLoginRefused {
		t.Fatalf("got %s %s, want login.refused", env.Type, env.Data)
	}
	var r wire.LoginRefused
	env.Unmarshal(&r)
	return r.Reason
}

// expectRevoke reads the next message, which must be session.revoke for
// session with reason, and acknowledges it.
func expectRevoke(t *testing.T, k *hubtest.Kiosk, session, reason string) {
	t.Helper()
	push := k.Recv(5 * time.Second)
	var rv wire.SessionRevoke
	if push.Type != wire.TypeSessionRevoke || push.Unmarshal(&rv) != nil || rv.SessionID != session || rv.Reason != reason {
		t.Fatalf("got %s %s, want session.revoke of %s (%s)", push.Type, push.Data, session, reason)
	}
	k.Ack(push)
}

// TestKioskLoginAndLeaver: enroll two kiosks, register a badge, sign in on
// both, deprovision over SCIM → both sessions revoked and acknowledged.
func TestKioskLoginAndLeaver(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "dana.kim", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", uid)
	k1 := h.EnrollKiosk(t, "north-1", "north")
	k2 := h.EnrollKiosk(t, "north-2", "north")
	south := h.EnrollKiosk(t, "south-1", "south")
	if w := k1.Dial(""); w.DeviceID != k1.ID || w.Site != "north" || w.Revoke != nil {
		t.Fatalf("welcome = %+v", w)
	}
	k2.Dial("")
	south.Dial("")
	badge := registerBadge(t, h, k1, "dana.kim")

	env, assertion := tap(t, k1, badge)
	g1 := grant(t, env)
	if g1.User != "dana.kim" || g1.Role != "Nurse" || len(g1.Apps) == 0 || !g1.ExpiresAt.After(time.Now()) {
		t.Errorf("grant = %+v", g1)
	}
	g2 := grant(t, first(tap(t, k2, badge)))

	// A replayed assertion is refused, and so is a kiosk at another site.
	id := k1.Send(wire.TypeLogin, wire.Login{Credential: assertion})
	if env := k1.Recv(5 * time.Second); env.Re != id || refusal(t, env) != wire.RefusedChallengeExpire {
		t.Errorf("replay: %s %s", env.Type, env.Data)
	}
	if got := refusal(t, first(tap(t, south, badge))); got != wire.RefusedNotAllowedHere {
		t.Errorf("other site refused with %q", got)
	}

	// A kiosk can end only its own sessions: k2 naming k1's is answered
	// (as for a session that is over) and changes nothing.
	k2.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g1.SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)
	if s, err := h.Store().GetSession(t.Context(), g1.SessionID); err != nil || !s.Ended.IsZero() {
		t.Fatalf("k1's session after k2 ended it: %+v, %v; want it live", s, err)
	}

	// The leaver: both kiosks are told, both acknowledge.
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`), 200)
	expectRevoke(t, k1, g1.SessionID, "deprovisioned")
	expectRevoke(t, k2, g2.SessionID, "deprovisioned")
	h.WaitAcked(t, g1.SessionID)
	h.WaitAcked(t, g2.SessionID)
	// The badge no longer opens anything.
	if got := refusal(t, first(tap(t, k1, badge))); got != wire.RefusedNotRecognised {
		t.Errorf("after deprovisioning refused with %q", got)
	}
}

func first(env wire.Envelope, _ json.RawMessage) wire.Envelope { return env }

// TestClonedBadgeSessionEnds: a copy of a badge signs in first; when the
// original taps next, its sign counter has gone backwards, the credential
// is suspended, and the session the copy opened is revoked at its kiosk
// (it would otherwise run to its expiry). Both badges are refused from
// then on.
func TestClonedBadgeSessionEnds(t *testing.T) {
	var logs syncBuffer
	h := hubtest.Start(t, hubtest.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	uid := createUser(t, h, "vic", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", uid)
	owner, thief := h.EnrollKiosk(t, "north-1", "north"), h.EnrollKiosk(t, "north-2", "north")
	owner.Dial("")
	thief.Dial("")
	original := h.RegisterBadge(t, owner, "vic", authenticator.SoftOptions{}).(*authenticator.Soft)
	dir := t.TempDir()
	b, err := os.ReadFile(original.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(original.Path())), b, 0o600); err != nil {
		t.Fatal(err)
	}
	clone, err := authenticator.NewSoft(dir, "vic", authenticator.SoftOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}

	stolen := grant(t, first(tap(t, thief, clone)))
	if got := refusal(t, first(tap(t, owner, original))); got != wire.RefusedNotRecognised {
		t.Fatalf("the original after the copy signed in: refused with %q, want %q", got, wire.RefusedNotRecognised)
	}
	expectRevoke(t, thief, stolen.SessionID, wire.ReasonCredentialRevoked)
	h.WaitAcked(t, stolen.SessionID)
	if s, err := h.Store().GetSession(t.Context(), stolen.SessionID); err != nil || s.EndReason != wire.ReasonCredentialRevoked {
		t.Errorf("the copy's session: %+v, %v; want ended %s", s, err, wire.ReasonCredentialRevoked)
	}
	creds, err := h.Store().ListCredentials(t.Context(), uid)
	if err != nil || len(creds) != 1 || creds[0].State != store.CredentialSuspended {
		t.Fatalf("credentials = %+v, %v; want the one suspended", creds, err)
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "credential.suspended"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("credential.suspended records = %+v, %v; want one", recs, err)
	}
	// The kiosk reads it as any badge it does not know; the hub log says
	// what it is, as a warning.
	if !strings.Contains(logs.String(), `level=WARN msg="possible cloned badge`) {
		t.Errorf("no warning of a possible cloned badge in the hub log:\n%s", logs.String())
	}
	var detail struct {
		Ended    []string `json:"sessionsEnded"`
		Previous string   `json:"previous_state"`
	}
	if err := json.Unmarshal(recs[0].Detail, &detail); err != nil || !slices.Equal(detail.Ended, []string{stolen.SessionID}) || detail.Previous != "active" {
		t.Errorf("audit detail %s: want the copy's session ended, previous state active", recs[0].Detail)
	}
	for _, badge := range []authenticator.Authenticator{clone, original} {
		if got := refusal(t, first(tap(t, thief, badge))); got != wire.RefusedNotRecognised {
			t.Errorf("a suspended badge refused with %q, want %q", got, wire.RefusedNotRecognised)
		}
	}
}

// signedIn provisions userName with role at site north, enrolls a kiosk
// north-1 and a badge, and signs the user in there.
func signedIn(t *testing.T, h *hubtest.Hub, userName, role string) (*hubtest.Kiosk, wire.SessionGrant) {
	t.Helper()
	uid := createUser(t, h, userName, `{"sites":["north"]}`)
	createGroup(t, h, role, uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, userName)
	return k, grant(t, first(tap(t, k, badge)))
}

// TestKioskOfflineRevocation: a kiosk that was away when
// its session was ended learns it in the welcome.
func TestKioskOfflineRevocation(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "ola", "Picker")
	k.Conn.Close()

	r := h.API(t, "POST", "/api/v1/users/ola/signout", nil)
	if r.Status != 200 || r.JSON()["sessions_ended"] != 1.0 {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	w := k.Dial(g.SessionID)
	if w.Revoke == nil || w.Revoke.SessionID != g.SessionID || w.Revoke.Reason != "forced" {
		t.Fatalf("welcome after offline sign-out = %+v", w)
	}
	// A session the hub never granted is never kept.
	k.Conn.Close()
	if w := k.Dial("made-up"); w.Revoke == nil {
		t.Error("unknown live session kept")
	}
}

// TestOfflineKioskReportsItsOwnTeardown: a kiosk offline when its user
// was deprovisioned ends the session by itself (it expired there), comes
// back without it, and reports the end: that report acknowledges the
// revocation, so the leaver is not left pending for ever. Another kiosk
// reporting the same session acknowledges nothing.
func TestOfflineKioskReportsItsOwnTeardown(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "ola", "Picker")
	other := h.EnrollKiosk(t, "north-2", "north")
	other.Dial("")
	k.Conn.Close()
	ola, _, err := h.Store().ListUsers(t.Context(), store.UserQuery{UserName: "ola"})
	if err != nil || len(ola) != 1 {
		t.Fatalf("users: %v, %v", ola, err)
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Users/"+ola[0].ID, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"active","value":false}]}`), 200)

	end := wire.SessionEnd{SessionID: g.SessionID, Reason: wire.ReasonExpired}
	other.Call(wire.TypeSessionEnd, end, wire.TypeAck, nil)
	if rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: g.SessionID}); err != nil || len(rs) != 1 || !rs[0].Acked.IsZero() {
		t.Fatalf("after another kiosk reported the session: %+v, %v; want one revocation, unacknowledged", rs, err)
	}
	k.Dial("")
	k.Call(wire.TypeSessionEnd, end, wire.TypeAck, nil)
	h.WaitAcked(t, g.SessionID)
}

// TestDisabledKioskIsCutOff: disabling a kiosk ends its sessions, closes
// its channel and refuses its certificate at the TLS handshake.
func TestDisabledKioskIsCutOff(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "mo", "Nurse")
	if r := h.API(t, "POST", "/api/v1/devices/north-1/disable", nil); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	expectRevoke(t, k, g.SessionID, "device_disabled")
	k.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := k.Conn.ReadMessage(); err == nil {
		t.Fatal("channel still open after disable")
	}
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
	if c, _, err := d.Dial("wss"+h.URL[len("https"):]+wire.WSPath, nil); err == nil {
		c.Close()
		t.Fatal("a disabled kiosk connected again")
	}
}

// TestChannelErrors: messages out of place get an error reply and the
// channel goes on.
func TestChannelErrors(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	id := k.Send(wire.TypeRegister, wire.Register{Credential: json.RawMessage(`{}`)})
	env := k.Recv(5 * time.Second)
	if env.Re != id || env.Type != wire.TypeError {
		t.Fatalf("register without enroll.start: %s %s", env.Type, env.Data)
	}
	id = k.Send("no.such.type", nil)
	if env := k.Recv(5 * time.Second); env.Re != id || env.Type != wire.TypeError {
		t.Fatalf("unknown type: %s %s", env.Type, env.Data)
	}
	// The channel still works.
	var ch wire.Challenge
	k.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, &ch)
	// An enrollment for a kiosk that is offline is refused with a reason.
	createUser(t, h, "nobody.home", `{"sites":["north"]}`)
	h.EnrollKiosk(t, "north-2", "north")
	if r := h.API(t, "POST", "/api/v1/enrollments", map[string]string{"user": "nobody.home", "device": "north-2"}); r.Status != http.StatusConflict {
		t.Errorf("enrollment at an offline kiosk: %d %s", r.Status, r.Body)
	}
}

// enrollmentCode issues a kiosk enrollment code at north through the API.
func enrollmentCode(t *testing.T, h *hubtest.Hub, name string) string {
	t.Helper()
	r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": name, "site": "north"})
	if r.Status != http.StatusCreated {
		t.Fatalf("code: %d %s", r.Status, r.Body)
	}
	return r.JSON()["code"].(string)
}

// redeemCode posts a kiosk's enrollment with code and csr.
func redeemCode(t *testing.T, h *hubtest.Hub, code string, csr []byte) *http.Response {
	t.Helper()
	b, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: "generic-x86"})
	resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestEnrollmentCodes: a code works once, within its lifetime, typed in
// any case or spacing; a bad CSR leaves it usable. A kiosk name is one
// enabled kiosk's at a time.
func TestEnrollmentCodes(t *testing.T) {
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	code := func(name string) string { return enrollmentCode(t, h, name) }
	key, _ := certs.NewDeviceKey()
	csr, _ := certs.NewCSR(key, "kiosk")
	redeem := func(code string, csr []byte) int { return redeemCode(t, h, code, csr).StatusCode }
	c := code("k1")
	if got := redeem(c, []byte("not a csr")); got != http.StatusBadRequest {
		t.Errorf("bad CSR: %d, want 400", got)
	}
	typed := strings.ToLower(strings.ReplaceAll(c, "-", " "))
	if got := redeem(typed, csr); got != http.StatusOK {
		t.Errorf("code typed in lower case with spaces: %d, want 200", got)
	}
	if got := redeem(c, csr); got != http.StatusForbidden {
		t.Errorf("second use: %d, want 403", got)
	}
	if got := redeem("0000-0000-0000-0000", csr); got != http.StatusForbidden {
		t.Errorf("made-up code: %d, want 403", got)
	}
	c2 := code("k2")
	clock.Advance(16 * time.Minute)
	if got := redeem(c2, csr); got != http.StatusForbidden {
		t.Errorf("expired code: %d, want 403", got)
	}
	// A name an enabled kiosk holds gets no code, and a code issued before
	// the name was taken is refused when redeemed.
	if r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": "K1", "site": "north"}); r.Status != http.StatusConflict ||
		!strings.Contains(string(r.Body), "disable it first") {
		t.Errorf("code for an enrolled kiosk's name: %d %s, want 409 saying what to do", r.Status, r.Body)
	}
	early, late := code("k3"), code("k3")
	if got := redeem(early, csr); got != http.StatusOK {
		t.Fatalf("k3: %d", got)
	}
	if got := redeem(late, csr); got != http.StatusConflict {
		t.Errorf("name enrolled since the code was issued: %d, want 409", got)
	}
	// Disabling a kiosk frees its name for the hardware that replaces it.
	if r := h.API(t, "POST", "/api/v1/devices/k1/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if got := redeem(code("k1"), csr); got != http.StatusOK {
		t.Errorf("a disabled kiosk's name enrolled again: %d, want 200", got)
	}
	resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", strings.NewReader(`{"code":`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed body: %d, want 400", resp.StatusCode)
	}
	// The API needs an admin token.
	if r := h.Do(t, "POST", "/api/v1/devices/codes", `{"name":"x","site":"y"}`); r.Status != http.StatusUnauthorized {
		t.Errorf("device code with a SCIM token: %d, want 401", r.Status)
	}
}

// TestEnrollmentGuessesLimited: an address that sent 20 wrong codes within
// ten minutes gets 429 with Retry-After, a good code included, until the
// window ends; successful enrollments never count.
func TestEnrollmentGuessesLimited(t *testing.T) {
	const limit, window = 20, 10 * time.Minute // limit, window
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	code := func(name string) string { return enrollmentCode(t, h, name) }
	key, _ := certs.NewDeviceKey()
	csr, _ := certs.NewCSR(key, "kiosk")
	redeem := func(code string) *http.Response { return redeemCode(t, h, code, csr) }
	for i := range limit + 5 {
		if got := redeem(code(fmt.Sprintf("ok-%d", i))).StatusCode; got != http.StatusOK {
			t.Fatalf("enrollment %d: %d, want 200", i, got)
		}
	}
	for i := range limit {
		if got := redeem("0000-0000-0000-0000").StatusCode; got != http.StatusForbidden {
			t.Fatalf("wrong code %d: %d, want 403", i, got)
		}
	}
	good := code("after")
	resp := redeem(good)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong codes: %d, want 429", limit, resp.StatusCode)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra <= 0 || ra > int(window/time.Second) {
		t.Errorf("Retry-After %q, want 1..%d seconds", resp.Header.Get("Retry-After"), int(window/time.Second))
	}
	clock.Advance(window)
	if got := redeem(code("later")).StatusCode; got != http.StatusOK {
		t.Errorf("a fresh code after the window: %d, want 200", got)
	}
}

// TestCertRenew: a kiosk renews its certificate over the channel with a
// CSR for a new key; the hub signs it for the same device.
func TestCertRenew(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	key, _ := certs.NewDeviceKey()
	csr, _ := certs.NewCSR(key, "asks-for-another-name")
	var c wire.Cert
	k.Call(wire.TypeCertRenew, wire.CertRenew{CSR: csr}, wire.TypeCert, &c)
	cert, err := x509.ParseCertificate(c.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := certs.DeviceID(cert); err != nil || id != k.ID {
		t.Errorf("renewed certificate is for %q (%v), want %q", id, err, k.ID)
	}
	if !cert.NotAfter.After(time.Now().Add(29 * 24 * time.Hour)) {
		t.Errorf("renewed certificate expires %v", cert.NotAfter)
	}
	id := k.Send(wire.TypeCertRenew, wire.CertRenew{CSR: []byte("garbage")})
	if env := k.Recv(5 * time.Second); env.Re != id || env.Type != wire.TypeError {
		t.Errorf("garbage CSR: %s %s", env.Type, env.Data)
	}
	if n := count(t, h, "device.cert_renew", "device:"+k.ID); n != 1 {
		t.Errorf("%d device.cert_renew audit records, want 1 (the certificate issued)", n)
	}

	// A disabled kiosk's channel stays open a moment for the revocation
	// pushes; a renewal sent then gets no certificate.
	if r := h.API(t, "POST", "/api/v1/devices/north-1/disable", nil); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	id = k.Send(wire.TypeCertRenew, wire.CertRenew{CSR: csr})
	if env := k.Recv(5 * time.Second); env.Re != id || env.Type != wire.TypeError {
		t.Errorf("renewal after disable: %s %s, want an error", env.Type, env.Data)
	}
}

// TestKioskProfiles: the kiosk's hardware profile is applied: an unknown
// profile cannot enroll (and does not burn the code), a badge model the
// profile does not allow cannot register, and a session's apps are the
// profile's apps for its role.
func TestKioskProfiles(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": "ward-1", "site": "north"})
	code := r.JSON()["code"].(string)
	key, _ := certs.NewDeviceKey()
	csr, _ := certs.NewCSR(key, "ward-1")
	b, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: "toaster"})
	resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown profile: %d, want 400", resp.StatusCode)
	}
	b, _ = json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: "generic-x86"})
	if resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", bytes.NewReader(b)); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the code did not survive a refused profile: %v %v", resp.StatusCode, err)
	}

	// The NFC thin client admits only YubiKey and Feitian models: a
	// software badge's AAGUID is refused at registration.
	uid := createUser(t, h, "nina", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", uid)
	nfc := h.EnrollKioskProfile(t, "ward-2", "north", "thinclient-nfc")
	nfc.Dial("")
	if env, _ := h.TryRegisterBadge(t, nfc, "nina", authenticator.SoftOptions{}); env.Type != wire.TypeError {
		t.Errorf("a badge model outside the allow-list registered: %s %s", env.Type, env.Data)
	}

	// On the generic kiosk the badge registers, and the Nurse session gets
	// the profile's apps for Nurse.
	k := h.EnrollKiosk(t, "ward-3", "north")
	k.Dial("")
	badge2 := registerBadge(t, h, k, "nina")
	g := grant(t, first(tap(t, k, badge2)))
	prof, err := profiles.Get("generic-x86")
	if err != nil {
		t.Fatal(err)
	}
	var wantApps []string
	for _, a := range prof.AppsFor("Nurse") {
		wantApps = append(wantApps, a.ID)
	}
	if !slices.Equal(g.Apps, wantApps) {
		t.Errorf("session apps %v, want the profile's %v", g.Apps, wantApps)
	}

	// The back-office Raspberry Pi allows sessions of 10 hours at most,
	// shorter than the policy's 12.
	pi := h.EnrollKioskProfile(t, "back-1", "north", "rpi5-touch")
	pi.Dial("")
	yubikey := h.RegisterBadge(t, pi, "nina", authenticator.SoftOptions{AAGUID: "ee882879-721c-4913-9775-3dfcce97072a"})
	before := time.Now()
	g = grant(t, first(tap(t, pi, yubikey)))
	if lim := before.Add(10 * time.Hour); g.ExpiresAt.After(lim.Add(time.Minute)) || g.ExpiresAt.Before(lim.Add(-time.Minute)) || g.ExpiryReason != wire.ReasonExpired {
		t.Errorf("session on rpi5-touch expires %s (%s), %s after the tap; want the profile's maxSession, 10h", g.ExpiresAt, g.ExpiryReason, g.ExpiresAt.Sub(before).Round(time.Minute))
	}
}

// TestUnknownProfileFailsClosed: a kiosk enrolled under a hardware
// profile the hub no longer knows (its file taken out of DATA/profiles)
// gets no logins and no enrollments: its allow-list and verification
// rules cannot be checked. The admin is told what to do.
func TestUnknownProfileFailsClosed(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "nina", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", uid)
	k := h.EnrollKiosk(t, "ward-9", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "nina")
	g := grant(t, first(tap(t, k, badge)))
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)
	k.Conn.Close()

	if _, err := h.Store().UpdateDevice(t.Context(), k.ID, func(d store.Device) (store.Device, error) {
		d.Profile = "retired-model"
		return d, nil
	}); err != nil {
		t.Fatal(err)
	}
	k.Dial("")
	if got := refusal(t, first(tap(t, k, badge))); got != wire.RefusedNotAllowedHere {
		t.Errorf("login on a kiosk with an unknown profile refused with %q, want %q", got, wire.RefusedNotAllowedHere)
	}
	r := h.API(t, "POST", "/api/v1/enrollments", map[string]string{"user": "nina", "device": "ward-9"})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `retired-model\", which this hub does not know`) {
		t.Errorf("enrollment on a kiosk with an unknown profile: %d %s, want 400 naming the profile", r.Status, r.Body)
	}
}

// TestPushFailureIsAudited: a kiosk that cannot tear a session down
// answers the push with an error; the hub records it for operators and
// keeps the revocation unacknowledged.
func TestPushFailureIsAudited(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "ivo", "Nurse")
	if r := h.API(t, "POST", "/api/v1/users/ivo/signout", nil); r.Status != 200 {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	push := k.Recv(5 * time.Second)
	if push.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %s, want session.revoke", push.Type)
	}
	env, _ := wire.New(wire.TypeError, "", push.ID, wire.Error{Code: wire.ErrInternal, Message: "teardown failed: process 4242 survived SIGKILL"})
	if err := k.Conn.WriteJSON(env); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "device.push_failed"})
		if len(recs) == 1 && strings.Contains(string(recs[0].Detail), "process 4242") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no device.push_failed audit record: %+v", recs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	revs, _ := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: g.SessionID})
	if len(revs) != 1 || !revs[0].Acked.IsZero() {
		t.Errorf("revocation after a failed teardown: %+v", revs)
	}
}

// TestKioskLastSeen: the hub records when a kiosk was last seen, when its
// channel opens and when it closes, without counting that as an edit.
func TestKioskLastSeen(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	before, err := h.Store().GetDevice(t.Context(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	seenAfter := func(after time.Time) store.Device {
		t.Helper()
		deadline := time.Now().Add(3 * seenFlushWait)
		for time.Now().Before(deadline) {
			d, err := h.Store().GetDevice(t.Context(), k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.LastSeen.After(after) {
				return d
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("kiosk's last-seen time never moved past %s", after)
		return store.Device{}
	}
	k.Dial("")
	connected := seenAfter(before.LastSeen)
	if connected.Version != before.Version || !connected.Modified.Equal(before.Modified) {
		t.Errorf("being seen changed the device: version %d→%d, modified %s→%s", before.Version, connected.Version, before.Modified, connected.Modified)
	}
	k.Conn.Close()
	seenAfter(connected.LastSeen)
}

// seenFlushWait is the hub's flush interval for last-seen times (2 s).
const seenFlushWait = 2 * time.Second

// A kiosk profile's user-verification rule for a role holds whatever the
// case of the role's group name: the hub compares role names without case
// everywhere, so a group renamed only in case is the same role, and its
// PIN or biometric requirement must not fall away.
func TestProfileUVRoleCase(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	body := policyBody(t, storedVersion(t, h), func(d *policy.Document) {
		roleDoc(d, "Store Manager").Apps = []string{"cash-office"}
	})
	if r := putPolicy(t, h, body); r.Status != 200 {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	pi := h.EnrollKioskProfile(t, "back-1", "north", "rpi5-touch")
	pi.Dial("")
	uid := createUser(t, h, "amy", `{"sites":["north"]}`)
	gid := createGroup(t, h, "Store Manager", uid)
	// A model the profile allows, tapped without PIN: no UV.
	badge := h.RegisterBadge(t, pi, "amy", authenticator.SoftOptions{AAGUID: "ee882879-721c-4913-9775-3dfcce97072a"})
	if got := refusal(t, first(tap(t, pi, badge))); got != wire.RefusedVerifyRequired {
		t.Fatalf("Store Manager without UV refused with %q, want %q", got, wire.RefusedVerifyRequired)
	}
	want(t, h.Do(t, "PATCH", "/scim/v2/Groups/"+gid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"displayName","value":"store manager"}]}`), 204)
	env, _ := tap(t, pi, badge)
	if env.Type == wire.TypeSessionGrant {
		g := grant(t, env)
		t.Fatalf("after a case-only rename the user signs in without user verification (role %q, apps %v)", g.Role, g.Apps)
	}
	if got := refusal(t, env); got != wire.RefusedVerifyRequired {
		t.Fatalf("refused with %q, want %q", got, wire.RefusedVerifyRequired)
	}
}

// A kiosk disabled while a badge enrollment is armed on it binds no
// credential, though its channel stays open a moment for the revocations:
// a disabled (perhaps stolen) kiosk must not register a badge of its
// choosing for the user.
func TestDisabledKioskCannotRegisterBadge(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "nell", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	_, es := h.ArmEnrollment(t, k, "nell")
	cred := softCredential(t, es, "", authenticator.SoftOptions{})
	if r := h.API(t, "POST", "/api/v1/devices/north-1/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	id := k.Send(wire.TypeRegister, wire.Register{Credential: cred})
	env := k.Recv(5 * time.Second)
	if env.Re != id || env.Type != wire.TypeError {
		t.Errorf("register on the disabled kiosk answered %s %s, want an error", env.Type, env.Data)
	}
	creds, err := h.Store().ListCredentials(t.Context(), uid)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 0 {
		t.Fatalf("the disabled kiosk registered %d credential(s) for nell", len(creds))
	}
}

// A kiosk that names another kiosk's revoked session as its own in its
// hello is told to end it, but its ack does not count as that session's
// teardown: only the kiosk that held the session can acknowledge it.
func TestWelcomeRevokeAckedByAnotherKioskCountsForNothing(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "ola", "Picker")
	other := h.EnrollKiosk(t, "north-2", "north")
	k.Conn.Close() // k is offline when ola is signed out
	if r := h.API(t, "POST", "/api/v1/users/ola/signout", nil); r.Status != http.StatusOK {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	d := websocket.Dialer{TLSClientConfig: other.TLS, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("wss"+h.URL[len("https"):]+wire.WSPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hello, _ := wire.New(wire.TypeHello, "h1", "", wire.Hello{AgentVersion: "x", Profile: "generic-x86", LiveSession: g.SessionID})
	if err := conn.WriteJSON(hello); err != nil {
		t.Fatal(err)
	}
	var env wire.Envelope
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := conn.ReadJSON(&env); err != nil || env.Type != wire.TypeWelcome {
		t.Fatalf("welcome: %v %s", err, env.Type)
	}
	var w wire.Welcome
	if err := env.Unmarshal(&w); err != nil || w.Revoke == nil || env.ID == "" {
		t.Fatalf("welcome = %+v (%v), want a tracked revoke", w, err)
	}
	ack, _ := wire.New(wire.TypeAck, "", env.ID, nil)
	if err := conn.WriteJSON(ack); err != nil {
		t.Fatal(err)
	}
	// Acks are recorded in a batch after a 25 ms pause: watch for a
	// second.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: g.SessionID})
		if err != nil || len(rs) != 1 {
			t.Fatalf("revocations: %+v, %v", rs, err)
		}
		if !rs[0].Acked.IsZero() {
			t.Fatalf("kiosk %s, which never held session %s, acknowledged its teardown", other.ID, g.SessionID)
		}
		time.Sleep(50 * time.Millisecond)
		if time.Until(deadline) < 4*time.Second {
			break // well past the recorder's pause (25 ms)
		}
	}
}

// A code issued for a hardware profile enrolls only a kiosk of that
// profile: whoever types the code cannot pick one with laxer rules. A
// refused profile leaves the code usable; an unknown profile is refused
// when the code is issued.
func TestEnrollmentCodeBoundToProfile(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	if r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": "till-1", "site": "north", "profile": "toaster"}); r.Status != http.StatusBadRequest {
		t.Errorf("code for an unknown profile: %d %s, want 400", r.Status, r.Body)
	}
	r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": "till-1", "site": "north", "profile": "rpi5-touch"})
	if r.Status != http.StatusCreated {
		t.Fatalf("code: %d %s", r.Status, r.Body)
	}
	code := r.JSON()["code"].(string)
	key, _ := certs.NewDeviceKey()
	csr, _ := certs.NewCSR(key, "till-1")
	redeem := func(profile string) (int, string) {
		b, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: profile})
		resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		return resp.StatusCode, body.String()
	}
	if status, body := redeem("generic-x86"); status != http.StatusForbidden || !strings.Contains(body, "--profile rpi5-touch") {
		t.Errorf("enrolling a rpi5-touch code as generic-x86: %d %s, want 403 naming the profile", status, body)
	}
	if status, body := redeem("rpi5-touch"); status != http.StatusOK {
		t.Fatalf("enrolling with the code's profile: %d %s", status, body)
	}
	d, err := h.Store().GetDeviceByName(t.Context(), "till-1")
	if err != nil || d.Profile != "rpi5-touch" {
		t.Errorf("enrolled kiosk: %+v, %v; want profile rpi5-touch", d, err)
	}
}

// A session.end with a reason the protocol does not define is refused:
// the reason goes into the session record and the audit trail, where a
// kiosk may not write what it likes. The session stays live.
func TestSessionEndUnknownReasonRefused(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "ula", "Picker")
	for _, reason := range []string{"", "pwned by kiosk 7", strings.Repeat("x", 4000)} {
		id := k.Send(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: reason})
		env := k.Recv(5 * time.Second)
		var e wire.Error
		if env.Re != id || env.Type != wire.TypeError || env.Unmarshal(&e) != nil || e.Code != wire.ErrBadMessage {
			t.Errorf("session.end with reason %.20q: %s %s, want a bad_message error", reason, env.Type, env.Data)
		}
	}
	if s, err := h.Store().GetSession(t.Context(), g.SessionID); err != nil || !s.Ended.IsZero() {
		t.Errorf("session after refused ends: %+v, %v; want it live", s, err)
	}
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)
}

// A badge enrollment whose tap has not come when the kiosk's channel
// drops is sent again when the kiosk is back (the agent drops the one it
// had with the channel), and the tap then registers. One refused because
// the kiosk was offline (409) does not arm the kiosk when it connects.
func TestPendingEnrollmentSentAgainOnReconnect(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "rae", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	first, _ := h.ArmEnrollment(t, k, "rae")
	k.Conn.Close()
	k.Dial("")
	again := k.Recv(5 * time.Second)
	var es wire.EnrollStart
	if again.Type != wire.TypeEnrollStart || again.Unmarshal(&es) != nil {
		t.Fatalf("after the reconnect got %s %s, want the pending enroll.start again", again.Type, again.Data)
	}
	if !bytes.Equal(again.Data, first.Data) {
		t.Errorf("sent again with other options:\n%s\nwant\n%s", again.Data, first.Data)
	}
	cred := softCredential(t, es, "", authenticator.SoftOptions{})
	id := k.Send(wire.TypeRegister, wire.Register{Credential: cred})
	if reply := k.Recv(10 * time.Second); reply.Re != id || reply.Type != wire.TypeRegistered {
		t.Fatalf("register answered %s %s, want registered", reply.Type, reply.Data)
	}
	k.Ack(again)
	// Registered: nothing is pending any more.
	k.Conn.Close()
	k.Dial("")
	k.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, nil)

	// Offline: the authorisation is refused and forgotten.
	off := h.EnrollKiosk(t, "north-2", "north")
	if r := h.API(t, "POST", "/api/v1/enrollments", map[string]string{"user": "rae", "device": "north-2"}); r.Status != http.StatusConflict {
		t.Fatalf("enrollment at an offline kiosk: %d %s, want 409", r.Status, r.Body)
	}
	off.Dial("")
	// A pending enroll.start would be queued behind the welcome, before
	// the answer to this request.
	off.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, nil)
}

// TestKioskReportsOfflineEnd: a kiosk that ended a session because it
// could not reach the hub for its profile's offline grace reports it when
// it is back; the hub records the session ended with that reason, and
// still refuses a reason no kiosk may give.
func TestKioskReportsOfflineEnd(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "olu", "Nurse")
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: "unplugged"}, wire.TypeError, nil) // Call fails t on any other answer
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: wire.ReasonOffline}, wire.TypeAck, nil)
	s, err := h.Store().GetSession(t.Context(), g.SessionID)
	if err != nil || s.Ended.IsZero() || s.EndReason != wire.ReasonOffline {
		t.Fatalf("session after the kiosk reported it ended offline: %+v, %v", s, err)
	}
}
