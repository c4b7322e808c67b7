package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// registerResult is how one registration attempt ended, for the Agent
// (registerDone) and for Register.
type registerResult struct {
	user   string
	reason string // failed: a Register* reason
	drop   bool   // the hub refused: the enrollment is over
	code   string // the hub's error code when it refused
	quiet  bool   // a touch wait ended without a touch: still armed, nothing emitted
	pause  bool   // and the reader waits a while before the next one
	err    error  // why it failed
}

// badgeRegisterFailure is the result of a badge that made no credential.
// A badge that cannot hold a discoverable credential, or has no room for
// one, gets a reason of its own: unlike RegisterError, another tap of the
// same badge fails the same way, and the screen must say to use another.
func badgeRegisterFailure(log *slog.Logger, badge string, err error) registerResult {
	switch {
	case errors.Is(err, authenticator.ErrCredentialExcluded):
		return registerResult{reason: RegisterAlreadyRegistered, err: err}
	case errors.Is(err, authenticator.ErrResidentKeyUnsupported):
		log.Warn("register: the badge cannot store a discoverable credential: use another", "badge", badge, "err", err)
		return registerResult{reason: RegisterResidentKeyUnsupported, err: err}
	case errors.Is(err, authenticator.ErrKeyStoreFull):
		log.Warn("register: the badge has no room for another credential: use another, or delete its unused ones", "badge", badge, "err", err)
		return registerResult{reason: RegisterKeyStoreFull, err: err}
	}
	log.Warn("register: badge failed", "badge", badge, "err", err)
	return registerResult{reason: RegisterError, err: err}
}

// sendRegistration sends a new credential (PublicKeyCredential JSON) for
// the enrollment es to the hub and reads its answer.
func sendRegistration(ctx context.Context, hub HubClient, log *slog.Logger, cred []byte, es wire.EnrollStart) registerResult {
	ans, err := hub.Request(ctx, wire.TypeRegister, wire.Register{Credential: cred})
	var re *RemoteError
	switch {
	case errors.As(err, &re):
		log.Warn("register: hub refused", "code", re.Code, "message", re.Message)
		return registerResult{reason: refusalReason(re.Code), drop: true, code: re.Code, err: err}
	case err != nil:
		log.Warn("register: hub", "err", err)
		return registerResult{reason: RegisterHubUnreachable, err: err}
	case ans.Type != wire.TypeRegistered:
		log.Error("register: unexpected answer", "type", ans.Type)
		return registerResult{reason: RegisterError, drop: true, code: wire.ErrBadMessage, err: fmt.Errorf("hub answered register with %s", ans.Type)}
	}
	var r wire.Registered
	_ = ans.Unmarshal(&r)
	if r.User == "" {
		r.User = es.User
	}
	return registerResult{user: r.User}
}

// refusalReason is the credential.refused reason for the hub's error code
// answering a registration: its own when it is a registration refusal
// (wire.RegistrationRefusal), RegisterRefused for any other error (an
// older hub says bad_state whatever the cause). Every one ends the
// enrollment.
func refusalReason(code string) string {
	if wire.RegistrationRefusal(code) {
		return code
	}
	return RegisterRefused
}

// --- one-shot registration (shiftgate-agent register) ---------------------

// DefaultRegisterTimeout is RegisterConfig.Timeout's default.
const DefaultRegisterTimeout = 2 * time.Minute

// registerRetryPause is how long Register with Retry waits after a key
// failed at once (none plugged in, a PIN problem) before asking again.
const registerRetryPause = time.Second

