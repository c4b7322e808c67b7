package ui

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/shiftgate/shiftgate/agent"
)

// TestHubValuesArePlain: a name from the hub goes on screen without bidi
// controls, alone or in a sentence, so that a user name with U+202E
// RIGHT-TO-LEFT OVERRIDE does not turn round the rest of a translated
// sentence ("Ausweis für {name} registriert"); control characters become
// spaces. Letters of a right-to-left script stay as they are.
func TestHubValuesArePlain(t *testing.T) {
	de, err := NewTexts("de")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want string }{
		{de.EnrolledMessage("\u202eadmin").Title, "Ausweis für admin registriert"},
		{de.EnrollPrompt("Ana\u2066 Lima\u2069").Title, "Registrierung: Ausweis für Ana Lima vorhalten"},
		{English().EnrolledMessage("Ana\nLima\t").Title, "Badge enrolled for Ana Lima"},
		{English().EnrolledMessage("محمد علي").Title, "Badge enrolled for محمد علي"},
		{English().PlaceText("North\u202e", "kiosk\u200f 1"), "North · kiosk 1"},
		{English().PlaceText("", "\u202ekiosk"), "kiosk"},
		{English().PlaceText("\u202eNorth", ""), "North"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}

	h := newHarness(t)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "\u202eana", Role: "Nurse\u202e", SessionID: "s1",
		ExpiresAt: h.clock.t.Add(8 * time.Hour)})
	h.want(ScreenActive, "ana", "Nurse")
	for _, s := range h.texts() {
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }) {
			t.Errorf("the session screen shows %q", s)
		}
	}
}

// TestLargeCounts: French and Spanish have a CLDR "many" form for
// millions ("un million de minutes"), which takes "de" after the word, not
// after digits: the countdown writes digits, so "many" says what "other"
// says.
func TestLargeCounts(t *testing.T) {
	for lang, want := range map[string]string{
		"fr": "Votre session se termine dans 1000000 minutes",
		"es": "Su sesión termina en 1000000 minutos",
	} {
		tx, err := NewTexts(lang)
		if err != nil {
			t.Fatal(err)
		}
		if got := tx.plural("countdown.minutes", 1_000_000); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
		if got := tx.plural("countdown.seconds", 2_000_000); strings.Contains(got, " de ") {
			t.Errorf("%s: %q", lang, got)
		}
	}
}

// TestPlainWords: the screen speaks to frontline workers: no text in any
// language says "hub" (the server, to them), and Polish addresses the
// worker without a verb form that takes a gender ("Zostaniesz
// wylogowany" is for men only).
func TestPlainWords(t *testing.T) {
	hub := regexp.MustCompile(`(?i)\bhub\b`)
	gendered := regexp.MustCompile(`(?i)\b(zostaniesz|zostałeś|zostałaś|byłeś|byłaś|wylogowany|wylogowana|zalogowany|zalogowana)\b`)
	for _, lang := range Languages() {
		var texts []string
		if lang == sourceLanguage {
			for _, m := range english() {
				texts = append(texts, m.Other, m.One)
			}
		} else {
			for _, m := range translationFile(t, lang) {
				for _, s := range forms(m) {
					texts = append(texts, s)
				}
			}
		}
		for _, s := range texts {
			if hub.MatchString(s) {
				t.Errorf("%s: %q says hub", lang, s)
			}
			if lang == "pl" && gendered.MatchString(s) {
				t.Errorf("pl: %q addresses the worker as a man or a woman", s)
			}
		}
	}
}

// TestResolveKeepsScript: a language the kiosk has no texts in falls back
// to its base language only when that is written in the same script:
// Traditional Chinese (zh-Hant, zh-TW) is not shown Simplified (zh),
// Latin Serbian (sr-Latn) not Cyrillic (sr).
func TestResolveKeepsScript(t *testing.T) {
	have := []string{"de", "en", "pt", "sr", "zh"}
	for _, tc := range []struct{ lang, want string }{
		{"de-AT", "de"}, {"de-Latn-AT", "de"}, {"pt-BR", "pt"}, {"en-GB", "en"},
		{"zh-CN", "zh"}, {"zh-Hans-CN", "zh"}, {"sr-RS", "sr"}, {"sr-Cyrl-RS", "sr"},
		{"zh-Hant-TW", ""}, {"zh-TW", ""}, {"zh-Hant", ""}, {"sr-Latn-RS", ""}, {"sr-Latn", ""},
	} {
		got, err := resolve(tc.lang, have)
		switch {
		case tc.want == "" && !errors.Is(err, ErrUnknownLanguage):
			t.Errorf("resolve(%q) = %q, %v; want ErrUnknownLanguage", tc.lang, got, err)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("resolve(%q) = %q, %v; want %s", tc.lang, got, err, tc.want)
		}
	}
}
