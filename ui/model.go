package ui

import (
	"context"
	"fmt"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// Intents is what the kiosk screen asks of the agent core. *agent.Agent
// satisfies it.
type Intents interface {
	// Tap is a badge touching the reader (a virtual badge's button).
	Tap(name string)
	// Signout ends the open session.
	Signout()
	// Activity reports worker input — any tap, key press or pointer
	// movement on the screen — so the session does not idle out. It is
	// called for every input event and must be cheap.
	Activity()
}

var _ Intents = (*agent.Agent)(nil)

// Screen is what the kiosk shows.
type Screen int

// Screens. The numbers are only for this process.
const (
	ScreenLocked Screen = iota + 1
	ScreenVerifying
	ScreenActive
	ScreenWarning
	ScreenEnded
	ScreenRefused
	// ScreenEnrollment: an enrollment is armed; the next badge tap
	// registers it for the named worker.
	ScreenEnrollment
	// ScreenEnrolled and ScreenEnrollFailed say how a registration went.
	ScreenEnrolled
	ScreenEnrollFailed
	// ScreenEnding: the agent is tearing the session down
	// (session.ending). It says only "Signing out…": nothing of the worker,
	// and nothing to press, until session.ended.
	ScreenEnding
	// ScreenNotEnrolled: the hub refuses the kiosk's certificate
	// (device.refused): nobody can sign in until IT enables or enrolls the
	// kiosk again. It is the resting screen, in place of the locked one,
	// until the agent connects again.
	ScreenNotEnrolled
)

// String returns the lowercase name of s.
func (s Screen) String() string {
	switch s {
	case ScreenLocked:
		return "locked"
	case ScreenVerifying:
		return "verifying"
	case ScreenActive:
		return "active"
	case ScreenWarning:
		return "warning"
	case ScreenEnded:
		return "ended"
	case ScreenRefused:
		return "refused"
	case ScreenEnrollment:
		return "enrollment"
	case ScreenEnrolled:
		return "enrolled"
	case ScreenEnrollFailed:
		return "enroll-failed"
	case ScreenEnding:
		return "ending"
	case ScreenNotEnrolled:
		return "not-enrolled"
	default:
		return fmt.Sprintf("Screen(%d)", int(s))
	}
}

// session reports whether s shows an open session.
func (s Screen) session() bool { return s == ScreenActive || s == ScreenWarning }

// kind is s, with the warning counted as the session screen it is.
func (s Screen) kind() Screen {
	if s == ScreenWarning {
		return ScreenActive
	}
	return s
}

// timed reports whether s goes back to the resting screen after a while.
func (s Screen) timed() bool {
	switch s {
	case ScreenVerifying, ScreenEnded, ScreenRefused, ScreenEnrolled, ScreenEnrollFailed:
		return true
	}
	return false
}

// Defaults for Options.
const (
	// DefaultMessageFor is how long the ended, refused and enrollment
	// outcome screens stay before the locked screen is back.
	DefaultMessageFor = 6 * time.Second
	// DefaultVerifyingFor bounds the verifying screen when the agent
	// never answers a tap: a little more than agent.DefaultLoginTimeout.
	// The agent answers every tap, a dropped one with tap.ignored, so this
	// is only a backstop (an agent that stopped, an older one).
	DefaultVerifyingFor = agent.DefaultLoginTimeout + 5*time.Second
)

// Options configures a Model.
type Options struct {
	// Intents receives the worker's taps, sign-outs and input; required.
	Intents Intents
	// Badges, if set, adds a row of virtual badges to the screens that
	// take a tap; tapping one calls Intents.Tap with its name (demos, no
	// reader).
	Badges []string
	// OnApp is called with the app's ID when the worker presses its
	// button, and the ID of the session whose screen showed the button
	// (session.started's session_id): the press can reach the agent after
	// that session ended and the next began, and must not open the app in
	// it (Agent.OpenApp refuses it).
	OnApp func(sessionID, app string)
	// AppLabels maps an app ID (session.started's apps) to its button
	// text (the firmware profile's label); an app without one shows its ID.
	AppLabels map[string]string
	// Now is the clock (default time.Now); Location the time zone for
	// times on screen (default time.Local).
	Now      func() time.Time
	Location *time.Location
	// MessageFor and VerifyingFor: see DefaultMessageFor and
	// DefaultVerifyingFor.
	MessageFor, VerifyingFor time.Duration
	// OnRender, if set, is called on Fyne's goroutine each time a screen
	// has been redrawn, with the screen now shown (tests, metrics).
	OnRender func(Screen)
	// Texts is the language of the screen (NewTexts); default English.
	Texts *Texts
}

// Model holds the screen's state and its widgets. Emit may be called from
// any goroutine; every other method must run on Fyne's goroutine (in a
// callback or fyne.Do).
type Model struct {
	opt     Options
	root    *fyne.Container
	catcher *inputCatcher
	// canvas is the window's (Attach), for the keyboard focus; nil
	// before Attach.
	canvas fyne.Canvas
	// drawn is what the widgets on screen show; buttons are its buttons
	// by key (see button).
	drawn   view
	buttons map[string]*button
	// quiet is set while the model moves the focus itself: that is not
	// worker input.
	quiet bool

	// state, from the agent's events
	screen      Screen
	online      bool
	site, kiosk string
	name        string // the signed-in worker's name to show
	role        string
	apps        []string
	sessionID   string // the session shown; its app tiles' presses are for it
	expiresAt   time.Time
	offline     bool // the warning is for the hub being out of reach (session.warning reason offline)
	reason      string
	stuck       bool      // ending: a try of the teardown failed (session.teardown_failed)
	tearing     bool      // a session's teardown is under way (session.ending, session.teardown_failed) until session.ended
	unclean     bool      // a start-up clean-up failed (cleanup.failed), none has succeeded since: the kiosk rests on the ending screen, asking for staff
	refused     bool      // the hub refuses the kiosk (device.refused), until connected
	outcome     Message   // enrolled, enroll-failed
	checking    Message   // verifying: a login or a registration
	until       time.Time // timed screens: back to the resting screen then
	enrollFor   string    // armed enrollment: the name to show; "" when none
	note        Message   // an enrollment outcome shown on the session screen
	noteUntil   time.Time
	sessions    int // session.started events so far: tells one worker's session from the next

	// tapBack is the screen the model's own tap (a virtual badge) left for
	// the verifying screen, and tapUntil its time; 0 when the verifying
	// screen on show is not only that tap's (see tapIgnored).
	tapBack  Screen
	tapUntil time.Time

	clock, countdn *widget.Label
	list           *container.Scroll // the session screen's name and apps
}

// New returns a Model showing the locked screen, offline.
func New(opt Options) *Model {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.MessageFor <= 0 {
		opt.MessageFor = DefaultMessageFor
	}
	if opt.VerifyingFor <= 0 {
		opt.VerifyingFor = DefaultVerifyingFor
	}
	if opt.Texts == nil {
		opt.Texts = English()
	}
	m := &Model{opt: opt, root: container.NewStack(), screen: ScreenLocked}
	m.catcher = newInputCatcher(m.activity)
	m.render()
	return m
}

// Content is the kiosk's window content. A window should take it through
// Attach, which also gives the model the keyboard focus to look after.
func (m *Model) Content() fyne.CanvasObject { return m.root }

// Attach makes the model w's content and routes w's keyboard to it: Escape
// signs out, and every key press counts as worker input, focused widget or
// not. The model keeps w's canvas to move the keyboard focus when the
// screen changes (see render).
//
// It also takes w's close request (the window manager's close button,
// Alt+F4): refused while a session is open or being torn down, or while
// the start-up clean-up fails (the ending screen either way), and while a
// badge is being checked (verifying), granted otherwise. Closing the
// kiosk's only window quits the kiosk, agent core included, and the agent
// leaves a live session as it is for its next start: the worker's apps
// would stay on the display with nothing left to end them at expiry, idle
// or a revocation. A badge being checked may be a session being opened:
// the kiosk starts the worker's apps before the screen hears
// session.started, and an agent stopped before it took the hub's grant
// neither opens that session nor reports it unopened.
func (m *Model) Attach(w fyne.Window) {
	w.SetCloseIntercept(func() {
		if m.screen.session() || m.screen == ScreenEnding || m.screen == ScreenVerifying {
			return
		}
		w.Close()
	})
	w.SetContent(m.Content())
	m.canvas = w.Canvas()
	m.canvas.SetOnTypedKey(m.TypedKey)
	if dc, ok := w.Canvas().(desktop.Canvas); ok {
		dc.SetOnKeyDown(func(*fyne.KeyEvent) { m.activity() })
	}
}

// Screen is the screen shown.
func (m *Model) Screen() Screen { return m.screen }

// Emit takes an agent event (agent.EventSink). It hands the event to
// Fyne's goroutine and returns at once.
func (m *Model) Emit(e agent.Event) { fyne.Do(func() { m.apply(e) }) }

// apply changes the state as e says and redraws.
func (m *Model) apply(e agent.Event) {
	now := m.opt.Now()
	switch e.Event {
	case agent.EventConnected:
		m.online = true
		m.site, m.kiosk = e.Site, e.DeviceName
		m.refused = false
		if m.screen == ScreenNotEnrolled {
			m.screen = m.resting()
		}
		if m.screen == ScreenLocked || m.screen == ScreenEnrollment {
			m.render()
		}
		return
	case agent.EventDeviceRefused:
		// Not during a session (one restored while the hub was away goes
		// on until it ends) nor over an outcome on screen: the kiosk rests
		// on this screen once they are over.
		m.refused, m.online = true, false
		if m.screen != ScreenLocked && m.screen != ScreenEnrollment {
			return
		}
		m.screen = ScreenNotEnrolled
	case agent.EventDisconnected:
		m.online = false
		if m.screen == ScreenLocked || m.screen == ScreenEnrollment || m.screen == ScreenNotEnrolled {
			m.render()
		}
		return
	case agent.EventSessionStarted:
		m.screen = ScreenActive
		m.name, m.role, m.expiresAt = nameOf(e), plain(e.Role), endsAt(e)
		m.apps = slices.Clone(e.Apps)
		m.sessionID = e.SessionID
		m.sessions++
	case agent.EventSessionWarning:
		// Only a session on screen can be warned about: a late one (the
		// session ended or is being torn down) would draw a session screen
		// for nobody, which is not timed and so never goes back to the
		// locked screen.
		if !m.screen.session() {
			return
		}
		m.screen = ScreenWarning
		if !e.ExpiresAt.IsZero() {
			m.expiresAt = endsAt(e)
		}
		m.offline = e.Reason == wire.ReasonOffline
	case agent.EventSessionExtended:
		// A supervisor extended the shift: the countdown is over, the
		// session runs on until the new end.
		if !m.screen.session() {
			return
		}
		// Or the hub is in reach again after a warning that the
		// session would end for want of it (reason reconnected). Or the
		// kiosk's clock moved against the session's end (reason clock):
		// the new ends_at keeps the countdown right, and in Warning the
		// agent repeats the warning at once, which takes the screen back.
		m.screen, m.expiresAt, m.offline = ScreenActive, endsAt(e), false
	case agent.EventSessionEnding:
		// The teardown has begun (it can take seconds): the worker's apps
		// are being killed and the agent takes no more input for the
		// session. Nothing of it stays on screen meanwhile.
		m.screen, m.stuck, m.tearing = ScreenEnding, false, true
		m.forgetSession()
	case agent.EventSessionTeardownFailed:
		// The teardown failed and the agent tries it again: the kiosk
		// stays signing out, but staff are told it needs attention. The
		// event implies the session is ending, so a screen that missed
		// session.ending stops showing the session too.
		m.screen, m.stuck, m.tearing = ScreenEnding, true, true
		m.forgetSession()
	case agent.EventCleanupFailed:
		// What an earlier (crashed) run left on the kiosk is not cleaned
		// up, and the agent signs nobody in until it is: the resting
		// screen becomes the ending one, asking for staff. A session on
		// show (restored at the start) stays.
		m.unclean = true
		if !m.screen.session() && m.screen != ScreenEnding {
			m.screen = m.resting()
		}
	case agent.EventCleanupDone:
		// A session's teardown on the ending screen (a restored one's,
		// which a retried clean-up may outlast) stays there until
		// session.ended: the agent takes no tap meanwhile, and a failed
		// one still needs staff.
		rested := m.screen == m.resting() && !m.tearing
		m.unclean = false
		if rested {
			m.screen = m.resting()
		}
	case agent.EventSessionEnded:
		m.screen, m.reason, m.until = ScreenEnded, e.Reason, now.Add(m.opt.MessageFor)
		m.stuck, m.tearing = false, false
		m.forgetSession()
	case agent.EventLoginRefused:
		m.screen, m.reason, m.until = ScreenRefused, e.Reason, now.Add(m.opt.MessageFor)
	case agent.EventBadgeRead:
		// The badge reader tapped (a card presented, a key touched). During a
		// session that is a registration, whose outcome shows as a note.
		if m.screen == ScreenVerifying {
			// A badge is being checked now: the verifying screen stays for
			// it, even if the virtual badge's tap that drew it is ignored.
			m.tapBack = 0
			return
		}
		if m.screen.session() || m.screen == ScreenEnding {
			return
		}
		m.verifying(now)
	case agent.EventTapIgnored:
		if !m.tapIgnored(now) {
			return
		}
	case agent.EventEnrollmentArmed:
		m.enrollFor = nameOf(e)
		if m.screen == ScreenLocked {
			m.screen = ScreenEnrollment
		}
	case agent.EventEnrollmentEnded:
		m.enrollFor = ""
		if m.screen == ScreenEnrollment {
			m.screen = ScreenLocked
		}
	case agent.EventCredentialRegistered:
		m.enrolled(m.opt.Texts.EnrolledMessage(nameOf(e)), ScreenEnrolled, now)
	case agent.EventCredentialRefused:
		m.enrolled(m.opt.Texts.EnrollRefusedMessage(e.Reason), ScreenEnrollFailed, now)
	default:
		return // unknown: ignored, as the contract says
	}
	m.render()
}

// tapIgnored takes tap.ignored: the agent dropped a tap (it was busy with
// another, a session was ending or open). Only the verifying screen that
// the model's own tap drew, with no badge.read since, was waiting for that
// tap: it goes back at once to what it replaced (the resting screen as it
// is now, or a timed screen whose time is not up). Any other verifying
// screen is a badge the agent took and stays until its outcome; every
// other screen was not changed by the tap. It reports whether the screen
// changed.
//
// The agent answers each Intents.Tap once, so the model, as the only
// caller of Tap on its agent, knows the answer is its tap's.
func (m *Model) tapIgnored(now time.Time) bool {
	if m.screen != ScreenVerifying || m.tapBack == 0 {
		return false
	}
	m.screen, m.until = m.tapBack, m.tapUntil
	m.tapBack = 0
	if !m.screen.timed() || !now.Before(m.until) {
		m.screen = m.resting()
	}
	return true
}

// enrolled shows a registration's outcome: on its own screen, or as a note
// on the session screen when a session is open. One that comes while the
// session is ending (the registration started during it) is not shown:
// the screen keeps saying "Signing out…" until session.ended.
func (m *Model) enrolled(msg Message, screen Screen, now time.Time) {
	switch {
	case m.screen.session():
		m.note, m.noteUntil = msg, now.Add(m.opt.MessageFor)
	case m.screen != ScreenEnding:
		m.screen, m.outcome, m.until = screen, msg, now.Add(m.opt.MessageFor)
	}
}

// forgetSession drops what the screen knew of the session that is ending.
func (m *Model) forgetSession() {
	m.name, m.role, m.apps, m.expiresAt = "", "", nil, time.Time{}
	m.sessionID = ""
	m.note, m.offline = Message{}, false
}

// nameOf is the name to show for an event's user: its display name, or
// its user name (which the agent passes on as the hub gives it), made
// plain.
func nameOf(e agent.Event) string {
	if e.DisplayName != "" {
		return plain(e.DisplayName)
	}
	return plain(e.User)
}

// resting is the screen shown when nothing is going on: the locked
// screen, the enrollment prompt while an enrollment is armed, the
// not-enrolled screen while the hub refuses the kiosk, or the ending
// screen asking for staff while the start-up clean-up fails.
func (m *Model) resting() Screen {
	if m.unclean {
		return ScreenEnding
	}
	if m.refused {
		return ScreenNotEnrolled
	}
	if m.enrollFor != "" {
		return ScreenEnrollment
	}
	return ScreenLocked
}

// Tick updates the clock and the countdown, takes the timed screens back to
// the resting one when their time is up, and drops an old note. Run calls
// it every second.
func (m *Model) Tick() {
	now := m.opt.Now()
	if m.screen.timed() && !now.Before(m.until) {
		m.screen = m.resting()
		m.render()
		return
	}
	if m.note != (Message{}) && !now.Before(m.noteUntil) {
		m.note = Message{}
		if m.screen.session() {
			m.render()
			return
		}
	}
	if m.clock != nil {
		m.clock.SetText(m.clockText())
	}
	if m.countdn != nil {
		m.countdn.SetText(m.countdownText())
	}
}

// Run calls Tick on Fyne's goroutine every second until ctx is done.
func (m *Model) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fyne.Do(m.Tick)
		}
	}
}