// Errors of Register, besides ErrNotConnected (never connected to the hub
// within the timeout). Test with errors.Is; the messages say what to do.
var (
	// ErrNoEnrollment: the hub sent no enrollment for this kiosk within
	// the timeout.
	ErrNoEnrollment = errors.New("no enrollment pending for this kiosk")
	// ErrNoTouch: an enrollment came, but no key was registered before the
	// timeout (with Retry: no touch, or only keys that failed).
	ErrNoTouch = errors.New("no key registered in time")
	// ErrKeyAlreadyRegistered: the key already holds a credential of the
	// user (the hub's exclude list); nothing was sent to the hub.
	ErrKeyAlreadyRegistered = errors.New("key already registered")
	// ErrKeyFailed: the key made no credential.
	ErrKeyFailed = errors.New("key failed")
	// ErrRegistrationRefused: the hub refused the credential; the
	// enrollment is used up.
	ErrRegistrationRefused = errors.New("registration refused")
	// ErrRegistrationUnanswered: the credential was made and sent, and the
	// hub's answer never came: it may or may not be registered.
	ErrRegistrationUnanswered = errors.New("no answer to the registration")
	// ErrChannelTaken: another agent process connected as this kiosk and
	// the hub closed this channel in its favour.
	ErrChannelTaken = errors.New("another agent took over this kiosk's hub channel")
	// ErrInterrupted: ctx ended (SIGINT, SIGTERM) before a credential was
	// registered.
	ErrInterrupted = errors.New("interrupted")
)

// RegisterConfig configures Register.
type RegisterConfig struct {
	// StateDir is the enrolled state directory (see Enroll). Register uses
	// its device key and certificate, and reads nothing else of it: the
	// live session, if any, is left alone.
	StateDir string
	// Authenticators and Badge give the key to register:
	// Authenticators(Badge).
	Authenticators AuthenticatorSource
	Badge          string
	// Timeout bounds the wait for the hub, the enrollment and the key
	// (default DefaultRegisterTimeout). The hub's answer to a credential
	// made in time is awaited HubTimeout more.
	Timeout time.Duration
	// HubTimeout bounds the hub's answer to the registration (default
	// DefaultLoginTimeout).
	HubTimeout time.Duration
	// Retry asks the key again, until Timeout, after a failure another
	// touch may fix: no touch before the key gave up, a key already
	// registered for the user (the worker presents another), a key error.
	// For hardware keys; a software key would only fail the same way again.
	Retry bool
	// Prompt, if set, is called with a line for the worker before each
	// attempt ("Touch the security key …"); the headless agent prints it
	// on stderr for hardware keys.
	Prompt func(line string)
	// Events receives the same events as the Agent emits for an
	// enrollment: connected, disconnected, enrollment.armed,
	// credential.registered or credential.refused, enrollment.ended.
	Events       EventSink
	Logger       *slog.Logger
	Clock        Clock
	AgentVersion string
	// Hub is the device channel; nil builds a *Client from StateDir.
	Hub HubClient
}

// RegisterResult is the credential Register registered.
type RegisterResult struct {
	User        string // the hub's userName
	DisplayName string // from the enrollment's options, "" if none
}

