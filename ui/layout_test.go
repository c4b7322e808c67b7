package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// placed is a label or button on screen, where the window shows it.
type placed struct {
	what     string
	pos      fyne.Position // in the window
	size     fyne.Size
	min      fyne.Size
	scroll   *container.Scroll // the scroll container it is in, if any
	viewport rect              // that scroll container's, in the window
	content  rect              // what it can scroll to, in the window
}

type rect struct{ x0, y0, x1, y1 float32 }

func (p placed) rect() rect {
	return rect{p.pos.X, p.pos.Y, p.pos.X + p.size.Width, p.pos.Y + p.size.Height}
}

func (r rect) overlaps(o rect) bool {
	const e = 0.5 // rounding
	return r.x0 < o.x1-e && o.x0 < r.x1-e && r.y0 < o.y1-e && o.y0 < r.y1-e
}

func (r rect) inside(o rect) bool {
	const e = 0.5
	return r.x0 >= o.x0-e && r.y0 >= o.y0-e && r.x1 <= o.x1+e && r.y1 <= o.y1+e
}

// layoutOf is every visible label and button under root, with where it is
// drawn.
func layoutOf(root fyne.CanvasObject) []placed {
	var out []placed
	var walk func(o fyne.CanvasObject, at fyne.Position, sc *container.Scroll, vp, ct rect)
	walk = func(o fyne.CanvasObject, at fyne.Position, sc *container.Scroll, vp, ct rect) {
		if o == nil || !o.Visible() {
			return
		}
		at = at.Add(o.Position())
		switch o := o.(type) {
		case *fyne.Container:
			for _, c := range o.Objects {
				walk(c, at, sc, vp, ct)
			}
		case *container.Scroll:
			c := at.Add(o.Content.Position())
			walk(o.Content, at, o, rect{at.X, at.Y, at.X + o.Size().Width, at.Y + o.Size().Height},
				rect{c.X, c.Y, c.X + o.Content.Size().Width, c.Y + o.Content.Size().Height})
		case *widget.Label:
			if o.Text != "" {
				out = append(out, placed{what: fmt.Sprintf("label %q", o.Text), pos: at, size: o.Size(), min: o.MinSize(), scroll: sc, viewport: vp, content: ct})
			}
		case *button:
			out = append(out, placed{what: fmt.Sprintf("button %q", o.Text), pos: at, size: o.Size(), min: o.MinSize(), scroll: sc, viewport: vp, content: ct})
		}
	}
	walk(root, fyne.Position{}, nil, rect{}, rect{})
	return out
}

// checkLayout fails when something on screen is cut off or drawn over
// something else: every label and button is given at least its minimum
// size, and lies inside the window or, in a scroll container, inside
// what that container can scroll to; no two of them overlap; a scroll
// container shows at least one button's height, so that what it holds can
// be seen and reached.
func checkLayout(t *testing.T, h *harness, what string) {
	t.Helper()
	win := h.w.Canvas().Size()
	window := rect{0, 0, win.Width, win.Height}
	items := layoutOf(h.m.Content())
	for _, p := range items {
		if p.size.Width < p.min.Width-0.5 || p.size.Height < p.min.Height-0.5 {
			t.Errorf("%s at %v: %s is cut: %v, needs %v", what, win, p.what, p.size, p.min)
		}
		if p.scroll == nil {
			if !p.rect().inside(window) {
				t.Errorf("%s at %v: %s is outside the window: %v", what, win, p.what, p.rect())
			}
			continue
		}
		if !p.rect().inside(p.content) {
			t.Errorf("%s at %v: %s %v is out of reach: its scroll container scrolls over %v", what, win, p.what, p.rect(), p.content)
		}
		if !p.viewport.inside(window) {
			t.Errorf("%s at %v: the scroll container of %s is outside the window: %v", what, win, p.what, p.viewport)
		}
		if vh := p.viewport.y1 - p.viewport.y0; vh < MinButtonHeight {
			t.Errorf("%s at %v: %s is in a scroll container %v high, less than a button", what, win, p.what, vh)
		}
	}
	for i, a := range items {
		for _, b := range items[i+1:] {
			if a.scroll != b.scroll {
				// One scrolls under the other's fixed position: it only
				// overlaps if the viewport does.
				ra, rb := a.rect(), b.rect()
				if a.scroll != nil {
					ra = a.viewport
				}
				if b.scroll != nil {
					rb = b.viewport
				}
				if a.scroll != nil && b.scroll != nil {
					continue
				}
				if ra.overlaps(rb) {
					t.Errorf("%s at %v: %s %v overlaps %s %v", what, win, a.what, a.rect(), b.what, b.rect())
				}
				continue
			}
			if a.rect().overlaps(b.rect()) {
				t.Errorf("%s at %v: %s %v overlaps %s %v", what, win, a.what, a.rect(), b.what, b.rect())
			}
		}
	}
}

