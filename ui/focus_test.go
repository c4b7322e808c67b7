package ui

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
)

// press is a key pressed on the window as Fyne's desktop driver delivers
// it (internal/driver/glfw, processKeyPressed): the key goes down on the
// focused widget, then Tab moves the focus, and any other key is typed on
// the focused widget, or on the canvas when nothing has the focus.
func press(c fyne.Canvas, name fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: name}
	if k, ok := c.Focused().(desktop.Keyable); ok {
		k.KeyDown(ev)
	}
	if name == fyne.KeyTab {
		test.FocusNext(c)
		return
	}
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
	} else if typed := c.OnTypedKey(); typed != nil {
		typed(ev)
	}
}

// finger is a tap on b as Fyne's desktop driver delivers it: the focus
// stays where it is, since the pointer came down on a focusable widget
// (internal/driver/glfw, mouseClicked). test.Tap unfocuses instead.
func finger(b *button) { b.Tapped(&fyne.PointEvent{Position: fyne.NewPos(1, 1)}) }

// focusOnScreen fails unless the focused widget, if any, is on the screen
// shown now: a key must never reach a button of a screen that is gone.
func (h *harness) focusOnScreen(when string) {
	h.t.Helper()
	f := h.w.Canvas().Focused()
	if f == nil {
		return
	}
	if !inTree(h.m.Content(), f.(fyne.CanvasObject)) {
		label := ""
		if b, ok := f.(*button); ok {
			label = b.Text
		}
		h.t.Errorf("%s: the focus is on %T %q, which is not on the %s screen", when, f, label, h.m.Screen())
	}
}

// inTree reports whether o is a visible part of root.
func inTree(root, o fyne.CanvasObject) bool {
	if root == nil || !root.Visible() {
		return false
	}
	if root == o {
		return true
	}
	switch r := root.(type) {
	case *fyne.Container:
		return slices.ContainsFunc(r.Objects, func(c fyne.CanvasObject) bool { return inTree(c, o) })
	case fyne.Widget:
		return slices.ContainsFunc(test.WidgetRenderer(r).Objects(), func(c fyne.CanvasObject) bool { return inTree(c, o) })
	}
	return false
}

// focusedText is the label of the focused button, or "" when no button
// has the focus.
func (h *harness) focusedText() string {
	if b, ok := h.w.Canvas().Focused().(*button); ok {
		return b.Text
	}
	return ""
}

// endSession is the agent ending the open session: session.ending as the
// teardown starts, session.ended once it is done, and the ended screen's
// time running out.
func (h *harness) endSession(user, id, reason string) {
	h.t.Helper()
	h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: user, SessionID: id, Reason: reason})
	h.focusOnScreen("session.ending")
	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: user, SessionID: id, Reason: reason})
	h.want(ScreenEnded)
	h.focusOnScreen("session.ended")
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge")
	h.focusOnScreen("back to the locked screen")
}

