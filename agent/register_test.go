package agent

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// registerRun is one Register call in a goroutine.
type registerRun struct {
	res  chan RegisterResult
	err  chan error
	ev   *recorder
	stop context.CancelFunc
}

func startRegister(t *testing.T, cfg RegisterConfig) *registerRun {
	t.Helper()
	r := &registerRun{res: make(chan RegisterResult, 1), err: make(chan error, 1), ev: newRecorder()}
	cfg.Events = r.ev
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() {
		res, err := Register(ctx, cfg)
		r.res <- res
		r.err <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.err:
		case <-time.After(waitLimit):
			t.Error("Register did not return")
		}
	})
	return r
}

// wait returns Register's result.
func (r *registerRun) wait(t *testing.T) (RegisterResult, error) {
	t.Helper()
	res := recv(t, r.res, "Register to return")
	err := <-r.err
	r.err <- err // for the cleanup
	return res, err
}

func enrollStart(user string) wire.EnrollStart {
	return wire.EnrollStart{User: user, Options: creationOptions(user), Origin: testOrigin}
}

// Register speaks the enrollment part of the protocol and nothing else: its
// hello reports no session even with one in the state directory, which it
// leaves as it is; revocations and extensions go unanswered (an ack would
// tell the hub a teardown happened); enroll.start is answered with
// register and acked.
func TestRegisterHoldsNoSession(t *testing.T) {
	dir := enrolledDir(t, "generic-x86")
	mustNoErr(t, writeSessionState(dir, sessionState{Session: &liveSession{Session: Session{
		ID: "s1", User: "bob", Apps: []string{}, ExpiresAt: time.Now().Add(time.Hour),
	}}}))
	before, err := os.ReadFile(filepath.Join(dir, SessionFile))
	mustNoErr(t, err)

	hub := newFakeHub(t, SystemClock{})
	hub.setResponder(wire.TypeRegister, func(context.Context, any) (wire.Envelope, error) {
		return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
	})
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	mustNoErr(t, err)
	r := startRegister(t, RegisterConfig{StateDir: dir, Authenticators: src, Badge: "ana", Hub: hub, Timeout: time.Minute})
	hub.connect()
	if hs := hub.handler().HelloSessions(); hs.LiveSession != "" || hs.Complete {
		t.Errorf("hello reports %+v: a registration names no session and must not say its list is complete", hs)
	}
	if e := r.ev.expect(t, EventConnected)[0]; e.DeviceName != "Ward 3 kiosk" {
		t.Errorf("connected = %+v", e)
	}
	hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonForced})
	hub.push(wire.TypeSessionExtend, "p2", wire.SessionExtend{SessionID: "s1", ExpiresAt: time.Now().Add(2 * time.Hour)})
	hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))

	res, err := r.wait(t)
	if err != nil || res != (RegisterResult{User: "ana", DisplayName: "User ana"}) {
		t.Fatalf("Register = %+v, %v", res, err)
	}
	evs := r.ev.expect(t, EventEnrollmentArmed, EventCredentialRegistered, EventEnrollmentEnded)
	if evs[1].User != "ana" || evs[2].Reason != EnrollmentRegistered {
		t.Errorf("events %+v", evs)
	}
	r.ev.none(t)
	if got := hub.requestTypes(); !slices.Equal(got, []string{wire.TypeRegister}) {
		t.Errorf("requests %v, want only register", got)
	}
	if got := hub.getReplies(); len(got) != 1 || got[0].Re != "e1" || got[0].Type != wire.TypeAck {
		t.Errorf("replies %+v, want only the ack of e1", got)
	}
	after, err := os.ReadFile(filepath.Join(dir, SessionFile))
	mustNoErr(t, err)
	if !bytes.Equal(before, after) {
		t.Errorf("session.json changed:\n%s\nto\n%s", before, after)
	}
}

// scriptedKey is a soft badge whose first MakeCredential calls fail with
// the given errors, as a hardware key that was not touched in time, or
// was already registered, would.
type scriptedKey struct {
	authenticator.Authenticator
	mu    sync.Mutex
	fails []error
	calls int
}

func (k *scriptedKey) MakeCredential(ctx context.Context, req authenticator.CreateRequest) (authenticator.CreateResult, error) {
	k.mu.Lock()
	k.calls++
	if len(k.fails) > 0 {
		err := k.fails[0]
		k.fails = k.fails[1:]
		k.mu.Unlock()
		return authenticator.CreateResult{}, err
	}
	k.mu.Unlock()
	return k.Authenticator.MakeCredential(ctx, req)
}

// quickPause is the real clock, with Register's pause between attempts
// cut to a millisecond.
type quickPause struct{ SystemClock }

func (quickPause) AfterFunc(d time.Duration, f func()) Timer {
	if d == registerRetryPause {
		d = time.Millisecond
	}
	return time.AfterFunc(d, f)
}

