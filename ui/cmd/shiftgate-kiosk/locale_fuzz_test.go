package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/ui"
)

// FuzzChooseTexts: without --lang the screen's language comes from the
// locale's variables (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), which are the
// machine's, not a choice made for the kiosk: whatever they hold, the
// kiosk starts, in a language it has texts in, and in English for the C
// and POSIX locales and with no locale set.
func FuzzChooseTexts(f *testing.F) {
	for _, env := range [][4]string{
		{"", "", "", ""}, {"pl:de", "", "", "de_DE.UTF-8"}, {"", "C.UTF-8", "", "de_DE.UTF-8"}, {"C:de", "", "", "de_DE"},
		{"", "", "pt_BR.UTF-8", ""}, {"", "", "", "sr_RS@latin"}, {"de", "POSIX", "", ""}, {"", "", "", "zh_TW.Big5"},
		{"::", "", "", "x_\xff@euro"},
	} {
		f.Add(env[0], env[1], env[2], env[3])
	}
	have := ui.Languages()
	f.Fuzz(func(t *testing.T, language, lcAll, lcMessages, lang string) {
		vars := map[string]string{"LANGUAGE": language, "LC_ALL": lcAll, "LC_MESSAGES": lcMessages, "LANG": lang}
		getenv := func(name string) string { return vars[name] }
		texts, err := chooseTexts("", getenv)
		if err != nil || texts == nil {
			t.Fatalf("chooseTexts with locale %q: %v, %v; the locale never stops the kiosk", vars, texts, err)
		}
		if !slices.Contains(have, texts.Language()) {
			t.Fatalf("chooseTexts with locale %q = texts in %q; the kiosk has %v", vars, texts.Language(), have)
		}
		if isCLocale(messagesLocale(getenv)) && texts.Language() != ui.English().Language() {
			t.Fatalf("chooseTexts with the C locale %q = %q; want English", vars, texts.Language())
		}
		for _, tag := range localeLanguages(getenv) {
			if strings.ContainsAny(tag, "_.@") {
				t.Fatalf("locale %q gave %q: not a BCP 47 tag's form", vars, tag)
			}
		}
	})
}
