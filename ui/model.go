package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/shiftgate/shiftgate/agent"
)

// Intents is what the kiosk screen asks of the agent core. *agent.Agent
// satisfies it.
type Intents interface {
	Tap(name string)
	Signout()
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
	default:
		return fmt.Sprintf("Screen(%d)", int(s))
	}
}

// Defaults for Options.
const (
	// DefaultMessageFor is how long the ended and refused screens stay
	// before the locked screen is back.
	DefaultMessageFor = 6 * time.Second
	// DefaultVerifyingFor bounds the verifying screen when the agent
	// never answers a tap (it ignores a tap while busy): a little more
	// than agent.DefaultLoginTimeout.
	DefaultVerifyingFor = agent.DefaultLoginTimeout + 5*time.Second
)

// Options configures a Model.
type Options struct {
	// Intents receives the worker's taps and sign-outs; required.
	Intents Intents
	// Badges, if set, adds a row of virtual badges to the locked screen;
	// tapping one calls Intents.Tap with its name (demos, no reader).
	Badges []string
	// OnApp is called with the app's ID when the worker presses its
	// button.
	OnApp func(app string)
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
}

// Model holds the screen's state and its widgets. Emit may be called from
// any goroutine; every other method must run on Fyne's goroutine (in a
// callback or fyne.Do).
type Model struct {
	opt  Options
	root *fyne.Container

	// state, from the agent's events
	screen         Screen
	online         bool
	site, kiosk    string
	user, role     string
	apps           []string
	expiresAt      time.Time
	reason         string
	until          time.Time // ended, refused, verifying: back to locked then
	clock, countdn *widget.Label
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
	m := &Model{opt: opt, root: container.NewStack(), screen: ScreenLocked}
	m.render()
	return m
}

// Content is the kiosk's window content.
func (m *Model) Content() fyne.CanvasObject { return m.root }

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
		if m.screen == ScreenLocked {
			m.render()
		}
		return
	case agent.EventDisconnected:
		m.online = false
		if m.screen == ScreenLocked {
			m.render()
		}
		return
	case agent.EventSessionStarted:
		m.screen = ScreenActive
		m.user, m.role, m.expiresAt = e.User, e.Role, e.ExpiresAt
		m.apps = slices.Clone(e.Apps)
	case agent.EventSessionWarning:
		m.screen = ScreenWarning
		if !e.ExpiresAt.IsZero() {
			m.expiresAt = e.ExpiresAt
		}
	case agent.EventSessionEnded:
		m.screen, m.reason, m.until = ScreenEnded, e.Reason, now.Add(m.opt.MessageFor)
		m.user, m.role, m.apps, m.expiresAt = "", "", nil, time.Time{}
	case agent.EventLoginRefused:
		m.screen, m.reason, m.until = ScreenRefused, e.Reason, now.Add(m.opt.MessageFor)
	default:
		return // unknown or not shown (credential.*): ignored, as the contract says
	}
	m.render()
}

