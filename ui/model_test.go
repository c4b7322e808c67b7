package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

type harness struct {
	t       *testing.T
	m       *Model
	w       fyne.Window
	intents *fakeIntents
	clock   *fakeClock
	apps    []string // OnApp calls: session ID/app
}

func newHarness(t *testing.T, badges ...string) *harness {
	t.Helper()
	return newHarnessIn(t, nil, badges...)
}

// newHarnessIn is newHarness with the screen in texts' language (English
// for nil, the Model's default).
func newHarnessIn(t *testing.T, texts *Texts, badges ...string) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(Theme())
	h := &harness{t: t, intents: &fakeIntents{}, clock: &fakeClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}}
	h.m = New(Options{
		Intents: h.intents, Badges: badges, Now: h.clock.now, Location: time.UTC,
		OnApp:     func(sessionID, app string) { h.apps = append(h.apps, sessionID+"/"+app) },
		AppLabels: map[string]string{"timesheet": "Time sheet"},
		Texts:     texts,
	})
	h.w = test.NewTempWindow(t, h.m.Content())
	h.w.Resize(fyne.NewSize(1280, 800))
	return h
}

// texts is every visible label and button text on screen, in tree order.
func (h *harness) texts() []string { return screenTexts(h.m.Content()) }

func (h *harness) want(screen Screen, texts ...string) {
	h.t.Helper()
	if got := h.m.Screen(); got != screen {
		h.t.Errorf("screen = %s, want %s", got, screen)
	}
	got := h.texts()
	for _, w := range texts {
		if !slices.Contains(got, w) {
			h.t.Errorf("screen %s does not show %q; it shows %q", screen, w, got)
		}
	}
}

func (h *harness) button(text string) *button {
	h.t.Helper()
	b := findButton(h.m.Content(), text)
	if b == nil {
		h.t.Fatalf("no button %q on screen %s: %q", text, h.m.Screen(), h.texts())
	}
	return b
}

func TestWholeSession(t *testing.T) {
	h := newHarness(t, "alice", "bob")
	h.want(ScreenLocked, "Tap your badge", "Offline", "08:00", "[alice]", "[bob]")

	h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "Depot North", DeviceName: "Kiosk 3"})
	h.want(ScreenLocked, "Tap your badge", "Online", "Depot North · Kiosk 3")

	test.Tap(h.button("alice"))
	h.want(ScreenVerifying, "Checking your badge…")
	if got, want := h.intents.got(), []string{"tap alice"}; !slices.Equal(got, want) {
		t.Fatalf("intents = %q, want %q", got, want)
	}

	expires := h.clock.t.Add(8 * time.Hour)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "alice", Role: "picker", SessionID: "s1", ExpiresAt: expires, Apps: []string{"scanner", "timesheet"}})
	h.want(ScreenActive, "alice", "picker", "Session ends at 16:00", "[scanner]", "[Time sheet]", "[Sign out]")
	test.Tap(h.button("scanner"))
	if !slices.Equal(h.apps, []string{"s1/scanner"}) {
		t.Errorf("OnApp calls = %q, want [s1/scanner]", h.apps)
	}

	h.clock.t = expires.Add(-5 * time.Minute)
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "alice", SessionID: "s1", ExpiresAt: expires})
	h.want(ScreenWarning, "Your session ends in 5 minutes", "[Sign out]")
	h.clock.t = h.clock.t.Add(61 * time.Second)
	h.m.Tick()
	h.want(ScreenWarning, "Your session ends in 4 minutes")

	// A supervisor extends the shift by an hour: back to the session
	// screen with the new end; its warning comes again later.
	later := expires.Add(time.Hour)
	h.m.Emit(agent.Event{Event: agent.EventSessionExtended, User: "alice", SessionID: "s1", ExpiresAt: later})
	h.want(ScreenActive, "Session ends at 17:00", "[Sign out]")
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "alice", SessionID: "s1", ExpiresAt: later})
	h.want(ScreenWarning, "Your session ends in 64 minutes")
	if slices.Contains(h.texts(), English().OfflineWarningText()) {
		t.Error("a warning for the session's own end says the kiosk is offline")
	}

	// The hub out of reach: the session ends early, and the screen says why
	// until the hub is back.
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "alice", SessionID: "s1", ExpiresAt: later,
		EndsAt: h.clock.t.Add(5 * time.Minute), Reason: wire.ReasonOffline})
	h.want(ScreenWarning, "Your session ends in 5 minutes", "This kiosk cannot reach the server. You will be signed out unless the connection comes back.")
	h.m.Emit(agent.Event{Event: agent.EventSessionExtended, User: "alice", SessionID: "s1", ExpiresAt: later, Reason: agent.ExtendedReconnected})
	h.want(ScreenActive, "Session ends at 17:00")
	if slices.Contains(h.texts(), English().OfflineWarningText()) {
		t.Error("the offline warning stays after the hub came back")
	}
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "alice", SessionID: "s1", ExpiresAt: later})
	h.want(ScreenWarning, "Your session ends in 64 minutes")

	test.Tap(h.button("Sign out"))
	if got := h.intents.got(); got[len(got)-1] != "signout" {
		t.Fatalf("intents = %q, want a signout last", got)
	}
	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "alice", SessionID: "s1", Reason: "signout"})
	h.want(ScreenEnded, "Signed out", "[alice]")

	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge", "Online")

	h.m.Emit(agent.Event{Event: agent.EventDisconnected})
	h.want(ScreenLocked, "Offline")
}

