package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// view is what a screen shows, as far as the keyboard focus is concerned:
// a focused button keeps its meaning while the view stays the same.
type view struct {
	screen    Screen // its kind: the warning is the session screen
	session   int    // whose session (Model.sessions)
	enrollFor string // whose badge a badge button registers
}

// render rebuilds the screen from the state.
//
// Fyne keeps the keyboard focus on a widget after it has left the window,
// and its desktop driver sends keys to the focused widget: a button of a
// screen that is gone would still take Enter (a badge of the locked screen
// signing its worker in again after the sign-out, the previous worker's
// Sign out ending the next worker's session). So render takes the focus
// away before it replaces the widgets. When the view stays the same (a
// warning, a note, the clock going online), the focus moves to the new
// widget of the focused button; otherwise nothing is focused, and Tab
// starts again at the first button. No screen focuses a button of its
// own: Enter on a screen just drawn must not press anything the worker
// did not choose (a repeated or held Return after a keyboard sign-in would
// sign the worker out again); Escape signs out anywhere.
func (m *Model) render() {
	v := view{screen: m.screen.kind(), session: m.sessions, enrollFor: m.enrollFor}
	keep := m.focusedKey(v)
	// The same view drawn again keeps the apps scrolled where the worker
	// left them: jumping back to the top (at the shift-end warning) moved
	// the apps under a finger about to tap one.
	var scrolled fyne.Position
	if v == m.drawn && m.list != nil {
		scrolled = m.list.Offset
	}
	if m.canvas != nil {
		m.canvas.Unfocus()
	}
	m.buttons = map[string]*button{}
	m.clock, m.countdn, m.list = nil, nil, nil
	var body fyne.CanvasObject
	switch m.screen {
	case ScreenVerifying:
		body = m.message(m.checking, false)
	case ScreenEnding:
		body = m.message(m.opt.Texts.EndingMessage(m.stuck || m.unclean), false)
	case ScreenActive, ScreenWarning:
		body = m.session()
	case ScreenEnded:
		body = m.message(m.opt.Texts.EndedMessage(m.reason), true)
	case ScreenRefused:
		body = m.message(m.opt.Texts.RefusedMessage(m.reason), true)
	case ScreenEnrolled, ScreenEnrollFailed:
		body = m.message(m.outcome, true)
	case ScreenEnrollment:
		body = m.locked(m.opt.Texts.EnrollPrompt(m.enrollFor))
	case ScreenNotEnrolled:
		body = m.notEnrolled()
	default:
		body = m.locked(m.opt.Texts.LockedMessage())
	}
	// The input catcher lies under the screen: pointer input that no
	// button takes still counts as activity.
	m.root.Objects = []fyne.CanvasObject{m.catcher, container.NewPadded(body)}
	m.root.Refresh()
	m.drawn = v
	if m.list != nil {
		m.list.ScrollToOffset(scrolled)
	}
	if b := m.buttons[keep]; b != nil {
		m.quiet = true // not input: the worker's focus stays where it was
		m.canvas.Focus(b)
		m.quiet = false
	}
	if m.opt.OnRender != nil {
		m.opt.OnRender(m.screen)
	}
}

// focusedKey is the key of the focused button if it is one of the screen
// drawn and the screen to draw is the same view, and "" otherwise.
func (m *Model) focusedKey(v view) string {
	if m.canvas == nil || v != m.drawn {
		return ""
	}
	b, ok := m.canvas.Focused().(*button)
	if !ok || m.buttons[b.key] != b {
		return ""
	}
	return b.key
}

func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameHeadingText
	l.Wrapping = fyne.TextWrapWord // a long message wraps instead of running off a small screen
	return l
}

func line(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignCenter, fyne.TextStyle{})
}

