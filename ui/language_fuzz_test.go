package ui

import (
	"errors"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzNewTexts: the screen's language comes from --lang or the locale's
// variables. NewTexts refuses a tag with an error wrapping
// ErrUnknownLanguage, in valid UTF-8 (it is printed as a usage error);
// what it accepts is a language the kiosk has texts in, which asked for
// by name gives the same texts again.
func FuzzNewTexts(f *testing.F) {
	for _, s := range []string{"de", "de-AT", "pt-BR", "en-GB", "zh-Hant-TW", "zh-TW", "sr-Latn", "sr-Latn-RS", "xx", "",
		"C", "de_DE.UTF-8", "en-US-u-va-posix", "\xff", "i-klingon", "x-private"} {
		f.Add(s)
	}
	have := Languages()
	f.Fuzz(func(t *testing.T, lang string) {
		texts, err := NewTexts(lang)
		if err != nil {
			if !errors.Is(err, ErrUnknownLanguage) || !utf8.ValidString(err.Error()) {
				t.Fatalf("NewTexts(%q) error %q does not wrap ErrUnknownLanguage in valid UTF-8", lang, err)
			}
			return
		}
		got := texts.Language()
		if !slices.Contains(have, got) {
			t.Fatalf("NewTexts(%q) = texts in %q; the kiosk has %v", lang, got, have)
		}
		again, err := NewTexts(got)
		if err != nil || again.Language() != got {
			t.Fatalf("NewTexts(%q) = %q, which asked for by name gives %v, %v", lang, got, again, err)
		}
	})
}
