package ui

import (
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/agent"
)

// A badge that cannot hold a kiosk credential (it stores none, or has no
// room left) cannot be enrolled however often it is tapped: the screen
// says to use another badge or ask the supervisor, never to tap it again.
// The agent keeps the enrollment armed, so the prompt comes back for that
// other badge.
func TestEnrollUnusableBadge(t *testing.T) {
	for _, tc := range []struct{ reason, title string }{
		{agent.RegisterResidentKeyUnsupported, "This type of badge cannot be enrolled"},
		{agent.RegisterKeyStoreFull, "This badge is full"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			h := newHarness(t, "blue")
			h.m.Emit(armed("ana", "Ana Lima"))
			h.m.Emit(agent.Event{Event: agent.EventCredentialRefused, User: "ana", DisplayName: "Ana Lima", Reason: tc.reason})
			h.want(ScreenEnrollFailed, tc.title, "Tap a different badge, or ask your supervisor for one.")
			if slices.Contains(h.texts(), "Tap the badge again.") {
				t.Errorf("the screen says to tap the unusable badge again: %q", h.texts())
			}
			h.clock.t = h.clock.t.Add(DefaultMessageFor)
			h.m.Tick()
			h.want(ScreenEnrollment, "Enrollment: tap the badge for Ana Lima")
		})
	}
}

// The same, translated: each language says it in its own words, and none
// falls back on the generic "tap again".
func TestEnrollUnusableBadgeTranslated(t *testing.T) {
	english, err := NewTexts("en")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range translatedLanguages() {
		texts, err := NewTexts(lang)
		if err != nil {
			t.Fatal(err)
		}
		again := texts.EnrollRefusedMessage(agent.RegisterError)
		for _, reason := range []string{agent.RegisterResidentKeyUnsupported, agent.RegisterKeyStoreFull} {
			m := texts.EnrollRefusedMessage(reason)
			en := english.EnrollRefusedMessage(reason)
			if m.Title == "" || m.Detail == "" || m.Title == en.Title || m.Detail == en.Detail {
				t.Errorf("%s, %s: %+v is not a translation of %+v", lang, reason, m, en)
			}
			if m.Title == again.Title || m.Detail == again.Detail {
				t.Errorf("%s, %s: %+v says what a badge error says (%+v)", lang, reason, m, again)
			}
		}
	}
}
