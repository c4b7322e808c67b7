package main

import (
	"fmt"
	"strings"

	"github.com/shiftgate/shiftgate/ui"
)

// chooseTexts is the language of the kiosk's screen. A kiosk shows one
// language, the site's:
//
//   - lang (--lang), a BCP 47 tag, if given: a language the kiosk has
//     texts in, or a regional variant of one (de-AT shows de). Any other
//     is an error naming the languages there are: a language asked for by
//     name does not silently become English.
//   - otherwise the language of the process's locale for messages
//     (messagesLocale: LC_ALL, LC_MESSAGES, LANG), or its base language
//     (pt_BR → pt), and English if the kiosk has neither, for the C and
//     POSIX locales, and with no locale set. The locale is the machine's,
//     not a choice made for the kiosk, so it never stops the kiosk.
func chooseTexts(lang string, getenv func(string) string) (*ui.Texts, error) {
	if lang != "" {
		t, err := ui.NewTexts(lang)
		if err != nil {
			return nil, fmt.Errorf("--lang %s: %w", lang, err)
		}
		return t, nil
	}
	if tag := localeLanguage(messagesLocale(getenv)); tag != "" {
		if t, err := ui.NewTexts(tag); err == nil {
			return t, nil
		}
	}
	return ui.English(), nil
}

// messagesLocale is the process's locale for messages as POSIX setlocale
// reads it: the first of LC_ALL, LC_MESSAGES and LANG that is set and not
// empty, or "". (GNU gettext's LANGUAGE list is not read.)
func messagesLocale(getenv func(string) string) string {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(name); v != "" {
			return v
		}
	}
	return ""
}

// localeLanguage is the BCP 47 tag of the language of a POSIX locale name,
// language[_territory][.codeset][@modifier]: "de_DE.UTF-8" → "de-DE",
// "pl_PL" → "pl-PL", "fr" → "fr". It is "" for C and POSIX (C.UTF-8
// included), which are English, and for "".
func localeLanguage(locale string) string {
	name, _, _ := strings.Cut(locale, "@")
	name, _, _ = strings.Cut(name, ".")
	if name == "C" || name == "POSIX" {
		return ""
	}
	return strings.ReplaceAll(name, "_", "-")
}