func TestEndedReasons(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{"signout", "Signed out"},
		{"shift_end", "Your shift has ended"},
		{"deprovisioned", "Access removed by your organisation"},
		{"entitlement_removed", "Access removed by your organisation"},
		{"credential_revoked", "Access removed by your organisation"},
		{"forced", "Signed out by a supervisor"},
		{"expired", "Session expired"},
		{"device_disabled", "This kiosk has been disabled"},
		{"idle", "Signed out after inactivity"},
		{"something_new", "Signed out"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			h := newHarness(t)
			h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "bob", Role: "driver", ExpiresAt: h.clock.t.Add(time.Hour)})
			h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "bob", Reason: tc.reason})
			h.want(ScreenEnded, tc.want)
			if slices.Contains(h.texts(), "bob") {
				t.Errorf("ended screen still shows the user: %q", h.texts())
			}
		})
	}
}

func TestRefusedReasons(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{"not_recognised", "Badge not recognised. Ask your supervisor."},
		{"not_allowed_here", "You can't sign in at this kiosk."},
		{"outside_shift", "You're not on shift right now."},
		{"verification_required", "Your PIN or fingerprint is needed."},
		{"challenge_expired", "Try again"},
		{"hub_unreachable", "Try again"},
		{"error", "Try again"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			h := newHarness(t, "carol")
			test.Tap(h.button("carol"))
			h.m.Emit(agent.Event{Event: agent.EventLoginRefused, Reason: tc.reason})
			h.want(ScreenRefused, tc.want, "[carol]")
			for _, s := range h.texts() {
				if strings.Contains(s, tc.reason) {
					t.Errorf("screen shows the raw reason: %q", s)
				}
			}
		})
	}
}

func TestKeyboard(t *testing.T) {
	h := newHarness(t, "dave")
	b := h.button("dave")
	b.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.want(ScreenVerifying)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "dave", Role: "picker", SessionID: "s1", ExpiresAt: h.clock.t.Add(time.Hour), Apps: []string{"scanner"}})

	test.FocusNext(h.w.Canvas())
	if h.w.Canvas().Focused() == nil {
		t.Fatal("Tab focuses nothing on the active screen")
	}
	h.w.Canvas().Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if !slices.Equal(h.apps, []string{"s1/scanner"}) {
		t.Errorf("Space on the focused app button: OnApp calls = %q", h.apps)
	}
	h.w.Canvas().Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	h.m.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if got, want := h.intents.got(), []string{"tap dave", "signout", "signout"}; !slices.Equal(got, want) {
		t.Errorf("intents = %q, want %q", got, want)
	}
}

