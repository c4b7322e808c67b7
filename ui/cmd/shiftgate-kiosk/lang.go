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
//   - otherwise the languages of the process's locale for messages, as GNU
//     gettext (and so every other program on the kiosk) picks them
//     (localeLanguages): the first the kiosk has texts in, or their base
//     language (pt_BR → pt), and English if it has none of them, for the C
//     and POSIX locales, and with no locale set. The locale is the
//     machine's, not a choice made for the kiosk, so it never stops the
//     kiosk.
func chooseTexts(lang string, getenv func(string) string) (*ui.Texts, error) {
	if lang != "" {
		t, err := ui.NewTexts(lang)
		if err != nil {
			return nil, fmt.Errorf("--lang %s: %w", lang, err)
		}
		return t, nil
	}
	for _, tag := range localeLanguages(getenv) {
		if tag == "" {
			break // C in LANGUAGE: untranslated, as gettext does
		}
		if t, err := ui.NewTexts(tag); err == nil {
			return t, nil
		}
	}
	return ui.English(), nil
}

// localeLanguages are the BCP 47 tags of the languages for messages, in
// the order GNU gettext tries them: the colon-separated list in LANGUAGE
// (a user's or an image's choice of languages, "pl:de"), then the locale
// for messages (messagesLocale). LANGUAGE is ignored, as gettext ignores
// it, when that locale is C or POSIX or not set: none at all for those. A
// "" in the list stands for a C or POSIX entry in LANGUAGE, where gettext
// stops and shows the untranslated (English) texts.
func localeLanguages(getenv func(string) string) []string {
	locale := localeLanguage(messagesLocale(getenv))
	if locale == "" {
		return nil
	}
	var tags []string
	for entry := range strings.SplitSeq(getenv("LANGUAGE"), ":") {
		switch {
		case entry == "":
		case isCLocale(entry):
			tags = append(tags, "")
		default:
			tags = append(tags, localeLanguage(entry))
		}
	}
	return append(tags, locale)
}

// messagesLocale is the process's locale for messages as POSIX setlocale
// reads it: the first of LC_ALL, LC_MESSAGES and LANG that is set and not
// empty, or "".
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
// "pl_PL" → "pl-PL", "fr" → "fr"; a modifier that names a script goes in
// as its subtag ("sr_RS@latin" → "sr-Latn-RS"), other modifiers ("@euro")
// are dropped. It is "" for C and POSIX (C.UTF-8 included), which are
// English, and for "".
func localeLanguage(locale string) string {
	if isCLocale(locale) {
		return ""
	}
	name, modifier, _ := strings.Cut(locale, "@")
	name, _, _ = strings.Cut(name, ".")
	lang, territory, _ := strings.Cut(name, "_")
	parts := []string{lang}
	if s := modifierScript(modifier); s != "" {
		parts = append(parts, s)
	}
	if territory != "" {
		parts = append(parts, strings.ReplaceAll(territory, "_", "-"))
	}
	return strings.Join(parts, "-")
}

// isCLocale reports whether locale is C or POSIX (C.UTF-8 included), or
// empty.
func isCLocale(locale string) bool {
	name, _, _ := strings.Cut(locale, "@")
	name, _, _ = strings.Cut(name, ".")
	return name == "" || name == "C" || name == "POSIX"
}

// modifierScript is the ISO 15924 script a glibc locale modifier names
// (sr_RS@latin, uz_UZ@cyrillic, sd_IN@devanagari), or "".
func modifierScript(modifier string) string {
	switch modifier {
	case "latin":
		return "Latn"
	case "cyrillic":
		return "Cyrl"
	case "devanagari":
		return "Deva"
	}
	return ""
}
