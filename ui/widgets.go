package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// MinButtonHeight is the smallest height of every button on the kiosk, for
// gloved hands.
const MinButtonHeight = 64

// button is a widget.Button sized for touch and operable from a keyboard:
// Enter and Space press it, Escape goes to the model (sign out).
type button struct {
	widget.Button
	escape func()
}

func newButton(label string, importance widget.Importance, tapped func()) *button {
	b := &button{}
	b.Text = label
	b.Importance = importance
	b.OnTapped = tapped
	b.ExtendBaseWidget(b)
	return b
}

// MinSize is at least MinButtonHeight high and a little wider than the
// label.
func (b *button) MinSize() fyne.Size {
	s := b.Button.MinSize()
	s.Height = max(s.Height, MinButtonHeight)
	s.Width = max(s.Width, 2*MinButtonHeight)
	return s
}

// TypedKey presses the button on Enter, Return or Space.
func (b *button) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEnter, fyne.KeyReturn, fyne.KeySpace:
		if !b.Disabled() {
			b.Tapped(nil)
		}
	case fyne.KeyEscape:
		if b.escape != nil {
			b.escape()
		}
	default:
		b.Button.TypedKey(ev)
	}
}

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