// With Retry (hardware keys), a key that gave up waiting for a touch,
// failed, or is already registered is asked again, with a prompt saying why
// (a failure repeated is not announced again); without it
// (software keys), an already registered key ends Register with nothing
// sent to the hub.
func TestRegisterRetry(t *testing.T) {
	noDevice := errors.New("no FIDO2 device found")
	for _, tc := range []struct {
		name    string
		retry   bool
		fails   []error
		prompts []string
		events  []string
		refused []string // credential.refused reasons
		err     error
	}{{
		name:  "retry",
		retry: true,
		fails: []error{authenticator.ErrTouchTimeout, noDevice, noDevice, noDevice, authenticator.ErrCredentialExcluded},
		prompts: []string{
			"Touch the security key to register it for User ana (ana).",
			"No touch yet: touch the security key to register it for User ana (ana).",
			// Said once, however often the key fails that way.
			"The key failed (make credential: no FIDO2 device found): touch it again, or another key.",
			"This key is already registered for User ana (ana): touch another key.",
		},
		events:  []string{EventConnected, EventEnrollmentArmed, EventCredentialRefused, EventCredentialRefused, EventCredentialRegistered, EventEnrollmentEnded},
		refused: []string{RegisterError, RegisterAlreadyRegistered},
	}, {
		name:    "no retry",
		fails:   []error{authenticator.ErrCredentialExcluded},
		prompts: []string{"Touch the security key to register it for User ana (ana)."},
		events:  []string{EventConnected, EventEnrollmentArmed, EventCredentialRefused},
		refused: []string{RegisterAlreadyRegistered},
		err:     ErrKeyAlreadyRegistered,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			soft, err := authenticator.NewSoft(t.TempDir(), "ana", authSoftOpts())
			mustNoErr(t, err)
			key := &scriptedKey{Authenticator: soft, fails: tc.fails}
			hub := newFakeHub(t, SystemClock{})
			hub.setResponder(wire.TypeRegister, func(context.Context, any) (wire.Envelope, error) {
				return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
			})
			var mu sync.Mutex
			var prompts []string
			r := startRegister(t, RegisterConfig{
				StateDir: enrolledDir(t, "generic-x86"), Hub: hub, Timeout: time.Minute, Retry: tc.retry, Clock: quickPause{},
				Authenticators: func(string) (authenticator.Authenticator, error) { return key, nil },
				Prompt:         func(line string) { mu.Lock(); prompts = append(prompts, line); mu.Unlock() },
			})
			hub.connect()
			hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))
			_, err = r.wait(t)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Register: %v, want %v", err, tc.err)
			}
			var refused []string
			for _, e := range r.ev.expect(t, tc.events...) {
				if e.Event == EventCredentialRefused {
					refused = append(refused, e.Reason)
				}
			}
			if !slices.Equal(refused, tc.refused) {
				t.Errorf("credential.refused reasons %q, want %q", refused, tc.refused)
			}
			r.ev.none(t)
			if key.calls != len(tc.fails)+1 && tc.retry {
				t.Errorf("%d attempts, want %d", key.calls, len(tc.fails)+1)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(prompts, tc.prompts) {
				t.Errorf("prompts %q, want %q", prompts, tc.prompts)
			}
			if !tc.retry {
				if got := hub.requestTypes(); len(got) != 0 {
					t.Errorf("requests %v, want none", got)
				}
				if want := "the security key already holds a credential of ana, so nothing was sent to the hub"; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q, want it to say %q", err, want)
				}
			}
		})
	}
}

// refuse answers a register with the hub's refusal code.
func refuse(code string) func(context.Context, any) (wire.Envelope, error) {
	return func(context.Context, any) (wire.Envelope, error) {
		return wire.Envelope{}, &RemoteError{Type: wire.TypeRegister, Code: code, Message: "registration refused: " + code}
	}
}