// TestScreensFitSmallPanel draws every screen in every language the kiosk
// has (German and French texts run longest, Polish has long words) at the
// kiosk's default size, on the rpi5-touch profile's panel (1280×720 at
// scale 1.5: 853×480) and on an 800×480 panel, with the demo's badges and
// realistic names, and checks that the screen is in that language and that
// nothing is cut off or drawn over something else.
func TestScreensFitSmallPanel(t *testing.T) {
	connected := agent.Event{Event: agent.EventConnected, Site: "north-ward", DeviceName: "north-ward-1"}
	expires := time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)
	started := agent.Event{Event: agent.EventSessionStarted, User: "amira.haddad", DisplayName: "Amira Haddad-Okonkwo", Role: "Registered Nurse",
		SessionID: "s1", ExpiresAt: expires, Apps: []string{"emr", "timesheet", "scanner", "pharmacy", "lab", "rota"}}
	warning := agent.Event{Event: agent.EventSessionWarning, User: "amira.haddad", SessionID: "s1", ExpiresAt: expires}
	offlineWarning := warning
	offlineWarning.Reason = wire.ReasonOffline
	left := expires.Sub(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)) // the harness's clock
	// The agent cuts display names at 64 characters.
	long := started
	long.DisplayName = "Maria-Fernanda Alessandra Oyelaran-Vasquez de la Torre Nakamura"
	enroll := armed("dana.kim", "Dana Kim")
	registered := agent.Event{Event: agent.EventCredentialRegistered, User: "dana.kim", DisplayName: "Dana Kim"}
	for _, tc := range []struct {
		name   string
		events []agent.Event
		want   Screen
		shows  func(*Texts) []string // texts the screen shows, in its language
	}{
		{"locked", []agent.Event{connected}, ScreenLocked, func(tx *Texts) []string {
			return []string{tx.LockedMessage().Title, tx.StatusText(true), tx.PlaceText("north-ward", "north-ward-1"), tx.DemoBadgesLabel()}
		}},
		{"locked, long names", []agent.Event{{Event: agent.EventConnected, Site: "St Mary's Hospital, Ward 7B North", DeviceName: "ward-7b-north-kiosk-02"}}, ScreenLocked, func(tx *Texts) []string {
			return []string{tx.LockedMessage().Title, tx.PlaceText("St Mary's Hospital, Ward 7B North", "ward-7b-north-kiosk-02")}
		}},
		{"verifying", []agent.Event{connected, {Event: agent.EventBadgeRead}}, ScreenVerifying, func(tx *Texts) []string {
			m := tx.VerifyingMessage(false)
			return []string{m.Title, m.Detail}
		}},
		{"active", []agent.Event{connected, started}, ScreenActive, func(tx *Texts) []string {
			return []string{tx.SessionEndsText("16:00"), "[" + tx.SignOutLabel() + "]"}
		}},
		{"warning", []agent.Event{connected, started, warning}, ScreenWarning, func(tx *Texts) []string {
			return []string{tx.CountdownText(left), "[" + tx.SignOutLabel() + "]"}
		}},
		{"warning, enrollment armed", []agent.Event{connected, started, warning, enroll}, ScreenWarning, func(tx *Texts) []string {
			return []string{tx.CountdownText(left), tx.EnrollPrompt("Dana Kim").Title, tx.DemoBadgesLabel()}
		}},
		{"warning, enrollment armed, badge enrolled", []agent.Event{connected, started, warning, enroll, registered}, ScreenWarning, func(tx *Texts) []string {
			return []string{tx.EnrolledMessage("Dana Kim").Title, tx.EnrollPrompt("Dana Kim").Title}
		}},
		{"warning, 64-character name, enrollment armed", []agent.Event{connected, long, warning, armed("x", long.DisplayName), registered}, ScreenWarning, func(tx *Texts) []string {
			return []string{tx.EnrolledMessage("Dana Kim").Title, tx.EnrollPrompt(long.DisplayName).Title}
		}},
		{"warning, hub out of reach", []agent.Event{connected, started, offlineWarning}, ScreenWarning, func(tx *Texts) []string {
			return []string{tx.CountdownText(left), tx.OfflineWarningText(), "[" + tx.SignOutLabel() + "]"}
		}},
		{"ended, hub out of reach", []agent.Event{connected, started, {Event: agent.EventSessionEnded, Reason: wire.ReasonOffline}}, ScreenEnded, func(tx *Texts) []string {
			m := tx.EndedMessage(wire.ReasonOffline)
			return []string{m.Title, m.Detail}
		}},
		{"ending", []agent.Event{connected, started, {Event: agent.EventSessionTeardownFailed, SessionID: "s1", Attempt: 1}}, ScreenEnding, func(tx *Texts) []string {
			m := tx.EndingMessage(true)
			return []string{m.Title, m.Detail}
		}},
		{"ended", []agent.Event{connected, started, {Event: agent.EventSessionEnded, Reason: wire.ReasonDeprovisioned}}, ScreenEnded, func(tx *Texts) []string {
			m := tx.EndedMessage(wire.ReasonDeprovisioned)
			return []string{m.Title, m.Detail}
		}},
		{"refused", []agent.Event{connected, {Event: agent.EventLoginRefused, Reason: wire.RefusedNotAllowedHere}}, ScreenRefused, func(tx *Texts) []string {
			m := tx.RefusedMessage(wire.RefusedNotAllowedHere)
			return []string{m.Title, m.Detail}
		}},
		{"refused, hub unreachable", []agent.Event{connected, {Event: agent.EventLoginRefused, Reason: agent.RefusedHubUnreachable}}, ScreenRefused, func(tx *Texts) []string {
			m := tx.RefusedMessage(agent.RefusedHubUnreachable)
			return []string{m.Title, m.Detail}
		}},
		{"enrollment", []agent.Event{connected, enroll}, ScreenEnrollment, func(tx *Texts) []string {
			m := tx.EnrollPrompt("Dana Kim")
			return []string{m.Title, m.Detail}
		}},
		{"enroll-failed", []agent.Event{connected, enroll, {Event: agent.EventCredentialRefused, Reason: agent.RegisterModelNotAllowed}}, ScreenEnrollFailed, func(tx *Texts) []string {
			m := tx.EnrollRefusedMessage(agent.RegisterModelNotAllowed)
			return []string{m.Title, m.Detail}
		}},
		{"not-enrolled", []agent.Event{connected, {Event: agent.EventDeviceRefused, Reason: agent.RefusalCertificate}}, ScreenNotEnrolled, func(tx *Texts) []string {
			m := tx.NotEnrolledMessage()
			return []string{m.Title, m.Detail, tx.StatusText(false)}
		}},
	} {
		for _, lang := range Languages() {
			tx, err := NewTexts(lang)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []fyne.Size{{Width: 1280, Height: 800}, {Width: 853, Height: 480}, {Width: 800, Height: 480}} {
				t.Run(fmt.Sprintf("%s/%s/%vx%v", tc.name, lang, size.Width, size.Height), func(t *testing.T) {
					h := newHarnessIn(t, tx, "amira", "chen", "ben", "visitor")
					h.w.Resize(size)
					for _, e := range tc.events {
						h.m.Emit(e)
					}
					h.want(tc.want, tc.shows(tx)...)
					if got := h.w.Canvas().Size(); got != size {
						t.Fatalf("the window is %v, not %v: the screen needs %v", got, size, h.m.Content().MinSize())
					}
					checkLayout(t, h, tc.name)
				})
			}
		}
	}
}