// Register connects to the hub as the kiosk enrolled in cfg.StateDir, waits
// for an enrollment for it (POST /api/v1/enrollments while it waits: the
// hub sends enroll.start only to a connected kiosk), registers the key
// cfg.Authenticators(cfg.Badge) for the enrollment's user and returns. It
// never logs in and holds no session: its hello reports none, and it
// leaves session.revoke and session.extend pushes unanswered (the hub
// forgets them when the channel closes; the agent's run gets the verdict in
// its welcome). The channel is closed before it returns.
//
// Errors are wrapped sentinels of this file (and ErrNotConnected), each
// with a message saying what to do, or a *DeviceRefusedError (test with
// errors.As): the hub refuses the kiosk's device certificate (disabled,
// deleted, expired, another CA), and Register fails at once, with the
// refusal's hint, rather than wait for its timeout. The kiosk must not run another agent
// (shiftgate-agent run, the kiosk UI) meanwhile: the hub keeps one channel
// per kiosk. Register holds the state directory's lock (LockStateDir) while
// it runs, so it fails at once with ErrStateDirBusy when another agent
// process runs on cfg.StateDir, and with ErrChannelTaken when an agent
// elsewhere (a copy of the directory) takes the channel.
func Register(ctx context.Context, cfg RegisterConfig) (RegisterResult, error) {
	if cfg.StateDir == "" {
		return RegisterResult{}, errors.New("register: state directory required")
	}
	if cfg.Authenticators == nil {
		return RegisterResult{}, errors.New("register: authenticator required")
	}
	if cfg.Timeout < 0 || cfg.HubTimeout < 0 {
		return RegisterResult{}, fmt.Errorf("register: negative timeout (%s, %s)", cfg.Timeout, cfg.HubTimeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultRegisterTimeout
	}
	if cfg.HubTimeout == 0 {
		cfg.HubTimeout = DefaultLoginTimeout
	}
	if cfg.Events == nil {
		cfg.Events = EventFunc(func(Event) {})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.AgentVersion == "" {
		cfg.AgentVersion = "dev"
	}
	en, err := ReadEnrollment(cfg.StateDir)
	if err != nil {
		return RegisterResult{}, fmt.Errorf("register: %w", err)
	}
	rp, err := en.RelyingParty()
	if err != nil {
		return RegisterResult{}, fmt.Errorf("register: %w", err)
	}
	// One agent process per kiosk: a run or kiosk UI on this directory
	// would fight over the hub channel.
	lock, err := LockStateDir(cfg.StateDir)
	if err != nil {
		return RegisterResult{}, fmt.Errorf("register: %w", err)
	}
	defer lock.Close()
	// The key first: a bad name or a corrupt badge file fails before the
	// hub is bothered.
	auth, err := cfg.Authenticators(cfg.Badge)
	if err != nil {
		return RegisterResult{}, fmt.Errorf("register: %s: %w", keyLabel(cfg.Badge), err)
	}
	hub := cfg.Hub
	if hub == nil {
		c, err := ClientFromStateDir(Config{StateDir: cfg.StateDir, AgentVersion: cfg.AgentVersion, Logger: cfg.Logger, Clock: cfg.Clock})
		if err != nil {
			return RegisterResult{}, fmt.Errorf("register: %w", err)
		}
		hub = c
	}
	r := &oneShot{cfg: cfg, en: en, rp: rp, auth: auth, hub: hub, log: cfg.Logger, clock: cfg.Clock, signal: make(chan struct{}, 1)}
	return r.run(ctx)
}

// oneShot is one Register call. The hub client reports to it (Handler)
// from its read goroutine; run takes the reports from a queue, so the
// client is never held up, not even while a key waits for a touch and the
// registration's answer must be read.
type oneShot struct {
	cfg      RegisterConfig
	en       Enrollment
	rp       RelyingParty // the only one the key is asked to register for
	auth     authenticator.Authenticator
	hub      HubClient
	log      *slog.Logger
	clock    Clock
	deadline time.Time // by clock

	mu     sync.Mutex
	notes  []note
	signal chan struct{} // a note was queued
}

type note struct {
	welcome *wire.Welcome // connected
	down    bool          // disconnected, with err
	err     error
	push    *wire.Envelope
	refused *DeviceRefusedError // the hub refuses the device certificate
}

func (r *oneShot) queue(n note) {
	r.mu.Lock()
	r.notes = append(r.notes, n)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *oneShot) take() []note {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.notes
	r.notes = nil
	return n
}

// Handler, for the hub client.

// HelloSessions names no session, and does not say the list is complete:
// a registration holds none, and the hub must not end the kiosk's.
func (r *oneShot) HelloSessions() wire.Hello { return wire.Hello{} }
func (r *oneShot) LateAnswer(wire.Envelope)  {} // no logins here
func (r *oneShot) Connected(w wire.Welcome)  { r.queue(note{welcome: &w}) }
func (r *oneShot) Disconnected(err error)    { r.queue(note{down: true, err: err}) }
func (r *oneShot) Push(env wire.Envelope)    { r.queue(note{push: &env}) }

func (r *oneShot) emit(e Event) {
	e.Time = r.clock.Now()
	r.cfg.Events.Emit(e)
}

func (r *oneShot) run(ctx context.Context) (RegisterResult, error) {
	r.deadline = r.clock.Now().Add(r.cfg.Timeout)
	expired := make(chan struct{})
	t := r.clock.AfterFunc(r.cfg.Timeout, func() { close(expired) })
	defer t.Stop()
	// The channel outlives ctx until run returns, so that the hub's
	// answer to a credential already sent is still read after a SIGINT.
	chCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.hub.Run(chCtx, r); err != nil {
			r.log.Error("hub client stopped", "err", err)
		}
	}()
	defer func() {
		stop()
		<-done
	}()
	connected := false
	for {
		select {
		case <-ctx.Done():
			return RegisterResult{}, r.interrupted(ctx)
		case <-expired:
			if !connected {
				return RegisterResult{}, fmt.Errorf("%w within %s (the log above says why): check that %s is reachable from this kiosk and that the kiosk is not disabled on the hub",
					ErrNotConnected, r.cfg.Timeout, r.en.HubURL)
			}
			return RegisterResult{}, fmt.Errorf("%w (none came within %s): %s (or a supervisor to authorise the enrollment in the console); the hub sends enrollments only to a connected kiosk",
				ErrNoEnrollment, r.cfg.Timeout, r.again("USERNAME"))
		case <-r.signal:
		}
		for _, n := range r.take() {
			switch {
			case n.welcome != nil:
				connected = true
				w := n.welcome
				r.emit(Event{Event: EventConnected, DeviceID: w.DeviceID, DeviceName: w.DeviceName, Site: w.Site})
				r.log.Info("connected; waiting for an enrollment for this kiosk", "device", w.DeviceName, "timeout", r.cfg.Timeout)
			case n.refused != nil:
				rf := n.refused
				r.emit(Event{Event: EventDeviceRefused, Reason: rf.Reason, Hint: rf.Hint()})
				return RegisterResult{}, fmt.Errorf("%w (device %s): %s", rf, r.deviceName(), rf.Hint())
			case n.down:
				connected = false
				r.emit(Event{Event: EventDisconnected})
				if replaced(n.err) {
					return RegisterResult{}, fmt.Errorf("%w (device %s): stop shiftgate-agent run or the kiosk UI on this kiosk while registering, then run this command again",
						ErrChannelTaken, r.deviceName())
				}
			case n.push.Type == wire.TypeEnrollStart:
				res, over, err := r.enroll(ctx, *n.push)
				if over {
					return res, err
				}
			default:
				// Not this command's business: a revocation acked here
				// would tell the hub a session was torn down that was not.
				r.log.Info("push left unanswered: shiftgate-agent register holds no session", "type", n.push.Type)
			}
		}
	}
}

// enroll registers the key for the enrollment env; over is false when env
// was unusable and the wait goes on.
func (r *oneShot) enroll(ctx context.Context, env wire.Envelope) (res RegisterResult, over bool, err error) {
	var es wire.EnrollStart
	if err := env.Unmarshal(&es); err != nil || len(es.Options) == 0 {
		r.reply(env.ID, wire.TypeError, wire.Error{Code: wire.ErrBadMessage, Message: "enroll.start without options"})
		r.log.Warn("unusable enroll.start ignored", "err", err)
		return RegisterResult{}, false, nil
	}
	if err := r.rp.allows(es.Origin, es.Options, true); err != nil {
		// The key is never asked: a hub that names another relying
		// party would have it make a credential for that one.
		r.log.Error("enroll.start refused: the hub asked for a registration for another relying party than this kiosk's", "user", es.User, "err", err, "hint", foreignHint)
		r.reply(env.ID, wire.TypeError, wire.Error{Code: wire.ErrBadMessage, Message: "enroll.start for another relying party than this kiosk's"})
		return RegisterResult{}, true, fmt.Errorf("the hub's enrollment for %s: %w: nothing was asked of the key; %s", es.User, err, foreignHint)
	}
	display := creationDisplayName(es.Options)
	who := es.User
	if display != "" {
		who = display + " (" + es.User + ")"
	}
	r.emit(Event{Event: EventEnrollmentArmed, User: es.User, DisplayName: display})
	r.log.Info("enrollment received: registering", "user", es.User, "key", r.cfg.Badge)
	prompt := "Touch the security key to register it for " + who + "."
	lastFail := "" // a key failing the same way again is not announced again
	for {
		if r.cfg.Prompt != nil && prompt != "" {
			r.cfg.Prompt(prompt)
		}
		left := r.deadline.Sub(r.clock.Now())
		if left <= 0 {
			return RegisterResult{}, true, r.noTouch(es)
		}
		kctx, cancel := context.WithTimeout(ctx, left)
		cred, err := authenticator.Register(kctx, r.auth, es.Origin, es.Options)
		keyTimedOut := kctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return RegisterResult{}, true, r.interrupted(ctx)
		case err == nil:
		case errors.Is(err, authenticator.ErrBadgeLocked):
			// The time ran out waiting for the badge directory, not for
			// a touch: "touch the key" would send the operator the wrong
			// way.
			return RegisterResult{}, true, fmt.Errorf("the enrollment for %s came, but %s was not asked: %w; stop the process holding it (another kiosk sharing the directory), then %s",
				es.User, keyLabel(r.cfg.Badge), err, r.again(es.User))
		case keyTimedOut:
			return RegisterResult{}, true, r.noTouch(es)
		case r.cfg.Retry && errors.Is(err, authenticator.ErrTouchTimeout):
			// The key gave up waiting; it says nothing about the key.
			prompt = "No touch yet: touch the security key to register it for " + who + "."
			continue
		case r.cfg.Retry && !errors.Is(err, authenticator.ErrCredentialExcluded) && err.Error() == lastFail:
			// The same failure again (no key plugged in yet, say):
			// quietly try again after a pause.
			prompt = ""
			if !sleep(ctx, r.clock, registerRetryPause) {
				return RegisterResult{}, true, r.interrupted(ctx)
			}
			continue
		default:
			f := badgeRegisterFailure(r.log, r.cfg.Badge, err)
			r.emit(Event{Event: EventCredentialRefused, User: es.User, DisplayName: display, Reason: f.reason})
			already := f.reason == RegisterAlreadyRegistered
			unusable, fail, useAnother := unusableKey(f.reason, keyLabel(r.cfg.Badge), r.again(es.User), err)
			if r.cfg.Retry {
				if already {
					prompt = "This key is already registered for " + who + ": touch another key."
					continue
				}
				lastFail = err.Error()
				prompt = fmt.Sprintf("The key failed (%v): touch it again, or another key.", err)
				if useAnother {
					// Touching it again cannot help: another key is
					// needed (this one, still plugged in, fails the same
					// way quietly meanwhile).
					prompt = unusable
				}
				if !sleep(ctx, r.clock, registerRetryPause) {
					return RegisterResult{}, true, r.interrupted(ctx)
				}
				continue
			}
			if already {
				return RegisterResult{}, true, fmt.Errorf("%w: %s already holds a credential of %s, so nothing was sent to the hub: to register another key, %s",
					ErrKeyAlreadyRegistered, keyLabel(r.cfg.Badge), es.User, r.again(es.User))
			}
			if useAnother {
				return RegisterResult{}, true, fail
			}
			return RegisterResult{}, true, fmt.Errorf("%w: %s: %w", ErrKeyFailed, keyLabel(r.cfg.Badge), err)
		}

		// The key has made the credential: the hub's answer is awaited
		// even if ctx ends now, so the outcome is known.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.HubTimeout)
		sent := sendRegistration(hctx, r.hub, r.log, cred, es)
		cancel()
		if sent.reason == "" {
			r.log.Info("credential registered", "user", sent.user)
			r.emit(Event{Event: EventCredentialRegistered, User: sent.user, DisplayName: display})
			r.reply(env.ID, wire.TypeAck, nil)
			r.emit(Event{Event: EventEnrollmentEnded, User: es.User, Reason: EnrollmentRegistered})
			return RegisterResult{User: sent.user, DisplayName: display}, true, nil
		}
		r.emit(Event{Event: EventCredentialRefused, User: es.User, DisplayName: display, Reason: sent.reason})
		if !sent.drop {
			return RegisterResult{}, true, fmt.Errorf("%w from the hub for %s (%v): the key may or may not be registered now; tap it on shiftgate-agent run, and if it is not recognised, %s",
				ErrRegistrationUnanswered, es.User, sent.err, r.again(es.User))
		}
		r.reply(env.ID, wire.TypeError, wire.Error{Code: sent.code, Message: "registration refused"})
		r.emit(Event{Event: EventEnrollmentEnded, User: es.User, Reason: EnrollmentRefused})
		return RegisterResult{}, true, r.refused(es, cred, sent)
	}
}

