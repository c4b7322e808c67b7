package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// upgradedDir is a state directory enrolled by an agent that wrote no
// origin or rp_id, with testOrigin's URL as its hub URL.
func upgradedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mustNoErr(t, writeJSON(filepath.Join(dir, EnrollmentFile), Enrollment{
		Version: stateVersion, HubURL: testOrigin, DeviceID: "d1", Profile: "generic-x86",
	}))
	return dir
}

// withLog sends the agent's log to buf.
func withLog(buf *lockedBuffer) harnessOpt {
	return func(_ *harness, cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(buf, nil)) }
}

// registerBadgeAt gives soft badge name in dir a credential of another
// relying party, as a worker's own key registered at the company's sign-in
// service has.
func registerBadgeAt(t *testing.T, dir, name, origin, rpID string) {
	t.Helper()
	a, err := authenticator.NewSoft(dir, name, authSoftOpts())
	mustNoErr(t, err)
	if _, err := authenticator.Register(t.Context(), a, origin, creationOptionsFor(rpID)); err != nil {
		t.Fatal(err)
	}
}

func optionsFor(rpID, challenge string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"publicKey": map[string]any{
		"challenge": base64.RawURLEncoding.EncodeToString([]byte(challenge)), "rpId": rpID, "userVerification": "discouraged",
	}})
	return b
}

// TestLoginRefusesForeignRelyingParty: a hub (or whoever speaks as it)
// that sends a challenge for another origin or RP ID than the kiosk's
// gets no assertion, whatever badge is tapped: the tap is refused (error)
// and the log says why. The kiosk's relying party of an enrollment
// without one (an upgraded agent) is its hub URL's, and a challenge of
// that one still signs in.
func TestLoginRefusesForeignRelyingParty(t *testing.T) {
	for _, tc := range []struct {
		name, origin, rpID string
	}{
		{"another site's sign-in", "https://login.example.com", "login.example.com"},
		{"another host under the RP ID", "https://evil.localhost:8443", "localhost"},
		{"another port", "https://localhost:9443", "localhost"},
		{"plain http", "http://localhost:8443", "localhost"},
		{"options without rpId, another origin", "https://login.example.com", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedBuffer
			h := startHarness(t, upgradedDir(t), t.TempDir(), newFakeClock(), withLog(&logs))
			host := tc.rpID
			if host == "" {
				host = "login.example.com"
			}
			// Registered at the RP ID's own host: a single-label RP ID
			// (localhost) is no other host's (authenticator.RPIDAllowed).
			registerBadgeAt(t, h.badges, "ana", "https://"+host, host)
			registerBadge(t, h.badges, "ana") // and the kiosk's own
			h.hub.setResponder(wire.TypeChallengeRequest, func(context.Context, any) (wire.Envelope, error) {
				return env(t, wire.TypeChallenge, wire.Challenge{Options: optionsFor(tc.rpID, "phish"), Origin: tc.origin, ExpiresAt: h.hub.now().Add(wire.ChallengeTTL)}), nil
			})
			h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "s1", "ana", time.Hour))
			h.hub.connect()
			h.ev.expect(t, EventConnected)
			h.a.Tap("ana")
			if e := h.ev.expect(t, EventLoginRefused)[0]; e.Reason != RefusedError {
				t.Errorf("login.refused %+v, want reason %s", e, RefusedError)
			}
			if n := len(h.hub.requestsOf(wire.TypeLogin)); n != 0 {
				t.Fatalf("%d assertions sent to the hub for %s (rp id %q), want none", n, tc.origin, tc.rpID)
			}
			if !strings.Contains(logs.String(), "another relying party than this kiosk's") || !strings.Contains(logs.String(), "state.json") {
				t.Errorf("the log does not say why:\n%s", logs.String())
			}

			// The genuine hub's challenge signs in.
			h.hub.setResponder(wire.TypeChallengeRequest, func(context.Context, any) (wire.Envelope, error) {
				return env(t, wire.TypeChallenge, wire.Challenge{Options: requestOptions("ok"), Origin: testOrigin, ExpiresAt: h.hub.now().Add(wire.ChallengeTTL)}), nil
			})
			h.a.Tap("ana")
			h.ev.expect(t, EventSessionStarted)
		})
	}
}