// TypedKey handles keys that reach the canvas with nothing focused
// (fyne.Canvas.SetOnTypedKey): each is worker input, and Escape signs out.
func (m *Model) TypedKey(ev *fyne.KeyEvent) {
	m.activity()
	if ev.Name == fyne.KeyEscape {
		m.signout()
	}
}

// activity passes worker input on to the agent core; the model moving the
// focus itself is not input.
func (m *Model) activity() {
	if !m.quiet {
		m.opt.Intents.Activity()
	}
}

// tap is a virtual badge's tap: the verifying screen until the agent
// answers with session.started, login.refused or a credential event, or
// takes it back with tap.ignored (a hardware reader's tap arrives as
// badge.read instead). During a session a tap only goes to the agent while
// an enrollment is armed.
func (m *Model) tap(name string) {
	switch {
	case m.screen.session():
		if m.enrollFor == "" {
			return
		}
	case m.screen == ScreenVerifying:
		return // a tap is being checked
	default:
		back, until := m.screen, m.until
		m.verifying(m.opt.Now())
		m.tapBack, m.tapUntil = back, until
		m.render()
	}
	m.opt.Intents.Tap(name)
}

// verifying switches to the verifying screen: a badge is being checked, or
// registered while an enrollment is armed. It is not the model's own tap's
// (tap says when it is).
func (m *Model) verifying(now time.Time) {
	m.checking = m.opt.Texts.VerifyingMessage(m.enrollFor != "")
	m.screen, m.until = ScreenVerifying, now.Add(m.opt.VerifyingFor)
	m.tapBack = 0
}

func (m *Model) signout() {
	if m.screen.session() {
		m.opt.Intents.Signout()
	}
}

func (m *Model) clockText() string { return m.opt.Now().In(m.opt.Location).Format(ClockLayout) }

func (m *Model) countdownText() string {
	return m.opt.Texts.CountdownText(m.expiresAt.Sub(m.opt.Now()))
}

// endsAt is when the session on e ends by this kiosk's clock, which the
// screen counts down to: the agent's ends_at (earlier than expires_at
// when the kiosk's clock is behind the hub's), or expires_at from an agent
// that does not say.
func endsAt(e agent.Event) time.Time {
	if !e.EndsAt.IsZero() {
		return e.EndsAt
	}
	return e.ExpiresAt
}