// TestFocusDoesNotOutliveItsScreen: the review's findings, with keys
// delivered as the desktop driver does. Fyne keeps the focus on a widget
// that has left the window and sends it the keys: after a session, Enter
// must press nothing of the screens that are gone — not the badge that
// signed the worker in (a new session for the previous worker), not an
// app button of the session (OnApp on the locked screen), not its Sign
// out (the next worker's session ended).
func TestFocusDoesNotOutliveItsScreen(t *testing.T) {
	expires := time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)
	started := func(user string) agent.Event {
		return agent.Event{Event: agent.EventSessionStarted, User: user, Role: "Nurse", SessionID: "s-" + user, ExpiresAt: expires,
			Apps: []string{"emr", "timesheet"}}
	}

	t.Run("the badge that signed in", func(t *testing.T) {
		h := newHarness(t, "amira", "chen")
		h.m.Attach(h.w)
		c := h.w.Canvas()
		// The keyboard path of the locked screen: Tab to the first
		// badge, Enter.
		press(c, fyne.KeyTab)
		if got := h.focusedText(); got != "amira" {
			t.Fatalf("Tab on the locked screen focuses %q, want the first badge", got)
		}
		press(c, fyne.KeyReturn)
		h.want(ScreenVerifying)
		h.focusOnScreen("verifying")
		h.m.Emit(started("amira"))
		h.want(ScreenActive, "amira")
		h.focusOnScreen("session.started")
		press(c, fyne.KeyEscape) // signs out
		h.endSession("amira", "s-amira", "signout")

		// One Return on the locked screen: nothing.
		press(c, fyne.KeyReturn)
		if got, want := h.intents.got(), []string{"tap amira", "signout"}; !slices.Equal(got, want) {
			t.Fatalf("intents = %q, want %q: Return on the locked screen pressed a badge of a screen that is gone", got, want)
		}
		// The keyboard path still works: Tab, Enter.
		press(c, fyne.KeyTab)
		h.focusOnScreen("Tab")
		if got := h.focusedText(); got != "amira" {
			t.Fatalf("Tab on the locked screen focuses %q, want the first badge", got)
		}
		press(c, fyne.KeyReturn)
		if got, want := h.intents.got(), []string{"tap amira", "signout", "tap amira"}; !slices.Equal(got, want) {
			t.Fatalf("intents = %q, want %q", got, want)
		}
	})

	t.Run("an app of the session", func(t *testing.T) {
		h := newHarness(t, "amira")
		h.m.Attach(h.w)
		c := h.w.Canvas()
		h.m.Emit(started("amira"))
		press(c, fyne.KeyTab)
		if got := h.focusedText(); got != "emr" {
			t.Fatalf("Tab on the session screen focuses %q, want the first app", got)
		}
		finger(h.button("Sign out"))
		h.m.Emit(agent.Event{Event: agent.EventSessionEnding, User: "amira", SessionID: "s-amira", Reason: "signout"})
		h.focusOnScreen("session.ending")
		h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "amira", SessionID: "s-amira", Reason: "signout"})
		h.focusOnScreen("session.ended")
		press(c, fyne.KeyReturn) // on the ended screen
		h.clock.t = h.clock.t.Add(DefaultMessageFor)
		h.m.Tick()
		h.focusOnScreen("locked")
		press(c, fyne.KeyReturn) // on the locked screen
		if len(h.apps) != 0 {
			t.Errorf("OnApp calls %q after the session ended", h.apps)
		}
		if got, want := h.intents.got(), []string{"signout"}; !slices.Equal(got, want) {
			t.Errorf("intents = %q, want %q", got, want)
		}
	})

	t.Run("Sign out into the next session", func(t *testing.T) {
		h := newHarness(t, "amira", "chen")
		h.m.Attach(h.w)
		c := h.w.Canvas()
		h.m.Emit(started("amira"))
		for range 5 {
			if h.focusedText() == "Sign out" {
				break
			}
			press(c, fyne.KeyTab)
		}
		if got := h.focusedText(); got != "Sign out" {
			t.Fatalf("Tab never reaches Sign out; focus on %q", got)
		}
		press(c, fyne.KeyReturn)
		h.endSession("amira", "s-amira", "signout")

		// The next worker taps a badge and presses Return in the session.
		finger(h.button("chen"))
		h.m.Emit(started("chen"))
		h.want(ScreenActive, "chen")
		h.focusOnScreen("the next session")
		press(c, fyne.KeyReturn)
		if got, want := h.intents.got(), []string{"signout", "tap chen"}; !slices.Equal(got, want) {
			t.Errorf("intents = %q, want %q: Return in chen's session pressed amira's Sign out", got, want)
		}
		if len(h.apps) != 0 {
			t.Errorf("OnApp calls %q", h.apps)
		}
	})
}

// TestFocusKeptWhileScreenStays: a screen drawn again for the same view (a
// warning, a note, the kiosk going online) keeps the focus on the same
// button, and that is not worker input; a new view (another worker's
// enrollment, say) starts with nothing focused.
func TestFocusKeptWhileScreenStays(t *testing.T) {
	h := newHarness(t, "amira", "ben")
	h.m.Attach(h.w)
	c := h.w.Canvas()
	expires := h.clock.t.Add(time.Hour)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "amira", Role: "Nurse", SessionID: "s1", ExpiresAt: expires,
		Apps: []string{"emr", "timesheet"}})
	press(c, fyne.KeyTab)
	press(c, fyne.KeyTab)
	if got := h.focusedText(); got != "Time sheet" {
		t.Fatalf("focus on %q, want Time sheet", got)
	}
	before := h.intents.activity()
	h.clock.t = expires.Add(-5 * time.Minute)
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "amira", SessionID: "s1", ExpiresAt: expires})
	h.want(ScreenWarning)
	h.focusOnScreen("session.warning")
	if got := h.focusedText(); got != "Time sheet" {
		t.Errorf("after the warning the focus is on %q, want Time sheet", got)
	}
	if h.intents.activity() != before {
		t.Error("drawing the warning counted as worker input")
	}
	press(c, fyne.KeyReturn)
	if !slices.Equal(h.apps, []string{"s1/timesheet"}) {
		t.Errorf("OnApp calls %q, want [s1/timesheet]", h.apps)
	}
	h.endSession("amira", "s1", "expired")

	// The locked screen, drawn again as the kiosk goes online, keeps a
	// badge the worker chose; an enrollment for someone makes it
	// another screen.
	press(c, fyne.KeyTab)
	press(c, fyne.KeyTab)
	h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "north", DeviceName: "Kiosk 1"})
	h.focusOnScreen("connected")
	if got := h.focusedText(); got != "ben" {
		t.Errorf("after connected the focus is on %q, want ben", got)
	}
	h.m.Emit(agent.Event{Event: agent.EventEnrollmentArmed, User: "chen.li", DisplayName: "Chen Li"})
	h.want(ScreenEnrollment)
	if f := c.Focused(); f != nil {
		t.Errorf("the enrollment screen starts with %q focused", h.focusedText())
	}
	press(c, fyne.KeyReturn)
	if got := h.intents.got(); len(got) != 0 {
		t.Errorf("intents = %q, want none", got)
	}
}
