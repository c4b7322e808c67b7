package authn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest/clock"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

const (
	testRPID   = "shiftgate.test"
	testOrigin = "https://hub.shiftgate.test:8443"
	kioskA     = "kiosk-a"
	kioskB     = "kiosk-b"
)

var testAuditKey = bytes.Repeat([]byte{7}, 32)

// env is a relying party on a real SQLite store in a temp dir, with badges
// in another temp dir.
type env struct {
	t      testing.TB
	rp     *RP
	st     store.Store
	clock  *clock.Clock
	badges string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.New(time.Date(2031, 3, 4, 7, 0, 0, 0, time.UTC))
	// The kiosks the tests use; a registration binds a credential only
	// on an active one.
	for _, id := range []string{kioskA, kioskB} {
		if _, err := st.CreateDevice(ctx, store.Device{ID: id, Name: id, Site: "north", State: store.DeviceActive, Created: clk.Now(), Modified: clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	log, err := audit.New(testAuditKey, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := New(Config{
		RPID:          testRPID,
		RPDisplayName: "Shiftgate",
		Origin:        testOrigin,
		Store:         st,
		Audit:         log,
		Now:           clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, rp: rp, st: st, clock: clk, badges: filepath.Join(dir, "badges")}
}

// user creates an active user named name.
func (e *env) user(name string) store.User {
	e.t.Helper()
	now := e.clock.Now()
	u, err := e.st.CreateUser(context.Background(), store.User{
		ID:          "00000000-0000-4000-8000-" + padName(name),
		UserName:    name,
		DisplayName: "User " + name,
		Active:      true,
		State:       store.UserActive,
		Sites:       []string{"North"},
		Document:    []byte(`{}`),
		Version:     1,
		Created:     now,
		Modified:    now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func padName(name string) string {
	b := []byte("000000000000")
	copy(b[12-min(len(name), 12):], name)
	return string(b)
}

func (e *env) badge(name string, opts authenticator.SoftOptions) *authenticator.Soft {
	e.t.Helper()
	opts.NoSync = true
	b, err := authenticator.NewSoft(e.badges, name, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// attest runs the client side of a registration of badge for u on device,
// returning the attestation JSON (or the client's error).
func (e *env) attest(device string, u store.User, badge authenticator.Authenticator, allowed ...[]byte) ([]byte, error) {
	e.t.Helper()
	start, err := e.rp.BeginRegistration(context.Background(), device, u, allowed)
	if err != nil {
		e.t.Fatalf("begin registration: %v", err)
	}
	if start.User != u.UserName || start.Origin != testOrigin {
		e.t.Fatalf("enroll start = %+v", start)
	}
	return authenticator.Register(context.Background(), badge, start.Origin, start.Options)
}

// register registers badge for u at kioskA and fails the test on error.
func (e *env) register(u store.User, badge authenticator.Authenticator) store.Credential {
	e.t.Helper()
	body, err := e.attest(kioskA, u, badge)
	if err != nil {
		e.t.Fatalf("client register: %v", err)
	}
	c, err := e.rp.FinishRegistration(context.Background(), kioskA, body)
	if err != nil {
		e.t.Fatalf("finish registration: %v", err)
	}
	return c
}

// assert fetches a challenge for device and has badge sign it.
func (e *env) assert(device string, badge authenticator.Authenticator) []byte {
	e.t.Helper()
	ch, err := e.rp.BeginLogin(device)
	if err != nil {
		e.t.Fatalf("begin login: %v", err)
	}
	body, err := authenticator.Authenticate(context.Background(), badge, ch.Origin, ch.Options)
	if err != nil {
		e.t.Fatalf("client authenticate: %v", err)
	}
	return body
}

// login runs a whole login of badge at device.
func (e *env) login(device string, badge authenticator.Authenticator) (LoginResult, error) {
	e.t.Helper()
	return e.rp.FinishLogin(context.Background(), device, e.assert(device, badge))
}

// attestNoneEdited registers a fresh soft badge with attestation "none"
// for u at kioskA, as attest does, and returns its attestation JSON with
// the authenticator data replaced by what edit makes of it: in that
// format nothing signs the authenticator data, so the hub sees the edit
// as the badge's own.
func (e *env) attestNoneEdited(t *testing.T, u store.User, edit func(authData []byte) []byte) []byte {
	t.Helper()
	body, err := e.attest(kioskA, u, e.badge(u.UserName, authenticator.SoftOptions{Attestation: authenticator.AttestationNone}))
	if err != nil {
		t.Fatal(err)
	}
	var cred map[string]any
	if err := json.Unmarshal(body, &cred); err != nil {
		t.Fatal(err)
	}
	resp := cred["response"].(map[string]any)
	rawAtt, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(resp["attestationObject"].(string), "="))
	if err != nil {
		t.Fatal(err)
	}
	var att struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}
	if err := webauthncbor.Unmarshal(rawAtt, &att); err != nil || att.Fmt != "none" {
		t.Fatalf("attestation object: fmt %q, %v", att.Fmt, err)
	}
	att.AuthData = edit(att.AuthData)
	if rawAtt, err = webauthncbor.Marshal(att); err != nil {
		t.Fatal(err)
	}
	resp["attestationObject"] = b64(rawAtt)
	if body, err = json.Marshal(cred); err != nil {
		t.Fatal(err)
	}
	return body
}
