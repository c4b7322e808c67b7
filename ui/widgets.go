package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// MinButtonHeight is the smallest height of every button on the kiosk, for
// gloved hands.
const MinButtonHeight = 64

// button is a widget.Button sized for touch and operable from a keyboard:
// Enter and Space press it, Escape goes to the model (sign out). Every
// press, key, focus and pointer movement on it is reported as activity.
type button struct {
	widget.Button
	key      string // what it does on its screen (Model.button)
	escape   func()
	activity func()
	reveal   func() // if set, scrolls the button into sight (it has the focus)
}

var (
	_ desktop.Hoverable = (*button)(nil)
	_ desktop.Keyable   = (*button)(nil)
)

func newButton(label string, importance widget.Importance, tapped func()) *button {
	b := &button{}
	b.Text = label
	b.Importance = importance
	b.OnTapped = tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *button) input() {
	if b.activity != nil {
		b.activity()
	}
}

// MinSize is at least MinButtonHeight high and a little wider than the
// label.
func (b *button) MinSize() fyne.Size {
	s := b.Button.MinSize()
	s.Height = max(s.Height, MinButtonHeight)
	s.Width = max(s.Width, 2*MinButtonHeight)
	return s
}

// Tapped presses the button.
func (b *button) Tapped(ev *fyne.PointEvent) {
	b.input()
	b.Button.Tapped(ev)
}

// TypedKey presses the button on Enter, Return or Space.
func (b *button) TypedKey(ev *fyne.KeyEvent) {
	b.input()
	switch ev.Name {
	case fyne.KeyEnter, fyne.KeyReturn, fyne.KeySpace:
		if !b.Disabled() {
			b.Button.Tapped(nil)
		}
	case fyne.KeyEscape:
		if b.escape != nil {
			b.escape()
		}
	default:
		b.Button.TypedKey(ev)
	}
}

// KeyDown is any key going down while the button has the focus (Tab
// included, which never reaches TypedKey).
func (b *button) KeyDown(*fyne.KeyEvent) { b.input() }

// KeyUp does nothing: the key down was the input.
func (b *button) KeyUp(*fyne.KeyEvent) {}

// FocusGained is input too (Tab moved the focus here), and brings the
// button into sight.
func (b *button) FocusGained() {
	b.input()
	if b.reveal != nil {
		b.reveal()
	}
	b.Button.FocusGained()
}

// MouseIn and MouseMoved are pointer input over the button.
func (b *button) MouseIn(ev *desktop.MouseEvent) {
	b.input()
	b.Button.MouseIn(ev)
}

// MouseMoved: see MouseIn.
func (b *button) MouseMoved(ev *desktop.MouseEvent) {
	b.input()
	b.Button.MouseMoved(ev)
}

// inputCatcher fills the window under the screen's widgets and reports
// the pointer input they do not take (taps and movement over labels and
// empty space) as activity. It draws nothing.
type inputCatcher struct {
	widget.BaseWidget
	activity func()
}

var (
	_ fyne.Tappable     = (*inputCatcher)(nil)
	_ desktop.Hoverable = (*inputCatcher)(nil)
)

func newInputCatcher(activity func()) *inputCatcher {
	c := &inputCatcher{activity: activity}
	c.ExtendBaseWidget(c)
	return c
}

func (c *inputCatcher) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

func (c *inputCatcher) Tapped(*fyne.PointEvent)        { c.activity() }
func (c *inputCatcher) MouseIn(*desktop.MouseEvent)    { c.activity() }
func (c *inputCatcher) MouseMoved(*desktop.MouseEvent) { c.activity() }
func (c *inputCatcher) MouseOut()                      {}
func (c *inputCatcher) Scrolled(*fyne.ScrollEvent)     { c.activity() }

// Theme returns the kiosk theme: the dark variant whatever the system
// says (light text on a near-black background), large text and generous
// padding, readable at arm's length.
func Theme() fyne.Theme { return kioskTheme{theme.DefaultTheme()} }

type kioskTheme struct{ base fyne.Theme }

func (t kioskTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNameBackground:
		return color.Black
	case theme.ColorNameForeground:
		return color.White
	}
	return t.base.Color(n, theme.VariantDark)
}

func (t kioskTheme) Font(s fyne.TextStyle) fyne.Resource     { return t.base.Font(s) }
func (t kioskTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base.Icon(n) }

func (t kioskTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameText:
		return 24
	case theme.SizeNameSubHeadingText:
		return 32
	case theme.SizeNameHeadingText:
		return 44
	case theme.SizeNamePadding:
		return 8
	case theme.SizeNameInnerPadding:
		return 16
	}
	return t.base.Size(n)
}