// TestNextChallengeForeignDropped: a next_challenge for another relying
// party that comes with a hub's answer is not kept for the next tap.
func TestNextChallengeForeignDropped(t *testing.T) {
	h := startHarness(t, upgradedDir(t), t.TempDir(), newFakeClock())
	h.connect()
	registerBadge(t, h.badges, "ana")
	h.hub.setResponder(wire.TypeLogin, func(context.Context, any) (wire.Envelope, error) {
		return env(t, wire.TypeLoginRefused, wire.LoginRefused{Reason: wire.RefusedOutsideShift, NextChallenge: &wire.Challenge{
			Options: optionsFor("login.example.com", "next"), Origin: "https://login.example.com", ExpiresAt: h.hub.now().Add(wire.ChallengeTTL),
		}}), nil
	})
	h.hub.setResponder(wire.TypeChallengeRequest, func(context.Context, any) (wire.Envelope, error) {
		return wire.Envelope{}, errors.New("no challenge now")
	})
	h.a.Tap("ana")
	h.ev.expect(t, EventLoginRefused)
	h.do(func() {
		if h.a.challenge != nil {
			t.Errorf("kept challenge %+v for the next tap, want none", h.a.challenge.Challenge)
		}
	})
}

// TestEnrollStartRefusesForeignRelyingParty: an enroll.start for another
// relying party is answered with an error at once and never armed: the
// next tap is a login, not a registration of the badge for that site.
func TestEnrollStartRefusesForeignRelyingParty(t *testing.T) {
	var logs lockedBuffer
	h := startHarness(t, upgradedDir(t), t.TempDir(), newFakeClock(), withLog(&logs))
	h.connect()
	opts, _ := json.Marshal(map[string]any{"publicKey": map[string]any{
		"rp":               map[string]any{"id": "login.example.com", "name": "Sign-in"},
		"user":             map[string]any{"id": b64("uid-ana"), "name": "ana", "displayName": "Ana"},
		"challenge":        b64("reg"),
		"pubKeyCredParams": []map[string]any{{"type": "public-key", "alg": -7}},
	}})
	h.hub.push(wire.TypeEnrollStart, "e1", wire.EnrollStart{User: "ana", Options: opts, Origin: "https://login.example.com"})
	h.hub.waitFor("an answer to enroll.start", func() bool { return len(h.hub.getReplies()) > 0 })
	r := h.hub.getReplies()[0]
	if e, ok := r.Data.(wire.Error); r.Re != "e1" || r.Type != wire.TypeError || !ok || e.Code != wire.ErrBadMessage {
		t.Fatalf("enroll.start answered %+v, want error %s", r, wire.ErrBadMessage)
	}
	h.do(func() {
		if h.a.enroll != nil {
			t.Error("the enrollment is armed")
		}
	})
	if !strings.Contains(logs.String(), "enroll.start refused") {
		t.Errorf("the log does not say why:\n%s", logs.String())
	}
	h.ev.none(t)

	// The kiosk's own enrollment is still taken.
	h.hub.push(wire.TypeEnrollStart, "e2", enrollStart("ana"))
	h.ev.expect(t, EventEnrollmentArmed)
}

// TestRegisterRefusesForeignRelyingParty: shiftgate-agent register never
// asks the key for a credential of another relying party: it answers the
// enrollment with an error and fails saying so.
func TestRegisterRefusesForeignRelyingParty(t *testing.T) {
	hub := newFakeHub(t, SystemClock{})
	badges := t.TempDir()
	src, err := ParseAuthenticator("soft:"+badges, authSoftOpts())
	mustNoErr(t, err)
	r := startRegister(t, RegisterConfig{StateDir: upgradedDir(t), Authenticators: src, Badge: "ana", Hub: hub, Timeout: time.Minute})
	hub.connect()
	es := enrollStart("ana")
	es.Origin = "https://login.example.com"
	es.Options = json.RawMessage(strings.Replace(string(es.Options), `"id":"localhost"`, `"id":"login.example.com"`, 1))
	hub.push(wire.TypeEnrollStart, "e1", es)
	_, err = r.wait(t)
	if !errors.Is(err, ErrForeignRelyingParty) || !strings.Contains(err.Error(), "state.json") {
		t.Fatalf("Register: %v, want ErrForeignRelyingParty saying what to do", err)
	}
	if n := len(hub.requestsOf(wire.TypeRegister)); n != 0 {
		t.Errorf("%d registrations sent, want none", n)
	}
	hub.waitFor("an answer to enroll.start", func() bool { return len(hub.getReplies()) > 0 })
	if rep := hub.getReplies()[0]; rep.Re != "e1" || rep.Type != wire.TypeError {
		t.Errorf("enroll.start answered %+v, want an error", rep)
	}
	if _, err := os.Stat(filepath.Join(badges, "ana.json")); err == nil {
		t.Error("the key made a credential")
	}
}

