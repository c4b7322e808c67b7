package agent

import (
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// Event names: the headless agent's stdout contract (DESIGN.md). Consumers
// must ignore fields and events they do not know.
const (
	EventConnected            = "connected"
	EventDisconnected         = "disconnected"
	EventCredentialRegistered = "credential.registered"
	// EventCredentialRefused is an addition to the contract: a registration
	// (after enroll.start) that failed, with a reason, so a UI waiting for
	// credential.registered is not left hanging.
	EventCredentialRefused = "credential.refused"
	// EventEnrollmentArmed is an addition to the contract: the hub has
	// authorised an enrollment (enroll.start) and the next tap registers a
	// credential for User (DisplayName is the name to show). A newer one
	// replaces it.
	EventEnrollmentArmed = "enrollment.armed"
	// EventEnrollmentEnded is an addition to the contract: the armed
	// enrollment is over (Reason: EnrollmentRegistered,
	// EnrollmentRefused or EnrollmentDisconnected); the next tap is a login
	// again.
	EventEnrollmentEnded = "enrollment.ended"
	// EventBadgeRead is an addition to the contract: a badge on the
	// kiosk's reader (Config.Reader) started a login, or a registration
	// while an enrollment is armed — at once for an NFC card, after the
	// touch for a USB key. session.started, login.refused or a credential
	// event follows. Explicit taps (Tap) do not emit it.
	EventBadgeRead      = "badge.read"
	EventSessionStarted = "session.started"
	EventSessionWarning = "session.warning"
	// EventSessionEnding is an addition to the contract: the live session
	// (SessionID, User) has started its teardown, for Reason (one of
	// session.ended's). The kiosk takes no input for it any more and a
	// screen must stop showing it: its apps are being killed. The teardown
	// can take the profile's kill grace, or up to Config.TeardownTimeout;
	// session.ended, with the same fields, follows when it is done.
	EventSessionEnding = "session.ending"
	// EventSessionTeardownFailed is an addition to the contract: a try of
	// the ending session's teardown failed (its processes survived, the
	// wipe failed, the hook timed out …), for the Attempt-th time in a row.
	// The kiosk stays Ending and the teardown is tried again after a
	// backoff; session.ended follows only once a try succeeds. It carries
	// SessionID and Attempt only: nothing of the worker, and not the error
	// (which can name the worker's files; it goes to stderr). A screen
	// should tell staff the kiosk needs attention.
	EventSessionTeardownFailed = "session.teardown_failed"
	EventSessionEnded          = "session.ended"
	EventLoginRefused          = "login.refused"
	// EventCleanupFailed is an addition to the contract: a try of the
	// clean-up of what an earlier run of the agent left on the kiosk
	// (Config.Cleanup: a crashed run's session apps and files) failed, for
	// the Attempt-th time in a row. The kiosk stays Locked and takes no
	// tap (tap.ignored, TapIgnoredCleaningUp) until a try succeeds
	// (cleanup.done): the last worker's programs may still run. It carries
	// Attempt only, not the error (on stderr); a screen should tell staff
	// the kiosk needs attention.
	EventCleanupFailed = "cleanup.failed"
	// EventCleanupDone is an addition to the contract: a try of that
	// clean-up succeeded after cleanup.failed; the kiosk takes taps again.
	// Not emitted when the first try succeeds.
	EventCleanupDone = "cleanup.done"
	// EventDeviceRefused is an addition to the contract: the hub no
	// longer accepts this kiosk's device certificate (an admin disabled or
	// deleted the kiosk, the certificate was revoked, expired while the
	// kiosk was off the channel, or the hub's CA changed), or it has
	// expired by the kiosk's clock. Reason is one of the Refusal*
	// constants, Hint says what to do, in words for people. Nobody can
	// sign in until an admin acts; the agent keeps trying, slowly, and
	// emits connected if the hub takes the kiosk again. It is emitted once
	// per refusal, not per attempt (see Handler.DeviceRefused).
	EventDeviceRefused = "device.refused"
	// EventTapIgnored is an addition to the contract: the agent did not
	// take a tap (Tap: stdin's "tap NAME", a screen's virtual badge), for
	// Reason (one of the TapIgnored* constants). It is the answer to that
	// tap, at once: every Tap gets exactly one of session.started,
	// login.refused, credential.registered, credential.refused or
	// tap.ignored, so a screen that drew "Checking your badge…" for its
	// tap can go back. Nothing changed: the tap is gone, not queued. A
	// badge presented on the reader that is not taken is ignored quietly
	// (logged): its screen never changed, badge.read comes only for a tap
	// that was taken.
	EventTapIgnored = "tap.ignored"
	// EventAppLaunched is an addition to the contract: the worker asked
	// for one of the live session's apps (an app tile; Agent.OpenApp) that
	// no longer ran (closed by mistake, crashed), and it was started again
	// in the session (SessionID, User, App: its ID as session.started's
	// apps give it) as at sign-in: same user, HOME, TMPDIR and cgroup. An
	// app that still runs is not started twice and nothing is emitted
	// (the log says so); nor for a tap refused (no session, one made in
	// another session, not granted, the session ending), which
	// OpenAppAnswered answers with EventAppRefused.
	EventAppLaunched = "app.launched"
	// EventAppRefused is an addition to the contract: a request made with
	// OpenAppAnswered (the headless agent's "open APP [SESSION_ID]") started
	// nothing, for Reason (one of the AppRefused* constants). SessionID is the
	// session the request was made for (left out when it named none), App the
	// app asked for; no User: the request may name another worker's session.
	// Every such request gets exactly one answer, app.launched or app.refused,
	// in order with the other events, so a script knows what became of it.
	EventAppRefused = "app.refused"
)

// Why an app was not opened (EventAppRefused).
const (
	// AppRefusedNoSession: no session was open when the request was made
	// (it names none) or when the state machine took it up.
	AppRefusedNoSession = "no_session"
	// AppRefusedEnding: the session is being torn down.
	AppRefusedEnding = "ending"
	// AppRefusedOtherSession: the request was made for a session that is
	// not the open one: one that ended before the next began, or none
	// this kiosk knows.
	AppRefusedOtherSession = "other_session"
	// AppRefusedNotGranted: the session was not granted the app.
	AppRefusedNotGranted = "not_granted"
	// AppRefusedNotOffered: the session was granted the app, but the
	// kiosk's profile does not give it to the session's role (or this
	// build does not know the profile), so there is nothing to start: the
	// hub's and the kiosk's idea of the kiosk's apps differ. Config.OpenApp
	// says so with an error that wraps ErrAppNotOffered.
	AppRefusedNotOffered = "not_offered"
	// AppRefusedAlreadyRunning: the app still runs in the session and is
	// not started twice.
	AppRefusedAlreadyRunning = "already_running"
	// AppRefusedNotSupported: this agent opens no apps (no
	// Config.OpenApp, or one whose error wraps ErrNoApps: a kiosk whose
	// sessions launch no apps).
	AppRefusedNotSupported = "not_supported"
	// AppRefusedError: starting it failed (details on stderr).
	AppRefusedError = "error"
)

// Why a tap was ignored (EventTapIgnored).
const (
	// TapIgnoredBusy: another tap (a login, a registration, a touch wait
	// on a plugged-in key) is being handled; its own answer follows.
	TapIgnoredBusy = "busy"
	// TapIgnoredEnding: the last session is being torn down (or its
	// teardown failed and is retried): nobody signs in over what is left
	// of it, and an armed enrollment waits for the teardown too.
	TapIgnoredEnding = "ending"
	// TapIgnoredSessionOpen: a session is open and no enrollment is
	// armed: sign out first.
	TapIgnoredSessionOpen = "session_open"
	// TapIgnoredCleaningUp: what an earlier run of the agent left on the
	// kiosk is not cleaned up yet (Config.Cleanup: its first try has not
	// answered, or it failed and is retried, cleanup.failed): nobody signs
	// in while the last worker's programs may still run.
	TapIgnoredCleaningUp = "cleaning_up"
)

// ExtendedReconnected is session.extended's Reason when the hub is in
// reach again: the offline deadline (Config.OfflineGrace) no longer holds,
// and the session.warning it caused (Reason offline) is taken back. EndsAt
// is the session's own end (usually later; nearer, when the welcome showed
// the hub's clock ahead of the kiosk's, and then a session.warning for it
// follows). Without a Reason, the hub moved the end.
const ExtendedReconnected = "reconnected"

// ExtendedClock is session.extended's Reason when the hub did not move the
// end but the kiosk's clock moved against it: the clock was stepped (a
// local admin, an NTP step), a suspend moved the end the monotonic clock
// keeps, or a welcome showed the hub's clock apart from the kiosk's by
// another offset than the one the agent knew. ExpiresAt is unchanged and
// the session's real end too; EndsAt is that end as the kiosk's clock now
// reads it, more than 2 s from the ends_at announced before. The state
// stays as it was: in Warning, a session.warning with the same EndsAt
// follows at once (the warning on screen, again).
const ExtendedClock = "clock"

// Login refusal reasons the agent decides on its own, besides the hub's
// (wire.Refused*).
const (
	// RefusedHubUnreachable: no challenge could be had or the login could
	// not be sent; nothing was checked.
	RefusedHubUnreachable = "hub_unreachable"
	// RefusedError: the badge or the hub failed in an unexpected way
	// (details on stderr).
	RefusedError = "error"
)

// Registration failure reasons (EventCredentialRefused).
const (
	// RegisterAlreadyRegistered: the badge already holds a credential of
	// the user (the exclude list): tap another; the enrollment stays
	// armed. Also the hub's refusal wire.ErrAlreadyRegistered, which ends
	// it.
	RegisterAlreadyRegistered = "already_registered"
	RegisterHubUnreachable    = "hub_unreachable"
	// RegisterRefused: the hub refused the registration without a reason
	// this agent knows (an older hub, or a failure on the hub); the
	// enrollment is over.
	RegisterRefused = "refused"
	// RegisterResidentKeyUnsupported: the badge cannot store a
	// discoverable credential (authenticator.ErrResidentKeyUnsupported:
	// no "rk" option, as U2F-only keys, or it made one it does not keep),
	// and kiosk logins, which name no user, find no other: tapping it
	// again cannot help, another badge is needed. Nothing was sent to the
	// hub; the enrollment stays armed for that other badge.
	RegisterResidentKeyUnsupported = "resident_key_unsupported"
	// RegisterKeyStoreFull: the badge has no room left for another
	// discoverable credential (authenticator.ErrKeyStoreFull): another
	// badge is needed, or this one's unused credentials deleted (with its
	// maker's tool, by IT). Nothing was sent to the hub; the enrollment
	// stays armed.
	RegisterKeyStoreFull = "key_store_full"
	// RegisterError: the badge or the hub failed in an unexpected way
	// (details on stderr).
	RegisterError = "error"
)

// The hub's reasons for refusing a registration (agent/wire's registration
// refusal codes, passed on as they are). Each ends the enrollment: the
// supervisor must authorise a new one.
const (
	// RegisterEnrollmentExpired: no enrollment was pending on the hub any
	// more (it expired, was replaced or withdrawn).
	RegisterEnrollmentExpired = wire.ErrEnrollmentExpired
	// RegisterModelNotAllowed: the badge's model (AAGUID) is not allowed on
	// the kiosk's profile.
	RegisterModelNotAllowed = wire.ErrModelNotAllowed
	// RegisterAttestationUntrusted: the profile allows only some models
	// and the badge's attestation does not prove its model.
	RegisterAttestationUntrusted = wire.ErrAttestationUntrusted
	// RegisterInvalidAttestation: the badge's answer could not be
	// verified.
	RegisterInvalidAttestation = wire.ErrInvalidAttestation
	// RegisterNotDiscoverable: the badge did not store the credential it
	// made, which could never sign in at a kiosk.
	RegisterNotDiscoverable = wire.ErrNotDiscoverable
)

// Why an armed enrollment ended (EventEnrollmentEnded).
const (
	// EnrollmentRegistered: the credential was registered.
	EnrollmentRegistered = "registered"
	// EnrollmentRefused: the hub refused the registration; the supervisor
	// must authorise a new one.
	EnrollmentRefused = "refused"
	// EnrollmentDisconnected: the channel to the hub dropped; the hub sends
	// the enrollment again when the kiosk is back.
	EnrollmentDisconnected = "disconnected"
)

// TimeFormat is RFC 3339 in UTC with milliseconds, used for every time in
// events.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Event is one state change reported by the agent. Fields are set as the
// event name documents; empty ones are left out of the JSON.
type Event struct {
	Event string
	Time  time.Time
	User  string
	// DisplayName is the user's name for people (session.started,
	// enrollment.armed, credential.registered, credential.refused), when
	// the hub gave one.
	DisplayName string
	SessionID   string
	ExpiresAt   time.Time
	// EndsAt is when the agent will end the session by the kiosk's own
	// clock (session.started, session.warning, session.extended):
	// ExpiresAt, or earlier when the kiosk's clock is behind the hub's
	// (the agent ends it on the hub's time) or was stepped back since the
	// grant. A screen counts down to it; when the kiosk's clock moves
	// against it, session.extended (ExtendedClock) gives it again.
	EndsAt time.Time
	Role   string
	Apps   []string // session.started: always present, maybe empty
	Reason string
	// Restored marks a session.started for a session found in the state
	// directory when the agent started.
	Restored bool
	// DeviceID, DeviceName and Site describe the kiosk on connected.
	DeviceID, DeviceName, Site string
	// Attempt counts the failed teardowns of the session in a row
	// (session.teardown_failed), or the failed start-up clean-ups
	// (cleanup.failed), from 1.
	Attempt int
	// Hint says, in words for people, what to do (device.refused).
	Hint string
	// App is the app's ID (app.launched).
	App string
}

// MarshalJSON writes the event in its stdout form.
func (e Event) MarshalJSON() ([]byte, error) {
	type out struct {
		Event      string    `json:"event"`
		Time       string    `json:"time"`
		User       string    `json:"user,omitempty"`
		Display    string    `json:"display_name,omitempty"`
		SessionID  string    `json:"session_id,omitempty"`
		ExpiresAt  string    `json:"expires_at,omitempty"`
		EndsAt     string    `json:"ends_at,omitempty"`
		Role       string    `json:"role,omitempty"`
		Apps       *[]string `json:"apps,omitempty"`
		Reason     string    `json:"reason,omitempty"`
		Restored   bool      `json:"restored,omitempty"`
		DeviceID   string    `json:"device_id,omitempty"`
		DeviceName string    `json:"device_name,omitempty"`
		Site       string    `json:"site,omitempty"`
		Attempt    int       `json:"attempt,omitempty"`
		Hint       string    `json:"hint,omitempty"`
		App        string    `json:"app,omitempty"`
	}
	o := out{
		Event: e.Event, Time: formatTime(e.Time), User: e.User, Display: e.DisplayName, SessionID: e.SessionID,
		Role: e.Role, Reason: e.Reason, Restored: e.Restored,
		DeviceID: e.DeviceID, DeviceName: e.DeviceName, Site: e.Site, Attempt: e.Attempt, Hint: e.Hint, App: e.App,
	}
	if !e.ExpiresAt.IsZero() {
		o.ExpiresAt = formatTime(e.ExpiresAt)
	}
	if !e.EndsAt.IsZero() {
		o.EndsAt = formatTime(e.EndsAt)
	}
	if e.Event == EventSessionStarted {
		apps := e.Apps
		if apps == nil {
			apps = []string{}
		}
		o.Apps = &apps
	}
	return json.Marshal(o)
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// EventSink receives the agent's events, in order, from one goroutine at a
// time. Emit must not block for long: the state machine waits for it.
type EventSink interface {
	Emit(Event)
}

// EventFunc adapts a function to EventSink.
type EventFunc func(Event)

// Emit calls f(e).
func (f EventFunc) Emit(e Event) { f(e) }

// JSONLines writes each event as one JSON object per line. Writes are
// serialized, so several goroutines may share one JSONLines and every line
// stays whole.
type JSONLines struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

// NewJSONLines returns an EventSink writing to w (the headless agent's
// stdout).
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// Emit writes e and a newline in one Write call.
func (j *JSONLines) Emit(e Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return // Event always marshals
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.w.Write(b); err != nil && j.err == nil {
		j.err = err
	}
}

// Err returns the first write error, if any.
func (j *JSONLines) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// DefaultEventQueue is how many events a QueuedSink holds for a slow
// writer.
const DefaultEventQueue = 1024

// QueuedSink hands events to its own writer goroutine through a bounded
// queue, so that a slow or stalled consumer (a stdout pipe nobody drains)
// never blocks the state machine: revocations, expiries and the idle
// timeout go on. Events are written in order; when the queue is full, new
// events are dropped: an error is logged at the first drop, and a warning
// with the count once the writer has caught up.
type QueuedSink struct {
	next EventSink
	log  *slog.Logger
	q    chan Event
	done chan struct{}

	mu      sync.Mutex
	closed  bool
	dropped int
}

// NewQueuedSink starts the writer that passes events on to next; size <= 0
// means DefaultEventQueue. Close stops it.
func NewQueuedSink(next EventSink, size int, log *slog.Logger) *QueuedSink {
	if size <= 0 {
		size = DefaultEventQueue
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &QueuedSink{next: next, log: log, q: make(chan Event, size), done: make(chan struct{})}
	go s.run()
	return s
}

// Emit queues e without waiting; it drops e when the queue is full.
func (s *QueuedSink) Emit(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.q <- e:
	default:
		if s.dropped == 0 {
			s.log.Error("event output stalled: events dropped until it drains", "event", e.Event, "queue", cap(s.q))
		}
		s.dropped++
	}
}

func (s *QueuedSink) run() {
	defer close(s.done)
	for e := range s.q {
		s.next.Emit(e)
		s.mu.Lock()
		n := 0
		if s.dropped > 0 && len(s.q) == 0 {
			n, s.dropped = s.dropped, 0
		}
		s.mu.Unlock()
		if n > 0 {
			s.log.Warn("event output drained; events were dropped", "dropped", n)
		}
	}
}

// Close stops taking events and waits up to wait for the queued ones to be
// written; it reports whether they all were.
func (s *QueuedSink) Close(wait time.Duration) bool {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.q)
	}
	s.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-s.done:
		return true
	case <-t.C:
		return false
	}
}

// Dropped is how many events were dropped since the writer last caught up.
func (s *QueuedSink) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}
