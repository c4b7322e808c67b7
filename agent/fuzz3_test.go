package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// What the hub pushes is not trusted to crash or wedge a kiosk, nor to keep
// a session open past what the agent enforces (limits.go). These targets
// feed arbitrary pushes, grants, enrollments and frames to the agent and
// check, each time, that it answers with the documented codes, that the
// live session never ends later than its grant plus Config.MaxSession, and
// that it still works afterwards: a sign-out ends the session, and a new
// tap signs in.

const fuzzMaxSession = 12 * time.Hour

func withMaxSession(d time.Duration) harnessOpt {
	return func(_ *harness, cfg *Config) { cfg.MaxSession = d }
}

// until returns the next event named name, skipping the others (those a
// fuzzed push may cause), and fails after waitLimit.
func (r *recorder) until(t *testing.T, names ...string) Event {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case e := <-r.ch:
			for _, n := range names {
				if e.Event == n {
					return e
				}
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %v", names)
		}
	}
}

// checkLimits checks, on the loop, that the live session ends no later
// than latest, and that its warning leads are usable ones.
func (h *harness) checkLimits(latest time.Time) {
	h.t.Helper()
	h.do(func() {
		a := h.a
		if a.session == nil || !a.state.live() {
			return
		}
		s := a.session
		if s.ExpiresAt.After(latest) {
			h.t.Errorf("session expires at %s, after the latest end the agent accepts, %s", s.ExpiresAt, latest)
		}
		if end := a.endAt(a.inputNow()); end.After(latest) {
			h.t.Errorf("session ends at %s, after %s", end, latest)
		}
		leads := a.warningLeads(s)
		if len(leads) == 0 || len(leads) > maxWarnings {
			h.t.Errorf("%d warning leads", len(leads))
		}
		for _, l := range leads {
			if l <= 0 || l > fuzzMaxSession && l != a.cfg.Warning {
				h.t.Errorf("warning lead %s out of range (warn_seconds %v)", l, s.WarnSeconds)
			}
		}
	})
}

// settle waits until no teardown or tap is under way.
func (h *harness) settle() {
	h.t.Helper()
	h.waitLoop("the agent to settle", func() bool { return h.a.state != Ending && h.a.state != Verifying && h.a.op == opNone })
}

// stillWorks checks that the agent still does its job after whatever came
// before: the open session, if any, signs out; the channel drops and comes
// back (which also disarms an enrollment); a tap signs in and a sign-out
// ends that session, with the documented events.
func (h *harness) stillWorks() {
	h.t.Helper()
	h.settle()
	if h.a.State().live() {
		h.a.Signout()
		if e := h.ev.until(h.t, EventSessionEnded); e.Reason != wire.ReasonSignout {
			h.t.Fatalf("session.ended after a sign-out: %+v", e)
		}
		h.settle()
	}
	h.hub.disconnect()
	h.ev.until(h.t, EventDisconnected)
	h.hub.connect()
	h.ev.until(h.t, EventConnected)
	h.waitLoop("a prefetched challenge", func() bool { return h.a.challenge != nil })
	registerBadge(h.t, h.badges, "bob")
	h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "after", "bob", time.Hour))
	h.a.Tap("bob")
	if e := h.ev.until(h.t, EventSessionStarted, EventLoginRefused); e.Event != EventSessionStarted || e.SessionID != "after" {
		h.t.Fatalf("a tap after the fuzzed input: %+v", e)
	}
	h.a.Signout()
	if e := h.ev.until(h.t, EventSessionEnded); e.Reason != wire.ReasonSignout || e.SessionID != "after" {
		h.t.Fatalf("sign-out after the fuzzed input: %+v", e)
	}
}

var fuzzPushTypes = []string{
	wire.TypeSessionRevoke, wire.TypeSessionExtend, wire.TypeEnrollStart,
	wire.TypeWelcome, wire.TypeSessionGrant, wire.TypeCert, wire.TypeError, "x.unknown",
}

// knownReplyCode reports whether code is one the agent may answer a push
// with.
func knownReplyCode(code string) bool {
	switch code {
	case wire.ErrBadMessage, wire.ErrInternal, wire.ErrUnknownType:
		return true
	}
	return false
}

