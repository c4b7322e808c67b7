package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
)

// Every kind of worker input on the screen reaches the agent as activity:
// taps on buttons and on empty space, keys (focused or not, Tab included),
// focus moves and pointer movement.
func TestInputIsActivity(t *testing.T) {
	h := newHarness(t)
	h.m.Attach(h.w)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "erin", Role: "picker", ExpiresAt: h.clock.t.Add(time.Hour), Apps: []string{"scanner"}})
	c := h.w.Canvas()

	for _, tc := range []struct {
		name  string
		input func()
	}{
		{"tap on a label", func() { test.TapCanvas(c, fyne.NewPos(640, 40)) }},
		{"pointer over empty space", func() { test.MoveMouse(c, fyne.NewPos(900, 300)) }},
		{"pointer over a button", func() {
			b := h.button("scanner")
			test.MoveMouse(c, fyne.CurrentApp().Driver().AbsolutePositionForObject(b).AddXY(30, 30))
		}},
		{"tap on an app button", func() { test.Tap(h.button("scanner")) }},
		{"key with nothing focused", func() { c.Unfocus(); c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyA}) }},
		{"focus moved by Tab", func() { c.Unfocus(); test.FocusNext(c) }},
		{"key down on a focused button", func() { h.button("scanner").KeyDown(&fyne.KeyEvent{Name: fyne.KeyTab}) }},
		{"key typed on a focused button", func() { h.button("scanner").TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.intents.activity()
			tc.input()
			if h.intents.activity() == before {
				t.Errorf("%s was not reported as activity", tc.name)
			}
		})
	}
	if got := h.intents.got(); len(got) != 0 {
		t.Errorf("input sent intents %q besides activity", got)
	}
}