// refused explains a registration the hub refused, by the reason the hub
// gave (sent.reason: a wire registration refusal code). An older hub gives
// none; then, when the kiosk's profile (as this build knows it) does not
// allow the key's model, that is the likely reason, and it says so.
func (r *oneShot) refused(es wire.EnrollStart, cred []byte, sent registerResult) error {
	key, user, again := keyLabel(r.cfg.Badge), es.User, r.again(es.User)
	aaguid := credentialAAGUID(cred)
	switch sent.reason {
	case RegisterEnrollmentExpired:
		return fmt.Errorf("%w: the hub refused %s for %s: no enrollment is pending for this kiosk any more (it expired, was replaced by a newer one or was withdrawn): %s",
			ErrRegistrationRefused, key, user, again)
	case RegisterModelNotAllowed:
		return fmt.Errorf("%w: the hub refused %s for %s: its model, AAGUID %s, is not allowed on this kiosk's profile %s (allowedAAGUIDs): with a key of an allowed model, %s",
			ErrRegistrationRefused, key, user, aaguid, r.en.Profile, again)
	case RegisterAttestationUntrusted:
		return fmt.Errorf("%w: the hub refused %s for %s: this kiosk's profile %s allows only some key models, and the key's attestation does not prove its model (AAGUID %s) by a maker the hub trusts: with a key of an allowed model, %s",
			ErrRegistrationRefused, key, user, r.en.Profile, aaguid, again)
	case RegisterAlreadyRegistered:
		return fmt.Errorf("%w: the hub refused %s for %s: the key is already registered for %s: to register another key, %s",
			ErrRegistrationRefused, key, user, user, again)
	case RegisterInvalidAttestation:
		return fmt.Errorf("%w: the hub refused %s for %s: the key's answer could not be verified (the hub's log says why): to try again, with this key or another, %s",
			ErrRegistrationRefused, key, user, again)
	case RegisterNotDiscoverable:
		return fmt.Errorf("%w: the hub refused %s for %s: the key did not store the credential it made (it cannot store credentials, or has no room left), so it could never sign in at a kiosk, where nobody types a user name: with a key that stores its credentials, or after deleting unused ones from this key, %s",
			ErrRegistrationRefused, key, user, again)
	}
	why := sent.err.Error()
	var re *RemoteError
	if errors.As(sent.err, &re) {
		why = re.Message
	}
	if r.modelNotAllowed(cred) {
		return fmt.Errorf("%w: the hub refused %s for %s (hub: %q): its model, AAGUID %s, is not on the allow-list (allowedAAGUIDs) of this kiosk's profile %s: with a key of an allowed model, %s",
			ErrRegistrationRefused, key, user, why, aaguid, r.en.Profile, again)
	}
	return fmt.Errorf("%w: the hub refused %s for %s (hub: %q; the hub's log and audit trail say why): %s",
		ErrRegistrationRefused, key, user, why, again)
}