// Refusals and failures of the hub end Register with what to do, by the
// reason the hub gave; a refusal answers the enrollment with the hub's
// code, as run does.
func TestRegisterHubAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  func(context.Context, any) (wire.Envelope, error)
		err     error
		reason  string
		replies []replyRec
		msg     string
	}{{
		name: "refused",
		answer: func(context.Context, any) (wire.Envelope, error) {
			return wire.Envelope{}, &RemoteError{Type: wire.TypeRegister, Code: wire.ErrState, Message: "registration refused: ask the supervisor to start the enrollment again"}
		},
		err: ErrRegistrationRefused, reason: RegisterRefused,
		replies: []replyRec{{Re: "e1", Type: wire.TypeError, Data: wire.Error{Code: wire.ErrState, Message: "registration refused"}}},
		msg:     `registration refused: the hub refused key "ana" for ana (hub: "registration refused: ask the supervisor to start the enrollment again"; the hub's log and audit trail say why): run this command again and, while it waits, ask an admin to POST /api/v1/enrollments {"user":"ana","device":"d1"}`,
	}, {
		name:   "enrollment expired",
		answer: refuse(wire.ErrEnrollmentExpired),
		err:    ErrRegistrationRefused, reason: RegisterEnrollmentExpired,
		replies: []replyRec{{Re: "e1", Type: wire.TypeError, Data: wire.Error{Code: wire.ErrEnrollmentExpired, Message: "registration refused"}}},
		msg:     `registration refused: the hub refused key "ana" for ana: no enrollment is pending for this kiosk any more (it expired, was replaced by a newer one or was withdrawn): run this command again and, while it waits, ask an admin to POST /api/v1/enrollments {"user":"ana","device":"d1"}`,
	}, {
		// The hub says so: no guess from this build's copy of the
		// profile (generic-x86 allows every model).
		name:   "model not allowed",
		answer: refuse(wire.ErrModelNotAllowed),
		err:    ErrRegistrationRefused, reason: RegisterModelNotAllowed,
		replies: []replyRec{{Re: "e1", Type: wire.TypeError, Data: wire.Error{Code: wire.ErrModelNotAllowed, Message: "registration refused"}}},
		msg:     `registration refused: the hub refused key "ana" for ana: its model, AAGUID ` + authenticator.DefaultAAGUID + `, is not allowed on this kiosk's profile generic-x86 (allowedAAGUIDs): with a key of an allowed model, run this command again`,
	}, {
		name:   "attestation untrusted",
		answer: refuse(wire.ErrAttestationUntrusted),
		err:    ErrRegistrationRefused, reason: RegisterAttestationUntrusted,
		replies: []replyRec{{Re: "e1", Type: wire.TypeError, Data: wire.Error{Code: wire.ErrAttestationUntrusted, Message: "registration refused"}}},
		msg:     `registration refused: the hub refused key "ana" for ana: this kiosk's profile generic-x86 allows only some key models, and the key's attestation does not prove its model (AAGUID ` + authenticator.DefaultAAGUID + `) by a maker the hub trusts: with a key of an allowed model, run this command again`,
	}, {
		name:   "already registered",
		answer: refuse(wire.ErrAlreadyRegistered),
		err:    ErrRegistrationRefused, reason: RegisterAlreadyRegistered,
		replies: []replyRec{{Re: "e1", Type: wire.TypeError, Data: wire.Error{Code: wire.ErrAlreadyRegistered, Message: "registration refused"}}},
		msg:     `registration refused: the hub refused key "ana" for ana: the key is already registered for ana: to register another key, run this command again`,
	}, {
		name:   "invalid attestation",
		answer: refuse(wire.ErrInvalidAttestation),
		err:    ErrRegistrationRefused, reason: RegisterInvalidAttestation,
		replies: []replyRec{{Re: "e1", Type: wire.TypeError, Data: wire.Error{Code: wire.ErrInvalidAttestation, Message: "registration refused"}}},
		msg:     `registration refused: the hub refused key "ana" for ana: the key's answer could not be verified (the hub's log says why): to try again, with this key or another, run this command again`,
	}, {
		// A code this agent does not know (a newer hub's) is a refusal
		// like any other.
		name:   "unknown code",
		answer: refuse("model_on_fire"),
		err:    ErrRegistrationRefused, reason: RegisterRefused,
		replies: []replyRec{{Re: "e1", Type: wire.TypeError, Data: wire.Error{Code: "model_on_fire", Message: "registration refused"}}},
		msg:     `registration refused: the hub refused key "ana" for ana (hub: "registration refused: model_on_fire"; the hub's log and audit trail say why)`,
	}, {
		name: "no answer",
		answer: func(context.Context, any) (wire.Envelope, error) {
			return wire.Envelope{}, ErrDisconnected
		},
		err: ErrRegistrationUnanswered, reason: RegisterHubUnreachable,
		msg: "no answer to the registration from the hub for ana (connection to the hub lost): the key may or may not be registered now",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hub := newFakeHub(t, SystemClock{})
			hub.setResponder(wire.TypeRegister, tc.answer)
			src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
			mustNoErr(t, err)
			r := startRegister(t, RegisterConfig{StateDir: enrolledDir(t, "generic-x86"), Authenticators: src, Badge: "ana", Hub: hub, Timeout: time.Minute})
			hub.connect()
			hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))
			_, err = r.wait(t)
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Register: %v\nwant %v saying %q", err, tc.err, tc.msg)
			}
			names := []string{EventConnected, EventEnrollmentArmed, EventCredentialRefused}
			if tc.err == ErrRegistrationRefused {
				names = append(names, EventEnrollmentEnded)
			}
			evs := r.ev.expect(t, names...)
			if e := evs[2]; e.Reason != tc.reason {
				t.Errorf("credential.refused = %+v, want reason %s", e, tc.reason)
			}
			if tc.err == ErrRegistrationRefused && evs[3].Reason != EnrollmentRefused {
				t.Errorf("enrollment.ended = %+v", evs[3])
			}
			r.ev.none(t)
			if got := hub.getReplies(); len(got) != len(tc.replies) || (len(got) == 1 && (got[0].Re != tc.replies[0].Re || got[0].Type != tc.replies[0].Type || got[0].Data != tc.replies[0].Data)) {
				t.Errorf("replies %+v, want %+v", got, tc.replies)
			}
		})
	}
}