// TestEnrollPinsRelyingParty: enrolling with the real hub writes the
// hub's relying party (its URL's origin and host: the hub's --public-url
// makes both) into state.json, and the agent then takes the real hub's
// challenges.
func TestEnrollPinsRelyingParty(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	state := enrollAt(t, h, SystemClock{})
	data, err := os.ReadFile(filepath.Join(state, EnrollmentFile))
	mustNoErr(t, err)
	var raw map[string]any
	mustNoErr(t, json.Unmarshal(data, &raw))
	if raw["origin"] != h.URL || raw["rp_id"] != "localhost" {
		t.Errorf("state.json origin %v, rp_id %v; want %s, localhost", raw["origin"], raw["rp_id"], h.URL)
	}
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	mustNoErr(t, err)
	a, err := New(Config{StateDir: state, Authenticators: src})
	mustNoErr(t, err)
	runAgent(t, a)
	deadline := time.Now().Add(waitLimit)
	for {
		got := make(chan bool, 1)
		a.post(func() { got <- a.challenge != nil })
		if <-got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no challenge of the real hub taken")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEnrollmentRelyingParty: what state.json pins, and what is refused.
func TestEnrollmentRelyingParty(t *testing.T) {
	base := Enrollment{Version: stateVersion, HubURL: "https://Hub.Example:443", DeviceID: "d1", Profile: "p"}
	rp, err := base.RelyingParty()
	if err != nil || rp != (RelyingParty{Origin: "https://hub.example", ID: "hub.example"}) {
		t.Errorf("derived from the hub URL: %+v, %v", rp, err)
	}
	if err := rp.allows("https://hub.example:443", optionsFor("HUB.example", "c"), false); err != nil {
		t.Errorf("the same origin and RP ID, spelt otherwise: %v", err)
	}
	set := base
	set.Origin, set.RPID = "https://sso.corp.example", "corp.example"
	if rp, err := set.RelyingParty(); err != nil || rp.ID != "corp.example" || rp.Origin != "https://sso.corp.example" {
		t.Errorf("set by hand: %+v, %v", rp, err)
	}
	for _, bad := range []struct{ origin, rpID string }{
		{"https://hub.example", "other.example"},
		{"http://hub.example", "hub.example"},
		{"https://hub.example", ""},
		{"", "hub.example"},
	} {
		e := base
		e.Origin, e.RPID = bad.origin, bad.rpID
		if err := e.Validate(); err == nil {
			t.Errorf("origin %q, rp_id %q: valid, want refused", bad.origin, bad.rpID)
		}
	}
	// Options a decoder of the badge's side reads otherwise are refused.
	if err := rp.allows("https://hub.example", json.RawMessage(`{"publicKey":null,"rpId":"login.example.com"}`), false); !errors.Is(err, ErrForeignRelyingParty) {
		t.Errorf("rpId outside a null publicKey: %v", err)
	}
}

// FuzzRelyingPartyAllows: whatever origin and options a hub sends, the
// check does not panic, and what it lets through is the pinned origin, and
// options whose RP ID, read as the badge's side reads it
// (authenticator.Authenticate), is the pinned one.
func FuzzRelyingPartyAllows(f *testing.F) {
	f.Add("https://localhost:8443", []byte(`{"publicKey":{"challenge":"YQ","rpId":"localhost"}}`))
	f.Add("https://localhost:8443", []byte(`{"publicKey":null,"rpId":"login.example.com","challenge":"YQ"}`))
	f.Add("https://LOCALHOST:8443/", []byte(`{"challenge":"YQ","RPID":"localhost","rpId":"login.example.com"}`))
	f.Add("https://login.example.com", []byte(`{"challenge":"YQ"}`))
	rp := RelyingParty{Origin: testOrigin, ID: testRPID}
	f.Fuzz(func(t *testing.T, origin string, options []byte) {
		if rp.allows(origin, options, false) != nil {
			return
		}
		// Allowed: a badge holding a credential of login.example.com only
		// must not be asked for it.
		a, err := authenticator.NewSoft(t.TempDir(), "k", authSoftOpts())
		mustNoErr(t, err)
		if _, err := authenticator.Register(t.Context(), a, "https://login.example.com", creationOptionsFor("login.example.com")); err != nil {
			t.Fatal(err)
		}
		if _, err := authenticator.Authenticate(t.Context(), a, origin, options); err == nil {
			t.Fatalf("origin %q options %s allowed, and the badge signed for login.example.com", origin, options)
		}
	})
}

func creationOptionsFor(rpID string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"publicKey": map[string]any{
		"rp":               map[string]any{"id": rpID, "name": "x"},
		"user":             map[string]any{"id": b64("uid"), "name": "u", "displayName": "u"},
		"challenge":        b64("reg"),
		"pubKeyCredParams": []map[string]any{{"type": "public-key", "alg": -7}},
		"authenticatorSelection": map[string]any{
			"residentKey": "required", "requireResidentKey": true, "userVerification": "discouraged",
		},
	}})
	return b
}