// Tick updates the clock and the countdown and takes the ended, refused
// and a stuck verifying screen back to locked when their time is up. Run
// calls it every second.
func (m *Model) Tick() {
	now := m.opt.Now()
	switch m.screen {
	case ScreenEnded, ScreenRefused, ScreenVerifying:
		if !now.Before(m.until) {
			m.screen = ScreenLocked
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
// (fyne.Canvas.SetOnTypedKey): Escape signs out.
func (m *Model) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape {
		m.signout()
	}
}

// tap is a badge tap on the locked screen: the verifying screen until
// the agent answers with session.started or login.refused.
func (m *Model) tap(name string) {
	switch m.screen {
	case ScreenLocked, ScreenEnded, ScreenRefused:
	default:
		return // a session is open or a tap is being checked
	}
	m.screen, m.until = ScreenVerifying, m.opt.Now().Add(m.opt.VerifyingFor)
	m.render()
	m.opt.Intents.Tap(name)
}

func (m *Model) signout() {
	if m.screen == ScreenActive || m.screen == ScreenWarning {
		m.opt.Intents.Signout()
	}
}

func (m *Model) clockText() string { return m.opt.Now().In(m.opt.Location).Format("15:04") }

func (m *Model) countdownText() string {
	d := max(m.expiresAt.Sub(m.opt.Now()), 0).Round(time.Second)
	return fmt.Sprintf("Your session ends in %d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// --- screens -----------------------------------------------------------

func (m *Model) render() {
	m.clock, m.countdn = nil, nil
	var body fyne.CanvasObject
	switch m.screen {
	case ScreenVerifying:
		body = m.message(Message{Title: "Checking your badge…", Detail: "Please wait."}, false)
	case ScreenActive, ScreenWarning:
		body = m.session()
	case ScreenEnded:
		body = m.message(EndedMessage(m.reason), true)
	case ScreenRefused:
		body = m.message(RefusedMessage(m.reason), true)
	default:
		body = m.locked()
	}
	m.root.Objects = []fyne.CanvasObject{container.NewPadded(body)}
	m.root.Refresh()
}

func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameHeadingText
	l.Wrapping = fyne.TextWrapWord // a long message wraps instead of running off a small screen
	return l
}

func line(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignCenter, fyne.TextStyle{})
	return l
}

func (m *Model) locked() fyne.CanvasObject {
	m.clock = line(m.clockText())
	m.clock.SizeName = theme.SizeNameSubHeadingText
	status := "Offline"
	if m.online {
		status = "Online"
	}
	where := strings.Join(slices.DeleteFunc([]string{m.site, m.kiosk}, func(s string) bool { return s == "" }), " · ")
	top := container.NewBorder(nil, nil, line(where), line(status), m.clock)
	center := container.NewVBox(layout.NewSpacer(), heading("Tap your badge"), layout.NewSpacer())
	return container.NewBorder(top, m.badges(), nil, nil, center)
}

// message is the verifying, ended and refused screens; badges says
// whether the demo badges are offered (a new tap is welcome).
func (m *Model) message(msg Message, badges bool) fyne.CanvasObject {
	items := []fyne.CanvasObject{layout.NewSpacer(), heading(msg.Title)}
	if msg.Detail != "" {
		items = append(items, line(msg.Detail))
	}
	items = append(items, layout.NewSpacer())
	var bottom fyne.CanvasObject
	if badges {
		bottom = m.badges()
	}
	return container.NewBorder(nil, bottom, nil, nil, container.NewVBox(items...))
}

func (m *Model) session() fyne.CanvasObject {
	who := line(m.role)
	var info fyne.CanvasObject
	if m.screen == ScreenWarning {
		m.countdn = heading(m.countdownText())
		m.countdn.Importance = widget.WarningImportance
		info = container.NewVBox(heading(m.user), who, m.countdn)
	} else {
		ends := line("Session ends at " + m.expiresAt.In(m.opt.Location).Format("15:04"))
		info = container.NewVBox(heading(m.user), who, ends)
	}
	apps := container.NewGridWrap(fyne.NewSize(280, 2*MinButtonHeight))
	for _, app := range m.apps {
		label := app
		if l := m.opt.AppLabels[app]; l != "" {
			label = l
		}
		b := newButton(label, widget.MediumImportance, func() {
			if m.opt.OnApp != nil {
				m.opt.OnApp(app)
			}
		})
		b.escape = m.signout
		apps.Add(b)
	}
	out := newButton("Sign out", widget.HighImportance, m.signout)
	out.escape = m.signout
	return container.NewBorder(info, container.NewPadded(out), nil, nil, container.NewVScroll(apps))
}

// badges is the demo badge row, or nil without demo badges.
func (m *Model) badges() fyne.CanvasObject {
	if len(m.opt.Badges) == 0 {
		return nil
	}
	row := container.NewHBox(line("Demo badges:"))
	for _, name := range m.opt.Badges {
		row.Add(newButton(name, widget.MediumImportance, func() { m.tap(name) }))
	}
	return container.NewCenter(row)
}