// wrapped is a line that wraps at words on a screen too narrow for it.
func wrapped(text string) *widget.Label {
	l := line(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// locked is the locked screen and the enrollment prompt: where, when,
// online or not, and what to do.
func (m *Model) locked(msg Message) fyne.CanvasObject {
	return container.NewBorder(m.header(), m.badges(), nil, nil, m.centred(msg))
}

// notEnrolled is the locked screen's header over NotEnrolledMessage, with
// no badges to tap: nobody can sign in.
func (m *Model) notEnrolled() fyne.CanvasObject {
	return container.NewBorder(m.header(), nil, nil, nil, m.centred(m.opt.Texts.NotEnrolledMessage()))
}

// header is the locked screen's top row: site · kiosk, the clock, and
// Online or Offline.
func (m *Model) header() fyne.CanvasObject {
	m.clock = line(m.clockText())
	m.clock.SizeName = theme.SizeNameSubHeadingText
	// Three equal columns, so that the clock stays in the middle and a long
	// site or kiosk name wraps in its third instead of pushing the clock
	// and the status off a small panel.
	where := wrapped(m.opt.Texts.PlaceText(m.site, m.kiosk))
	where.Alignment = fyne.TextAlignLeading
	status := wrapped(m.opt.Texts.StatusText(m.online))
	status.Alignment = fyne.TextAlignTrailing
	return container.NewGridWithColumns(3, where, m.clock, status)
}

// centred is msg's title and detail, centred in the space the screen's
// header and badges leave. A title too long for that space (the
// enrollment prompt or outcome with a 64-character name, in large type, on
// the rpi5-touch profile's 853×480) scrolls in it instead of being drawn
// over the header and the badges.
func (m *Model) centred(msg Message) fyne.CanvasObject {
	items := []fyne.CanvasObject{layout.NewSpacer(), heading(msg.Title)}
	if msg.Detail != "" {
		d := line(msg.Detail)
		d.Wrapping = fyne.TextWrapWord // a long detail wraps on a small screen, as the heading does
		items = append(items, d)
	}
	items = append(items, layout.NewSpacer())
	return container.NewVScroll(container.NewVBox(items...))
}

// message is the verifying, ending, ended, refused and enrollment outcome screens;
// badges says whether the demo badges are offered (a new tap is welcome).
func (m *Model) message(msg Message, badges bool) fyne.CanvasObject {
	var bottom fyne.CanvasObject
	if badges {
		bottom = m.badges()
	}
	return container.NewBorder(nil, bottom, nil, nil, m.centred(msg))
}

// session is the active and warning screens: who is signed in, until
// when, any enrollment prompt or note, the session's apps, and Sign out.
//
// Sign out is pinned to the bottom, with an enrollment's prompt, its
// badge row and its outcome (the note) over it; the name, role, end or
// countdown and the apps above scroll as one. On a small panel (the
// rpi5-touch profile's 853×480) the name, the countdown, a prompt and a
// note can take most of the height: as a fixed header over the apps they
// left the apps a sliver, or less than nothing, and the prompt and the
// note were drawn under the badges and Sign out.
func (m *Model) session() fyne.CanvasObject {
	info := container.NewVBox(heading(m.name), wrapped(m.role))
	if m.screen == ScreenWarning {
		m.countdn = heading(m.countdownText())
		m.countdn.Importance = widget.WarningImportance
		info.Add(m.countdn)
		if m.offline {
			info.Add(wrapped(m.opt.Texts.OfflineWarningText()))
		}
	} else {
		info.Add(wrapped(m.opt.Texts.SessionEndsText(m.expiresAt.In(m.opt.Location).Format(ClockLayout))))
	}
	// The apps' buttons share one tile size, wide enough for the longest
	// label up to two tiles' width: a button draws its label whole, past
	// its own edges and over the next app's when the tile is narrower (a
	// profile's "Medication administration" did at 280). A label longer
	// still (an app ID of up to 63 characters, shown when the profile has
	// no label) is cut with "…" to fit.
	var (
		list  *container.Scroll
		apps  *fyne.Container
		tiles []fyne.CanvasObject
	)
	tile := float32(appTileWidth)
	// The session drawn, not the one shown when a tile is pressed: a
	// tile's press names the session whose screen it was on.
	sessionID := m.sessionID
	for _, app := range m.apps {
		label := plain(app) // an ID from the hub, like every name it sends
		if l := m.opt.AppLabels[app]; l != "" {
			label = l
		}
		b := m.button("app:"+app, label, widget.MediumImportance, func() {
			if m.opt.OnApp != nil {
				m.opt.OnApp(sessionID, app)
			}
		})
		fitLabel(b, maxAppTileWidth)
		tile = max(tile, b.MinSize().Width)
		// Fyne does not scroll a focused widget into sight: Tab to an app
		// below the fold on a small panel would focus a button the worker
		// cannot see, for Enter to open.
		b.reveal = func() { reveal(list, apps, b) }
		tiles = append(tiles, b)
	}
	apps = container.NewGridWrap(fyne.NewSize(tile, 2*MinButtonHeight), tiles...)
	// An enrollment's prompt and outcome stay in sight with the badges
	// they are about.
	bottom := container.NewVBox()
	if m.note != (Message{}) {
		bottom.Add(wrapped(m.note.Title))
	}
	if m.enrollFor != "" {
		l := wrapped(m.opt.Texts.EnrollPrompt(m.enrollFor).Title)
		l.Importance = widget.WarningImportance
		bottom.Add(l)
		if b := m.badges(); b != nil {
			bottom.Add(b)
		}
	}
	bottom.Add(m.button("signout", m.opt.Texts.SignOutLabel(), widget.HighImportance, m.signout))
	list = container.NewVScroll(container.NewVBox(info, apps))
	m.list = list
	return container.NewBorder(nil, container.NewPadded(bottom), nil, nil, list)
}

// Sizes of the session screen's app tiles: one tile, and the most a tile
// grows for a long label (two tiles and the gap between them, which the
// narrowest panel, 800 units, still shows whole).
const (
	appTileWidth    = 280
	maxAppTileWidth = 2*appTileWidth + 8
)

// fitLabel cuts b's label, with "…", until b is at most width wide.
func fitLabel(b *button, width float32) {
	r := []rune(b.Text)
	for b.MinSize().Width > width && len(r) > 1 {
		r = r[:len(r)-1]
		b.SetText(strings.TrimSpace(string(r)) + "…")
	}
}

// reveal scrolls list so that b, a button of apps (in list's content, under
// the session's info), is in sight. Before the screen is laid out it does
// nothing: there is nothing to see yet.
func reveal(list *container.Scroll, apps, b fyne.CanvasObject) {
	if list == nil || list.Size().Height <= 0 {
		return
	}
	top := apps.Position().Y + b.Position().Y
	bottom, seen := top+b.Size().Height, list.Size().Height
	off := list.Offset
	switch {
	case top < off.Y:
		off.Y = top
	case bottom > off.Y+seen:
		off.Y = min(bottom, list.Content.Size().Height) - seen
	default:
		return
	}
	list.ScrollToOffset(off)
}

// badges is the demo badge row, or nil without demo badges.
func (m *Model) badges() fyne.CanvasObject {
	if len(m.opt.Badges) == 0 {
		return nil
	}
	row := container.NewHBox(line(m.opt.Texts.DemoBadgesLabel()))
	for _, name := range m.opt.Badges {
		row.Add(m.button("badge:"+name, name, widget.MediumImportance, func() { m.tap(name) }))
	}
	return container.NewCenter(row)
}

// button is a kiosk button whose every use is worker input and on which
// Escape signs out. key names what it does on its screen ("signout",
// "app:ID", "badge:NAME"), so that the focus can follow it when the screen
// is drawn again.
func (m *Model) button(key, label string, importance widget.Importance, tapped func()) *button {
	b := newButton(label, importance, tapped)
	b.key = key
	b.activity, b.escape = m.activity, m.signout
	m.buttons[key] = b
	return b
}