// A SIGINT once the key has made the credential does not abandon the
// registration: the hub's answer is still read, so the outcome is known.
func TestRegisterInterruptAfterTouch(t *testing.T) {
	hub := newFakeHub(t, SystemClock{})
	asked := make(chan struct{})
	answer := make(chan struct{})
	hub.setResponder(wire.TypeRegister, func(ctx context.Context, _ any) (wire.Envelope, error) {
		close(asked)
		select {
		case <-answer:
		case <-ctx.Done():
			return wire.Envelope{}, ctx.Err()
		}
		return env(t, wire.TypeRegistered, wire.Registered{User: "ana"}), nil
	})
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	mustNoErr(t, err)
	r := startRegister(t, RegisterConfig{StateDir: enrolledDir(t, "generic-x86"), Authenticators: src, Badge: "ana", Hub: hub, Timeout: time.Minute})
	hub.connect()
	hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))
	recv(t, asked, "the register request")
	r.stop()
	close(answer)
	if res, err := r.wait(t); err != nil || res.User != "ana" {
		t.Fatalf("Register = %+v, %v; want ana registered", res, err)
	}
}

// Without an enrollment, or without the hub, Register gives up after
// Timeout and says what to do; cancelled, it says it was interrupted.
func TestRegisterGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		connect bool
		cancel  bool
		err     error
		msg     string
	}{
		{name: "no enrollment", connect: true, err: ErrNoEnrollment,
			msg: `no enrollment pending for this kiosk (none came within 50ms): run this command again and, while it waits, ask an admin to POST /api/v1/enrollments {"user":"USERNAME","device":"d1"}`},
		{name: "no hub", err: ErrNotConnected,
			msg: "not connected to the hub within 50ms (the log above says why): check that https://hub.example:8443 is reachable from this kiosk"},
		{name: "interrupted", connect: true, cancel: true, err: ErrInterrupted, msg: "interrupted (context canceled): no credential was registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := newFakeHub(t, SystemClock{})
			src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
			mustNoErr(t, err)
			timeout := 50 * time.Millisecond
			if tc.cancel {
				timeout = time.Minute
			}
			r := startRegister(t, RegisterConfig{StateDir: enrolledDir(t, "generic-x86"), Authenticators: src, Badge: "ana", Hub: hub, Timeout: timeout})
			if tc.connect {
				hub.connect()
				r.ev.expect(t, EventConnected)
			}
			if tc.cancel {
				r.stop()
			}
			if _, err := r.wait(t); !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Register: %v\nwant %v saying %q", err, tc.err, tc.msg)
			}
		})
	}
}

// The hub keeps one channel per kiosk: when another agent of the kiosk
// connects (shiftgate-agent run left running), Register stops and says so
// rather than fight over the channel.
func TestRegisterChannelTaken(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r0 := h.API(t, http.MethodPost, "/api/v1/devices/codes", map[string]string{"name": "north-1", "site": "north"})
	if r0.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r0.Status, r0.Body)
	}
	code, _ := r0.JSON()["code"].(string)
	state := filepath.Join(t.TempDir(), "state")
	if _, err := Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: filepath.Join(h.DataDir, CAFile), Code: code, StateDir: state, Profile: "generic-x86"}); err != nil {
		t.Fatal(err)
	}
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	mustNoErr(t, err)
	r := startRegister(t, RegisterConfig{StateDir: state, Authenticators: src, Badge: "ana", Timeout: time.Minute})
	r.ev.expect(t, EventConnected)

	other, err := ClientFromStateDir(Config{StateDir: state})
	mustNoErr(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- other.Run(ctx, newRecHandler("")) }()
	defer func() {
		cancel()
		recv(t, done, "the other client to stop")
	}()
	_, err = r.wait(t)
	if want := "another agent took over this kiosk's hub channel (device north-1): stop shiftgate-agent run or the kiosk UI on this kiosk"; !errors.Is(err, ErrChannelTaken) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Register: %v, want %q", err, want)
	}
	r.ev.expect(t, EventDisconnected)
}