func TestTouchTargets(t *testing.T) {
	h := newHarness(t, "erin")
	if s := h.button("erin").MinSize(); s.Height < MinButtonHeight {
		t.Errorf("badge button is %v high, want at least %d", s.Height, MinButtonHeight)
	}
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "erin", Role: "picker", ExpiresAt: h.clock.t.Add(time.Hour)})
	if s := h.button("Sign out").Size(); s.Height < MinButtonHeight {
		t.Errorf("Sign out is %v high, want at least %d", s.Height, MinButtonHeight)
	}
	img := h.w.Canvas().Capture()
	if b := img.Bounds(); b.Dx() < 1000 {
		t.Errorf("capture is %v", b)
	}
}

func TestVerifyingTimesOut(t *testing.T) {
	h := newHarness(t, "frank")
	test.Tap(h.button("frank"))
	h.clock.t = h.clock.t.Add(DefaultVerifyingFor)
	h.m.Tick()
	h.want(ScreenLocked, "Tap your badge")
	if got := h.intents.got(); len(got) != 1 {
		t.Errorf("intents = %q, want one tap", got)
	}
}

// With a hardware reader (no virtual badges) the locked screen only says
// what to do, and the agent's badge.read brings the verifying screen: a
// login, or a registration while an enrollment is armed. The screen sends
// no intent for it: the agent already started the tap.
func TestHardwareReader(t *testing.T) {
	h := newHarness(t) // --authenticator fido2: no --badges
	h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "Ward 3", DeviceName: "Kiosk 1"})
	h.want(ScreenLocked, "Tap your badge", "Online")
	if b := findButton(h.m.Content(), "Demo badges:"); b != nil || slices.Contains(h.texts(), "Demo badges:") {
		t.Fatalf("locked screen offers virtual badges: %q", h.texts())
	}

	h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
	h.want(ScreenVerifying, "Checking your badge…")
	h.m.Emit(agent.Event{Event: agent.EventLoginRefused, Reason: "not_recognised"})
	h.want(ScreenRefused, "Badge not recognised. Ask your supervisor.")

	// A refusal screen is not a reason to ignore the next badge.
	h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
	h.want(ScreenVerifying, "Checking your badge…")
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ana", DisplayName: "Ana Lima", Role: "Nurse", SessionID: "s1", ExpiresAt: h.clock.t.Add(time.Hour)})
	h.want(ScreenActive, "Ana Lima")

	// During a session, a registration's badge.read leaves the session
	// screen where it is.
	h.m.Emit(agent.Event{Event: agent.EventEnrollmentArmed, User: "ben", DisplayName: "Ben Okafor"})
	h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
	h.want(ScreenActive, "Ana Lima")

	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "ana", SessionID: "s1", Reason: "signout"})
	h.clock.t = h.clock.t.Add(DefaultMessageFor)
	h.m.Tick()
	h.want(ScreenEnrollment)
	h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
	h.want(ScreenVerifying, "Enrolling the badge…")
	if got := h.intents.got(); len(got) != 0 {
		t.Errorf("intents = %q; badge.read must not tap again", got)
	}
}

// TestCountdownToEndsAt: the screen counts down to when the agent will end
// the session by this kiosk's clock (ends_at), not to the hub's expires_at:
// with the kiosk 2 minutes behind the hub, the session ends 2 minutes
// before expires_at reads on the kiosk's clock.
func TestCountdownToEndsAt(t *testing.T) {
	h := newHarness(t)
	expires := h.clock.t.Add(8 * time.Hour)
	ends := expires.Add(-2 * time.Minute)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "alice", Role: "picker", SessionID: "s1", ExpiresAt: expires, EndsAt: ends})
	h.want(ScreenActive, "Session ends at 15:58")
	h.clock.t = ends.Add(-5 * time.Minute)
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "alice", SessionID: "s1", ExpiresAt: expires, EndsAt: ends})
	h.want(ScreenWarning, "Your session ends in 5 minutes")
	later := expires.Add(time.Hour)
	h.m.Emit(agent.Event{Event: agent.EventSessionExtended, User: "alice", SessionID: "s1", ExpiresAt: later, EndsAt: later.Add(-2 * time.Minute)})
	h.want(ScreenActive, "Session ends at 16:58")
}