// FuzzHubPush delivers one arbitrary push (type chosen by kind, any ID and
// data) to an agent with session s1 open (30 minutes left, granted now).
func FuzzHubPush(f *testing.F) {
	const (
		revoke = iota
		extend
		enroll
	)
	opts, _ := json.Marshal(wire.EnrollStart{User: "ana", Options: creationOptions("ana"), Origin: testOrigin})
	for _, s := range []struct {
		kind uint8
		id   string
		data string
	}{
		{extend, "p1", `{"session_id":"s1","expires_at":"9999-12-31T23:59:59Z"}`},
		{extend, "p1", `{"session_id":"s1","expires_at":"2026-03-02T20:01:00Z","expiry_reason":"shift_end"}`},
		{extend, "p1", `{"session_id":"s1","expires_at":"0001-01-01T00:00:01Z"}`},
		{extend, "p1", `{"session_id":"s1","expires_at":"2026-03-02T09:00:00+14:00"}`},
		{extend, "p1", `{"session_id":"other","expires_at":"9999-12-31T23:59:59Z"}`},
		{extend, "p1", `{"session_id":"s1"}`},
		{extend, "", `{}`},
		{extend, "p1", `null`},
		{extend, "p1", `[1,2]`},
		{revoke, "p1", `{"session_id":"s1","reason":"forced"}`},
		{revoke, "p1", `{"session_id":"s1","reason":"\u0000<script>\u2028"}`},
		{revoke, "p1", `{"session_id":"unknown","reason":"deprovisioned"}`},
		{revoke, "p1", `{"session_id":"s1"}`},
		{revoke, "p1", `{"reason":"forced"}`},
		{enroll, "e1", string(opts)},
		{enroll, "e1", `{"user":"ana","options":{"publicKey":{"timeout":9223372036854775807}},"origin":"javascript:alert(1)"}`},
		{enroll, "e1", `{"user":"ana","options":"x"}`},
		{3, "w1", `{"device_id":"other","revoke":{"session_id":"s1"}}`},
		{4, "g1", `{"session_id":"s1","user":"mallory","expires_at":"9999-12-31T23:59:59Z"}`},
		{7, "u1", `{}`},
	} {
		f.Add(s.kind, s.id, []byte(s.data))
	}
	f.Fuzz(func(t *testing.T, kind uint8, id string, data []byte) {
		h := newHarness(t, withMaxSession(fuzzMaxSession))
		h.connect()
		latest := h.clock.Now().Add(fuzzMaxSession + maxSessionSlack)
		h.loginWith(wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse"}, 30*time.Minute)
		h.do(func() {})

		e := wire.Envelope{V: wire.Version, Type: fuzzPushTypes[int(kind)%len(fuzzPushTypes)], ID: id}
		if json.Valid(data) {
			e.Data = bytes.Clone(data) // Decode hands on only valid JSON
		}
		h.hub.handler().Push(e)
		h.do(func() {})
		h.checkLimits(latest)

		switch e.Type {
		case wire.TypeSessionRevoke, wire.TypeSessionExtend:
			// Answered, by an ack or an error of a documented code.
			var ans replyRec
			h.hub.waitFor("the answer to the push", func() bool {
				for _, r := range h.hub.getReplies() {
					if r.Re == id {
						ans = r
						return true
					}
				}
				return false
			})
			switch ans.Type {
			case wire.TypeAck:
			case wire.TypeError:
				if we, _ := ans.Data.(wire.Error); !knownReplyCode(we.Code) || we.Message == "" {
					t.Errorf("push answered with error %+v", ans.Data)
				}
			default:
				t.Errorf("push answered with %s", ans.Type)
			}
			var x wire.SessionExtend
			if e.Type == wire.TypeSessionExtend && e.Unmarshal(&x) == nil && x.SessionID == "s1" && x.ExpiresAt.After(latest) && ans.Type != wire.TypeError {
				t.Errorf("an extension of s1 to %s, past %s, was acked", x.ExpiresAt, latest)
			}
		}
		h.stillWorks()
	})
}

// FuzzSessionGrant answers a tap with an arbitrary session.grant.
func FuzzSessionGrant(f *testing.F) {
	for _, s := range []string{
		`{"session_id":"s1","user":"ana","role":"nurse","apps":["emr"],"expires_at":"2026-03-02T09:00:00Z","warn_seconds":[600,120]}`,
		`{"session_id":"s1","user":"ana","expires_at":"9999-12-31T23:59:59Z"}`,
		`{"session_id":"s1","user":"ana","expires_at":"2026-03-02T09:00:00Z","warn_seconds":[18446744074]}`,
		`{"session_id":"s1","user":"ana","expires_at":"2026-03-02T09:00:00Z","warn_seconds":[9300000000,-5,0,2147483647]}`,
		`{"session_id":"s1","user":"ana","expires_at":"2026-03-02T09:00:00Z","warn_seconds":[1,2,3,4,5,6,7,8,9,10,11,12]}`,
		`{"session_id":"s1","user":"ana","expires_at":"0001-01-01T00:00:01Z"}`,
		`{"session_id":"s1","user":"ana","expires_at":"2026-03-02T09:00:00Z","expiry_reason":"\u0000","display_name":"\u202eana"}`,
		`{"session_id":"","expires_at":"2026-03-02T09:00:00Z"}`,
		`{"session_id":"s1","apps":null,"next_challenge":{"options":{},"expires_at":"9999-12-31T23:59:59Z"}}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, withMaxSession(fuzzMaxSession))
		h.connect()
		latest := h.clock.Now().Add(fuzzMaxSession + maxSessionSlack)
		registerBadge(t, h.badges, "ana")
		h.hub.setResponder(wire.TypeLogin, func(context.Context, any) (wire.Envelope, error) {
			e := wire.Envelope{V: wire.Version, Type: wire.TypeSessionGrant, Re: "x"}
			if json.Valid(data) {
				e.Data = bytes.Clone(data)
			}
			return e, nil
		})
		h.a.Tap("ana")
		ev := h.ev.until(t, EventSessionStarted, EventLoginRefused)
		if ev.Event == EventSessionStarted && ev.ExpiresAt.After(latest) {
			t.Errorf("session.started expires_at %s, after %s", ev.ExpiresAt, latest)
		}
		h.checkLimits(latest)
		h.stillWorks()
	})
}

// FuzzEnrollStart arms an enrollment with arbitrary creation options and
// origin, and taps: whatever they say, a credential is made only for the
// origin given and an RP ID the origin may use (the origin's host or a
// parent domain of it), through a create ceremony.
func FuzzEnrollStart(f *testing.F) {
	f.Add([]byte(creationOptions("ana")), testOrigin)
	f.Add([]byte(`{"publicKey":{"rp":{"id":"evil.example"},"user":{"id":"dWlk","name":"ana"},"challenge":"Y2g","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`), testOrigin)
	f.Add([]byte(`{"publicKey":{"rp":{"id":"example.com"},"user":{"id":"dWlk","name":"ana"},"challenge":"Y2g","timeout":9223372036854775807}}`), "https://kiosk.example.com")
	f.Add([]byte(`{"rp":{"id":"com"},"user":{"id":"dWlk"},"challenge":"Y2g"}`), "https://example.com")
	f.Add([]byte(`{"publicKey":{"user":{"id":"`+strings.Repeat("A", 200)+`"},"challenge":"Y2g"}}`), testOrigin)
	f.Add([]byte(`{"publicKey":{"user":{"id":"dWlk"},"challenge":"","pubKeyCredParams":[{"type":"public-key","alg":-8}]}}`), "http://127.0.0.1:8443")
	f.Add([]byte(`{"publicKey":null}`), "file:///etc/passwd")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, options []byte, origin string) {
		h := newHarness(t)
		h.connect()
		var mu sync.Mutex
		var sent []byte
		h.hub.setResponder(wire.TypeRegister, func(_ context.Context, data any) (wire.Envelope, error) {
			mu.Lock()
			sent = data.(wire.Register).Credential
			mu.Unlock()
			return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
		})
		e := wire.Envelope{V: wire.Version, Type: wire.TypeEnrollStart, ID: "e1"}
		if json.Valid(options) {
			e.Data, _ = json.Marshal(wire.EnrollStart{User: "ana", Options: bytes.Clone(options), Origin: origin})
		}
		h.hub.handler().Push(e)
		h.do(func() {})
		armed := false
		h.do(func() { armed = h.a.enroll != nil })
		if armed {
			h.ev.until(t, EventEnrollmentArmed)
			h.a.Tap("ana")
			ev := h.ev.until(t, EventCredentialRegistered, EventCredentialRefused)
			mu.Lock()
			cred := sent
			mu.Unlock()
			if ev.Event == EventCredentialRegistered {
				checkCreated(t, cred, options, origin)
			}
		} else {
			h.hub.waitFor("the error answer", func() bool {
				for _, r := range h.hub.getReplies() {
					if we, ok := r.Data.(wire.Error); r.Re == "e1" && r.Type == wire.TypeError && ok && we.Code == wire.ErrBadMessage {
						return true
					}
				}
				return false
			})
		}
		h.stillWorks()
	})
}

// checkCreated checks a registration sent to the hub: a create ceremony for
// origin, by an RP ID origin's host may use.
func checkCreated(t *testing.T, cred, options []byte, origin string) {
	t.Helper()
	p, err := protocol.ParseCredentialCreationResponseBytes(cred)
	if err != nil {
		t.Fatalf("registration sent is unreadable: %v", err)
	}
	u, err := url.Parse(origin)
	if err != nil {
		t.Fatalf("registered for origin %q, which does not parse: %v", origin, err)
	}
	host := strings.ToLower(u.Hostname())
	if cd := p.Response.CollectedClientData; cd.Type != protocol.CreateCeremony || !strings.EqualFold(cd.Origin, strings.TrimSuffix(origin, "/")) {
		t.Errorf("client data %+v for origin %q", cd, origin)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "::1")) {
		t.Errorf("registered for origin %q, not a secure context", origin)
	}
	var w struct {
		PublicKey *struct {
			RP struct {
				ID string `json:"id"`
			} `json:"rp"`
		} `json:"publicKey"`
		RP struct {
			ID string `json:"id"`
		} `json:"rp"`
	}
	_ = json.Unmarshal(options, &w)
	rpID := w.RP.ID
	if w.PublicKey != nil {
		rpID = w.PublicKey.RP.ID
	}
	if rpID == "" {
		rpID = host
	}
	rpID = strings.ToLower(rpID)
	if rpID != host && !strings.HasSuffix(host, "."+rpID) {
		t.Errorf("registered for RP ID %q from origin %q", rpID, origin)
	}
	if want := sha256.Sum256([]byte(rpID)); !bytes.Equal(p.Response.AttestationObject.AuthData.RPIDHash, want[:]) {
		t.Errorf("rpIdHash is not that of %q", rpID)
	}
}

// FuzzClientFrames sends an arbitrary frame over the real Client's mutual
// TLS channel after the welcome, then a session.revoke push: the Client
// never hands the handler anything but a push with an ID, answers what it
// cannot take with a documented error code, and the push after it still
// arrives (on the same channel, or after a reconnect).
func FuzzClientFrames(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"session.revoke","id":"p1","data":{"session_id":"s1","reason":"forced"}}`,
		`{"v":1,"type":"session.revoke","data":{"session_id":"s1"}}`,
		`{"v":2,"type":"session.revoke","id":"p1"}`,
		`{"v":1,"type":"ack","re":"a1"}`,
		`{"v":1,"type":"challenge","re":"a999","data":{}}`,
		`{"v":1,"type":"error","data":{"code":"x"}}`,
		`{"v":1,"type":"welcome","re":"a1","data":{}}`,
		`{"v":1,"type":"\u0000","id":"\ud800"}`,
		`{"v":1e400,"type":"x"}`,
		`not json`,
		"\xff\xfe",
		``,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte{0, 1, 2}, true)
	pki := certstest.New(f)
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		answers := make(chan wire.Envelope, 64)
		srv := newWSServer(t, pki, func(n int, ws *websocket.Conn, hello wire.Envelope) {
			welcome(t, ws, hello, "", wire.Welcome{Site: "north", ServerTime: time.Now()})
			if n == 1 {
				typ := websocket.TextMessage
				if binary {
					typ = websocket.BinaryMessage
				}
				_ = ws.WriteMessage(typ, frame)
			}
			sendEnv(t, ws, wire.TypeSessionRevoke, "probe", "", wire.SessionRevoke{SessionID: "probe-session", Reason: wire.ReasonForced})
			for {
				e, err := readEnv(ws)
				if err != nil {
					return
				}
				select {
				case answers <- e:
				default:
				}
			}
		})
		c := newTestClient(t, pki, srv.url, nil, nil)
		h := newRecHandler("")
		stop := runClient(t, c, h)
		for {
			p := recv(t, h.pushes, "the probe push")
			if p.ID == "" {
				t.Errorf("push without an ID handed on: %+v", p)
			}
			switch p.Type {
			case wire.TypeSessionRevoke, wire.TypeSessionExtend, wire.TypeEnrollStart:
			default:
				t.Errorf("%s handed on as a push", p.Type)
			}
			var r wire.SessionRevoke
			if p.ID == "probe" && p.Unmarshal(&r) == nil && r.SessionID == "probe-session" {
				break
			}
		}
		stop()
		srv.close() // no more answers come in
		for len(answers) > 0 {
			a := <-answers
			if a.Type != wire.TypeError {
				t.Errorf("the client sent %s unasked", a.Type)
				continue
			}
			var we wire.Error
			if err := a.Unmarshal(&we); err != nil {
				t.Errorf("error answer %+v: %v", a, err)
				continue
			}
			switch we.Code {
			case wire.ErrBadMessage, wire.ErrUnknownType, wire.ErrVersion:
			default:
				t.Errorf("error answer with code %q", we.Code)
			}
		}
	})
}