// unusableKey is, for a key that failed for reason (a Register* reason)
// in a way no touch of it can mend, what to tell the worker, and the error
// Register returns (key is keyLabel's, err the key's error, again what
// r.again says); ok is false when another touch may work.
func unusableKey(reason, key, again string, err error) (prompt string, fail error, ok bool) {
	switch reason {
	case RegisterResidentKeyUnsupported:
		return "This key cannot store its credentials, which signing in at a kiosk needs: unplug it, plug in another key and touch that.",
			fmt.Errorf("%w: %s: %w: only a credential the key stores can sign in at a kiosk, where nobody types a user name; nothing was sent to the hub: with a key that stores its credentials (a FIDO2 key with resident keys), %s",
				ErrKeyFailed, key, err, again), true
	case RegisterKeyStoreFull:
		return "This key has no room for another credential: unplug it, plug in another key and touch that (or delete unused credentials from this one first).",
			fmt.Errorf("%w: %s: %w: nothing was sent to the hub: after deleting unused credentials from this key (with its maker's tool, or fido2-token -D), or with another key, %s",
				ErrKeyFailed, key, err, again), true
	}
	return "", nil, false
}

// modelNotAllowed reports whether the kiosk's profile, as built into this
// agent, does not allow the model of the credential's key.
func (r *oneShot) modelNotAllowed(cred []byte) bool {
	p, err := profiles.Get(r.en.Profile)
	if err != nil || len(p.AllowedAAGUIDs) == 0 {
		return false
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(cred)
	if err != nil {
		return false
	}
	return !p.AAGUIDAllowed(parsed.Response.AttestationObject.AuthData.AttData.AAGUID)
}

// credentialAAGUID is the model (AAGUID) of the key that made cred, a
// PublicKeyCredential JSON, as the key states it; "unknown" if it cannot
// be read.
func credentialAAGUID(cred []byte) string {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(cred)
	if err != nil {
		return "unknown"
	}
	aaguid := parsed.Response.AttestationObject.AuthData.AttData.AAGUID
	if id, err := uuid.FromBytes(aaguid); err == nil {
		return id.String()
	}
	return fmt.Sprintf("%x", aaguid)
}

func (r *oneShot) noTouch(es wire.EnrollStart) error {
	return fmt.Errorf("%w: the enrollment for %s came, but %s registered nothing within %s: %s, and touch the key when asked",
		ErrNoTouch, es.User, keyLabel(r.cfg.Badge), r.cfg.Timeout, r.again(es.User))
}

func (r *oneShot) interrupted(ctx context.Context) error {
	return fmt.Errorf("%w (%v): no credential was registered", ErrInterrupted, context.Cause(ctx))
}

// reply answers the push re. Best effort: the channel closes right after,
// and the hub forgets what a closed channel left unanswered.
func (r *oneShot) reply(re, typ string, data any) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.hub.Reply(ctx, re, typ, data); err != nil {
		r.log.Warn("cannot answer the hub", "re", re, "type", typ, "err", err)
	}
}

func (r *oneShot) deviceName() string {
	if r.en.DeviceName != "" {
		return r.en.DeviceName
	}
	return r.en.DeviceID
}

// again says how to get an enrollment for user to this kiosk: the hub
// sends enroll.start once, to a connected kiosk.
func (r *oneShot) again(user string) string {
	body, _ := json.Marshal(struct {
		User   string `json:"user"`
		Device string `json:"device"`
	}{user, r.deviceName()})
	return "run this command again and, while it waits, ask an admin to POST /api/v1/enrollments " + string(body)
}

func keyLabel(badge string) string {
	if badge == "" {
		return "the security key"
	}
	return fmt.Sprintf("key %q", badge)
}

// replaced reports whether the hub closed the channel because a newer one
// of the same kiosk replaced it (hub/push: close 1008, "replaced by a newer
// connection").
func replaced(err error) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && ce.Code == websocket.ClosePolicyViolation && strings.Contains(ce.Text, "replaced")
}
