package ui

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"
)

// The kiosk's languages: English, the source (english in messages.go),
// and one file per translation in translations/, named by its BCP 47 tag
// (de.json). A file is go-i18n's JSON: message ID → text, or for a text
// that counts → its CLDR plural forms ({"one": …, "few": …, "many": …,
// "other": …}). Texts take no Go templates: values go in through the
// same named placeholders as in English ({name}, {count}; see fill).
//
//go:embed translations/*.json
var translations embed.FS

// sourceLanguage is the tag of the language of the texts in messages.go.
const sourceLanguage = "en"

// ErrUnknownLanguage is NewTexts' error for a language the kiosk has no
// texts in.
var ErrUnknownLanguage = errors.New("unknown language")

// Texts is every text of the kiosk screen in one language. Plural forms
// follow that language's CLDR rules (go-i18n): "1 minutę", "2 minuty",
// "5 minut" in Polish. A *Texts is safe for use by several goroutines.
type Texts struct {
	lang string
	loc  *i18n.Localizer
}

// English returns the texts in English, the language the others are
// translated from. It needs no translation file and cannot fail.
func English() *Texts {
	return &Texts{lang: sourceLanguage, loc: i18n.NewLocalizer(source(), sourceLanguage)}
}

// source is a bundle of the English texts alone.
func source() *i18n.Bundle {
	b := i18n.NewBundle(language.English)
	b.MustAddMessages(language.English, english()...) // cannot fail: go-i18n has English's plural rule
	return b
}

// Languages returns the BCP 47 tags of the languages the kiosk has texts
// in, sorted: English and one per file in translations/.
func Languages() []string {
	langs := []string{sourceLanguage}
	files, _ := fs.Glob(translations, "translations/*.json") // fails only on a malformed pattern
	for _, f := range files {
		langs = append(langs, strings.TrimSuffix(path.Base(f), ".json"))
	}
	slices.Sort(langs)
	return slices.Compact(langs)
}

// NewTexts returns the texts in lang, a BCP 47 tag ("de", "pt-BR"), or,
// when the kiosk has none in that exact language, in its base language
// ("pt-BR" → "pt", "en-GB" → "en") if that is written in the same script
// ("zh-Hant-TW" or "zh-TW" never shows "zh", which is Simplified Chinese,
// nor "sr-Latn" "sr", which is Cyrillic). A tag that is not well-formed, or
// a language the kiosk has no texts in, is an error wrapping
// ErrUnknownLanguage that names the languages there are. Falling back to
// English is the caller's choice: a language asked for explicitly should
// not silently become another.
func NewTexts(lang string) (*Texts, error) {
	found, err := resolve(lang, Languages())
	if err != nil {
		return nil, err
	}
	if found == sourceLanguage {
		return English(), nil
	}
	b, err := translated(found)
	if err != nil {
		return nil, err
	}
	return &Texts{lang: found, loc: i18n.NewLocalizer(b, found)}, nil
}

// resolve is the language of have, a list of BCP 47 tags, that NewTexts
// shows for lang: lang itself, or its base language in the same script.
func resolve(lang string, have []string) (string, error) {
	tag, err := language.Parse(lang)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a BCP 47 tag (such as de or pt-BR); the kiosk has texts in %s",
			ErrUnknownLanguage, lang, strings.Join(have, ", "))
	}
	found := tag.String()
	if slices.Contains(have, found) {
		return found, nil
	}
	base, conf := tag.Base()
	if conf != language.Exact || base.String() == found {
		return "", fmt.Errorf("%w: the kiosk has no texts in %s; it has texts in %s", ErrUnknownLanguage, found, strings.Join(have, ", "))
	}
	// The script lang is written in, given or likely (zh-TW: Hant), and
	// the one its base language is written in (zh: Hans).
	script, _ := tag.Script()
	baseScript, _ := language.Make(base.String()).Script()
	switch {
	case !slices.Contains(have, base.String()):
		return "", fmt.Errorf("%w: the kiosk has no texts in %s, nor in %s; it has texts in %s", ErrUnknownLanguage, found, base, strings.Join(have, ", "))
	case script != baseScript:
		return "", fmt.Errorf("%w: the kiosk has no texts in %s, and its texts in %s are in another script (%s, not %s); it has texts in %s",
			ErrUnknownLanguage, found, base, baseScript, script, strings.Join(have, ", "))
	}
	return base.String(), nil
}

// translated is a bundle of the English texts and their translation into
// lang, which has a file in translations/. A message the file lacks
// (none does: see texts_test.go) would show in English.
func translated(lang string) (*i18n.Bundle, error) {
	b := source()
	name := "translations/" + lang + ".json"
	data, err := translations.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read texts %s: %w", name, err)
	}
	if _, err := b.ParseMessageFileBytes(data, name); err != nil {
		return nil, fmt.Errorf("parse texts %s: %w", name, err)
	}
	return b, nil
}

// Language is the BCP 47 tag of the language t is in ("de"): the one asked
// for, or its base language.
func (t *Texts) Language() string { return t.lang }

// text is the message id in t's language.
func (t *Texts) text(id string) string {
	s, _ := t.localize(id, nil)
	return s
}

// message is the Message of a title's and a detail's IDs; detail may be
// "" for none.
func (t *Texts) message(title, detail string) Message {
	m := Message{Title: t.text(title)}
	if detail != "" {
		m.Detail = t.text(detail)
	}
	return m
}

// plural is the message id in the plural form of n in t's language, with
// n put in for {count}.
func (t *Texts) plural(id string, n int) string {
	s, _ := t.localize(id, n)
	return fill(s, "count", strconv.Itoa(n))
}

// localize looks id up in t's language, in the plural form of count (an
// int) if count is not nil. The error says what is wrong with the
// catalogue: a message or plural form missing (the text is then the
// English one, or the other form), an unknown ID (the text is then the
// ID itself, so that the mistake shows on screen instead of a blank).
func (t *Texts) localize(id string, count any) (string, error) {
	s, err := t.loc.Localize(&i18n.LocalizeConfig{
		MessageID:   id,
		PluralCount: count,
		// Placeholders are ours ({name}), not Go templates: a translation
		// is shown as it is.
		TemplateParser: template.IdentityParser{},
	})
	switch {
	case s == "" && err == nil:
		return id, fmt.Errorf("text %s is empty", id)
	case s == "":
		return id, fmt.Errorf("text %s: %w", id, err)
	}
	return s, err
}
