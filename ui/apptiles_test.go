package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"github.com/shiftgate/shiftgate/agent"
)

// TestAppLabelsFitTheirTiles: an app's button shows its label whole, also a
// label longer than the standard tile ("Medication administration", 25
// characters, needs more than its 280 units at the kiosk's text size), so
// that it is not drawn over the next app's button. A label too long even
// for a double-width tile (an app ID of 63 characters, the most the hub
// takes, shown when the profile has no label for it) is cut with "…".
func TestAppLabelsFitTheirTiles(t *testing.T) {
	longID := "medication-administration-record-and-barcode-scanning-workflow1" // 63
	for _, size := range []fyne.Size{{Width: 1280, Height: 800}, {Width: 853, Height: 480}, {Width: 800, Height: 480}} {
		t.Run(fmt.Sprintf("%vx%v", size.Width, size.Height), func(t *testing.T) {
			h := newHarness(t, "amira")
			h.m.opt.AppLabels = map[string]string{"mar": "Medication administration", "sop": "Work instructions", "ehr": "Patient record"}
			h.w.Resize(size)
			h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ana", Role: "Nurse", SessionID: "s1",
				ExpiresAt: h.clock.t.Add(8 * time.Hour), Apps: []string{"ehr", "mar", "sop", longID}})
			h.want(ScreenActive, "[Medication administration]", "[Work instructions]", "[Patient record]")
			var cut string
			for _, s := range h.texts() {
				if strings.HasPrefix(s, "[medication-") {
					cut = s
				}
			}
			if !strings.HasSuffix(cut, "…]") || len([]rune(cut)) >= len(longID)+2 {
				t.Errorf("the 63-character app ID is shown as %q, not cut", cut)
			}
			if got := h.w.Canvas().Size(); got != size {
				t.Fatalf("the window is %v, not %v: the screen needs %v", got, size, h.m.Content().MinSize())
			}
			checkLayout(t, h, "active")
			b := findButton(h.m.Content(), strings.TrimSuffix(strings.TrimPrefix(cut, "["), "]"))
			if b == nil {
				t.Fatal("no button for the long app ID")
			}
			finger(b)
			if !slices.Equal(h.apps, []string{"s1/" + longID}) {
				t.Errorf("its button opens %q, want the app's whole ID", h.apps)
			}
		})
	}
}

// TestTabShowsTheFocusedApp: on a small panel the session's apps scroll
// under the worker's name; Tab moving the focus to an app below the fold
// scrolls it into sight, as it does going back up with Shift+Tab, so a
// keyboard-only worker sees which app Enter would open. The focus kept
// over a redraw (a warning) keeps the app in sight too.
func TestTabShowsTheFocusedApp(t *testing.T) {
	h := newHarness(t)
	h.m.Attach(h.w)
	h.w.Resize(fyne.NewSize(853, 480))
	var apps []string
	for i := range 12 {
		apps = append(apps, fmt.Sprintf("app%d", i))
	}
	expires := h.clock.t.Add(8 * time.Hour)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ana", Role: "Nurse", SessionID: "s1", ExpiresAt: expires, Apps: apps})
	inSight := func(when string) {
		t.Helper()
		b, ok := h.w.Canvas().Focused().(*button)
		if !ok {
			t.Fatalf("%s: no button has the focus", when)
		}
		for _, p := range layoutOf(h.m.Content()) {
			if p.what == fmt.Sprintf("button %q", b.Text) && p.scroll != nil && !p.rect().inside(p.viewport) {
				t.Errorf("%s: the focused %s is at %v, out of sight of its scroll container's %v", when, p.what, p.rect(), p.viewport)
			}
		}
	}
	for i := range apps {
		press(h.w.Canvas(), fyne.KeyTab)
		inSight(fmt.Sprintf("Tab %d", i+1))
	}
	h.clock.t = expires.Add(-5 * time.Minute)
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "ana", SessionID: "s1", ExpiresAt: expires})
	if got := h.focusedText(); got != "app11" {
		t.Fatalf("after the warning the focus is on %q, want app11", got)
	}
	inSight("after the warning")
	for i := range apps {
		h.w.Canvas().FocusPrevious() // Shift+Tab
		inSight(fmt.Sprintf("Shift+Tab %d", i+1))
	}
	if got := h.focusedText(); got != "Sign out" {
		t.Fatalf("after 12 Shift+Tab the focus is on %q, want Sign out (after app0, round)", got)
	}
}

// TestAppIDsArePlain: an app without a label in the profile shows its ID
// as the hub sent it; like every other name from the hub it is shown
// without bidi controls, which would turn round the buttons' text.
func TestAppIDsArePlain(t *testing.T) {
	h := newHarness(t)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ana", Role: "Nurse", SessionID: "s1",
		ExpiresAt: h.clock.t.Add(8 * time.Hour), Apps: []string{"\u202eemr", "lab\u200b"}})
	h.want(ScreenActive, "[emr]", "[lab]")
	finger(h.button("emr"))
	if !slices.Equal(h.apps, []string{"s1/\u202eemr"}) {
		t.Errorf("OnApp calls = %q, want the ID as the hub sent it", h.apps)
	}
}

// TestRedrawKeepsTheAppsScrolled: a worker who scrolled the apps on a
// small panel keeps them where they are when the screen is drawn again for
// the same session (the shift-end warning, an enrollment's note): the
// screen jumping back to the top moves the apps under the worker's finger
// as they tap. A new session starts at the top.
func TestRedrawKeepsTheAppsScrolled(t *testing.T) {
	h := newHarness(t)
	h.w.Resize(fyne.NewSize(853, 480))
	var apps []string
	for i := range 12 {
		apps = append(apps, fmt.Sprintf("app%d", i))
	}
	expires := h.clock.t.Add(8 * time.Hour)
	started := agent.Event{Event: agent.EventSessionStarted, User: "ana", Role: "Nurse", SessionID: "s1", ExpiresAt: expires, Apps: apps}
	h.m.Emit(started)
	scroll := func() *container.Scroll {
		t.Helper()
		for _, p := range layoutOf(h.m.Content()) {
			if p.scroll != nil && p.what == `button "app0"` {
				return p.scroll
			}
		}
		t.Fatal("the apps are not in a scroll container")
		return nil
	}
	scroll().Scrolled(&fyne.ScrollEvent{Scrolled: fyne.Delta{DY: -400}})
	at := scroll().Offset
	if at.Y <= 0 {
		t.Fatalf("the apps did not scroll: %v", at)
	}
	h.clock.t = expires.Add(-5 * time.Minute)
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "ana", SessionID: "s1", ExpiresAt: expires})
	h.want(ScreenWarning, "Your session ends in 5 minutes")
	if got := scroll().Offset; got != at {
		t.Errorf("after the warning the apps are scrolled to %v, not %v as the worker left them", got, at)
	}
	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, SessionID: "s1", Reason: "signout"})
	started.SessionID = "s2"
	h.m.Emit(started)
	if got := scroll().Offset; got.Y != 0 {
		t.Errorf("the next session's apps are scrolled to %v, not the top", got)
	}
}
