package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/shiftgate/shiftgate/agent"
)

// shownRunes is the most characters of a value from the hub that the screen
// shows, as the agent cuts display names.
const shownRunes = 64

// TestLongHubValuesFit: the agent cuts display names at 64 characters,
// but passes on the user name (shown when the hub gives no display name),
// the role and the site and kiosk names as the hub gives them. However
// long they are, the screen shows them cut at 64 characters, and every
// screen still fits the smallest panel: the session's apps stay in reach
// and the enrollment prompt and Sign out on screen.
func TestLongHubValuesFit(t *testing.T) {
	long := func(c string) string { return strings.Repeat(c, 500) }
	cut := func(c string) string { return strings.Repeat(c, shownRunes-1) + "…" }
	connected := agent.Event{Event: agent.EventConnected, Site: long("S"), DeviceName: long("K")}
	expires := time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)
	started := agent.Event{Event: agent.EventSessionStarted, User: long("u"), Role: long("r"),
		SessionID: "s1", ExpiresAt: expires, Apps: []string{"emr", "timesheet"}}
	warning := agent.Event{Event: agent.EventSessionWarning, SessionID: "s1", ExpiresAt: expires}
	enroll := armed(long("e"), "")
	for _, tc := range []struct {
		name   string
		events []agent.Event
		want   Screen
		shows  []string
	}{
		{"locked", []agent.Event{connected}, ScreenLocked, []string{English().PlaceText(cut("S"), cut("K"))}},
		{"enrollment", []agent.Event{connected, enroll}, ScreenEnrollment, []string{English().EnrollPrompt(cut("e")).Title}},
		{"session", []agent.Event{connected, started}, ScreenActive, []string{cut("u"), cut("r"), "[emr]", "[Sign out]"}},
		{"warning, enrollment armed", []agent.Event{connected, started, warning, enroll}, ScreenWarning,
			[]string{cut("u"), English().EnrollPrompt(cut("e")).Title, "[Sign out]"}},
		{"enrolled", []agent.Event{connected, enroll, {Event: agent.EventCredentialRegistered, User: long("e")}}, ScreenEnrolled,
			[]string{English().EnrolledMessage(cut("e")).Title}},
	} {
		for _, size := range []fyne.Size{{Width: 1280, Height: 800}, {Width: 853, Height: 480}, {Width: 800, Height: 480}} {
			t.Run(fmt.Sprintf("%s/%vx%v", tc.name, size.Width, size.Height), func(t *testing.T) {
				h := newHarness(t, "amira", "chen")
				h.w.Resize(size)
				for _, e := range tc.events {
					h.m.Emit(e)
				}
				h.want(tc.want, tc.shows...)
				for _, s := range h.texts() {
					if strings.Contains(s, strings.Repeat("u", shownRunes)) || strings.Contains(s, strings.Repeat("e", shownRunes)) {
						t.Errorf("a value is shown uncut: %q", s)
					}
				}
				if got := h.w.Canvas().Size(); got != size {
					t.Fatalf("the window is %v, not %v: the screen needs %v", got, size, h.m.Content().MinSize())
				}
				checkLayout(t, h, tc.name)
			})
		}
	}
}

// TestLongEnrolleeFits: the enrollment prompt and its outcome say the
// worker's name in large type; with a name as long as the agent lets
// through (64 characters) they took four lines, and on the rpi5-touch
// profile's panel (853×480) and an 800×480 one were drawn over the header
// and the badges. They scroll in the space between instead.
func TestLongEnrolleeFits(t *testing.T) {
	name := "Maria-Fernanda Alessandra Oyelaran-Vasquez de la Torre Nakamura"
	for _, lang := range []string{"en", "de", "fr"} {
		tx, err := NewTexts(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []fyne.Size{{Width: 1280, Height: 800}, {Width: 853, Height: 480}, {Width: 800, Height: 480}} {
			t.Run(fmt.Sprintf("%s/%vx%v", lang, size.Width, size.Height), func(t *testing.T) {
				h := newHarnessIn(t, tx, "amira", "chen", "ben", "visitor")
				h.w.Resize(size)
				h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "north-ward", DeviceName: "north-ward-1"})
				h.m.Emit(armed("maria", name))
				h.want(ScreenEnrollment, tx.EnrollPrompt(name).Title, "[amira]")
				checkLayout(t, h, "enrollment")
				h.m.Emit(agent.Event{Event: agent.EventCredentialRegistered, User: "maria", DisplayName: name})
				h.want(ScreenEnrolled, tx.EnrolledMessage(name).Title, "[amira]")
				checkLayout(t, h, "enrolled")
			})
		}
	}
}

// TestPlainDropsInvisibleCharacters: format characters that draw nothing
// (zero-width space and joiners, byte order mark, word joiner, tag
// characters) do not reach the screen, so that two names that look alike
// are shown alike, as the agent already does for display names.
func TestPlainDropsInvisibleCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"Amira\u200b Haddad":            "Amira Haddad",
		"\ufeffAmira\u2060Haddad":       "AmiraHaddad",
		"Nurse\U000E0041\U000E0042":     "Nurse",
		"Amira\u2028Signed out":         "Amira Signed out",
		"Ami\u202era":                   "Amira",
		"عمیرة حداد":                    "عمیرة حداد",
		strings.Repeat("ab ", 40):       strings.TrimSpace(strings.Repeat("ab ", 21)) + "…",
		strings.Repeat("é", shownRunes): strings.Repeat("é", shownRunes),
	} {
		if got := plain(in); got != want {
			t.Errorf("plain(%q) = %q, want %q", in, got, want)
		}
		if n := len([]rune(plain(in))); n > shownRunes {
			t.Errorf("plain(%q) has %d characters", in, n)
		}
	}
}
