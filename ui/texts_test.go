package ui

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/shiftgate/shiftgate/agent"
)

// TestLanguages: the kiosk speaks English (the source), German, Spanish,
// French and Polish.
func TestLanguages(t *testing.T) {
	if got, want := Languages(), []string{"de", "en", "es", "fr", "pl"}; !slices.Equal(got, want) {
		t.Errorf("Languages() = %q, want %q", got, want)
	}
}

// sourceByID is english() by message ID.
func sourceByID(t *testing.T) map[string]*i18n.Message {
	t.Helper()
	byID := map[string]*i18n.Message{}
	for _, m := range english() {
		if _, dup := byID[m.ID]; dup {
			t.Errorf("message %s is twice in english()", m.ID)
		}
		byID[m.ID] = m
	}
	return byID
}

// translationFile is the messages of translations/LANG.json, parsed as the
// kiosk parses them.
func translationFile(t *testing.T, lang string) map[string]*i18n.Message {
	t.Helper()
	name := "translations/" + lang + ".json"
	data, err := translations.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := i18n.ParseMessageFileBytes(data, name, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if f.Tag.String() != lang {
		t.Errorf("%s is for language %s", name, f.Tag)
	}
	byID := map[string]*i18n.Message{}
	for _, m := range f.Messages {
		byID[m.ID] = m
	}
	return byID
}

// forms is m's texts by CLDR plural form, those that are set.
func forms(m *i18n.Message) map[string]string {
	all := map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other}
	maps.DeleteFunc(all, func(_, s string) bool { return s == "" })
	return all
}

// translatedLanguages is every language but English.
func translatedLanguages() []string {
	return slices.DeleteFunc(Languages(), func(l string) bool { return l == sourceLanguage })
}

// TestTranslationsComplete: every language has every text, and no text
// English does not have (a stale ID, a typo in one, a misspelt plural
// form, which go-i18n reads as a message of its own). A text that does
// not count has one form; a text that counts has "other" and every form
// its language's CLDR rules pick for a whole number (Polish: one, few,
// many), so that no number falls back to another form.
func TestTranslationsComplete(t *testing.T) {
	source := sourceByID(t)
	for _, lang := range translatedLanguages() {
		t.Run(lang, func(t *testing.T) {
			file := translationFile(t, lang)
			for id := range source {
				if _, ok := file[id]; !ok {
					t.Errorf("%s has no translation of %s (%q)", lang, id, source[id].Other)
				}
			}
			for id := range file {
				if _, ok := source[id]; !ok {
					t.Errorf("%s has a text English does not: %s", lang, id)
				}
			}
			texts, err := NewTexts(lang)
			if err != nil {
				t.Fatal(err)
			}
			for id, m := range file {
				f, src := forms(m), source[id]
				if src == nil {
					continue
				}
				if f["other"] == "" {
					t.Errorf("%s %s: no text (no \"other\" form)", lang, id)
				}
				for form, s := range f {
					if strings.TrimSpace(s) != s {
						t.Errorf("%s %s %s: %q begins or ends with a space", lang, id, form, s)
					}
				}
				if len(forms(src)) == 1 {
					if len(f) != 1 {
						t.Errorf("%s %s: plural forms %q for a text that does not count", lang, id, slices.Sorted(maps.Keys(f)))
					}
					continue
				}
				for _, n := range counts() {
					if _, err := texts.localize(id, n); err != nil {
						t.Errorf("%s %s for %d: %v", lang, id, n, err)
						break
					}
				}
			}
		})
	}
}

// counts are whole numbers that reach every plural form of the kiosk's
// languages (French and Spanish "many" are for millions).
func counts() []int {
	n := []int{1_000_000, 2_000_000, 1_000_000_000}
	for i := range 1001 {
		n = append(n, i)
	}
	return n
}

// placeholder matches a placeholder ({name}; also a Go template's
// {{.Name}}, which the kiosk does not run) or a fmt verb (%d, %%).
var placeholder = regexp.MustCompile(`\{[^{}]*\}|%[-+# 0-9.\[\]*]*[a-zA-Z%]`)

func placeholders(s string) []string {
	return slices.Sorted(slices.Values(placeholder.FindAllString(s, -1)))
}

// TestTranslationsKeepPlaceholders: every form of every translation has
// the same placeholders and format verbs as the English text, each as
// often: a translation that drops {name}, misspells it ({nom}), or writes
// a Go template would show the wrong thing on screen.
func TestTranslationsKeepPlaceholders(t *testing.T) {
	source := sourceByID(t)
	for id, m := range source {
		want := placeholders(m.Other)
		for form, s := range forms(m) {
			if got := placeholders(s); !slices.Equal(got, want) {
				t.Errorf("en %s %s: placeholders %q, but %q in its other form", id, form, got, want)
			}
		}
	}
	for _, lang := range translatedLanguages() {
		for id, m := range translationFile(t, lang) {
			if source[id] == nil {
				continue // TestTranslationsComplete
			}
			want := placeholders(source[id].Other)
			for form, s := range forms(m) {
				if got := placeholders(s); !slices.Equal(got, want) {
					t.Errorf("%s %s %s: %q has placeholders %q, English %q", lang, id, form, s, got, want)
				}
			}
		}
	}
	// The check sees what it is for.
	if got := placeholders("{{.Name}} {name} 100%d"); !slices.Equal(got, []string{"%d", "{.Name}", "{name}"}) {
		t.Errorf("placeholders = %q", got)
	}
}

// TestCatalogueIDsUsed: every message ID the texts' methods in
// messages.go look up is in english(), as a literal (so that this test
// sees them all), and every text in english() is used.
func TestCatalogueIDsUsed(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "messages.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	source := sourceByID(t)
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		var ids []ast.Expr
		switch sel.Sel.Name {
		case "text", "plural":
			ids = call.Args[:1]
		case "message":
			ids = call.Args[:2]
		default:
			return true
		}
		for _, e := range ids {
			id, ok := e.(*ast.BasicLit)
			if !ok || id.Kind != token.STRING {
				t.Errorf("%s: a message ID that is not a literal", fset.Position(e.Pos()))
				continue
			}
			s, _ := strconv.Unquote(id.Value)
			if s == "" && sel.Sel.Name == "message" && e == call.Args[1] {
				continue // no detail
			}
			if source[s] == nil {
				t.Errorf("%s: message %q is not in english()", fset.Position(e.Pos()), s)
			}
			used[s] = true
		}
		return true
	})
	for id := range source {
		if !used[id] {
			t.Errorf("english() has %s (%q), which nothing shows", id, source[id].Other)
		}
	}
}

// TestPolishPlurals: Polish has three plural forms for whole numbers, and
// the countdown takes the right one: 1 minutę, 2–4 and 22–24 minuty, 5–21
// minut (12–14 too).
func TestPolishPlurals(t *testing.T) {
	pl, err := NewTexts("pl")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		left time.Duration
		want string
	}{
		{1 * time.Minute, "Twoja sesja kończy się za 1 minutę"},
		{2 * time.Minute, "Twoja sesja kończy się za 2 minuty"},
		{5 * time.Minute, "Twoja sesja kończy się za 5 minut"},
		{22 * time.Minute, "Twoja sesja kończy się za 22 minuty"},
		{12 * time.Minute, "Twoja sesja kończy się za 12 minut"},
		{21 * time.Minute, "Twoja sesja kończy się za 21 minut"},
		{1 * time.Second, "Twoja sesja kończy się za 1 sekundę"},
		{2 * time.Second, "Twoja sesja kończy się za 2 sekundy"},
		{5 * time.Second, "Twoja sesja kończy się za 5 sekund"},
		{22 * time.Second, "Twoja sesja kończy się za 22 sekundy"},
		{0, "Twoja sesja kończy się za 0 sekund"},
	} {
		if got := pl.CountdownText(tc.left); got != tc.want {
			t.Errorf("pl CountdownText(%s) = %q, want %q", tc.left, got, tc.want)
		}
	}
	// German and English have two forms, French counts 0 as one.
	for _, tc := range []struct {
		lang string
		n    time.Duration
		want string
	}{
		{"de", 1, "Ihre Sitzung endet in 1 Minute"},
		{"de", 2, "Ihre Sitzung endet in 2 Minuten"},
		{"fr", 1, "Votre session se termine dans 1 minute"},
		{"fr", 2, "Votre session se termine dans 2 minutes"},
		{"es", 1, "Su sesión termina en 1 minuto"},
		{"es", 5, "Su sesión termina en 5 minutos"},
		{"en", 1, "Your session ends in 1 minute"},
		{"en", 22, "Your session ends in 22 minutes"},
	} {
		tx, err := NewTexts(tc.lang)
		if err != nil {
			t.Fatal(err)
		}
		if got := tx.CountdownText(tc.n * time.Minute); got != tc.want {
			t.Errorf("%s CountdownText(%s) = %q, want %q", tc.lang, tc.n*time.Minute, got, tc.want)
		}
	}
	fr, err := NewTexts("fr")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fr.CountdownText(0), "Votre session se termine dans 0 seconde"; got != want {
		t.Errorf("fr CountdownText(0) = %q, want %q", got, want)
	}
}

// TestNewTexts: a language is found by its tag, or by its base language
// (a regional variant the kiosk has no texts of); a language the kiosk
// does not have, or no tag at all, is an error naming those it has.
func TestNewTexts(t *testing.T) {
	for _, tc := range []struct {
		lang string
		want string // Language(); "" for an error
	}{
		{"de", "de"}, {"es", "es"}, {"fr", "fr"}, {"pl", "pl"}, {"en", "en"},
		{"de-AT", "de"}, {"de-CH", "de"}, {"pl-PL", "pl"}, {"fr-CA", "fr"}, {"es-419", "es"}, {"en-GB", "en"}, {"en-US", "en"},
		{"DE", "de"}, {"de_DE", "de"},
		{"pt-BR", ""}, {"pt", ""}, {"it", ""}, {"zh-Hant-TW", ""},
		{"", ""}, {"C", ""}, {"deutsch", ""}, {"de-", ""}, {"12", ""},
	} {
		tx, err := NewTexts(tc.lang)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("NewTexts(%q) = %s, want an error", tc.lang, tx.Language())
		case tc.want == "" && !errors.Is(err, ErrUnknownLanguage):
			t.Errorf("NewTexts(%q): %v, want ErrUnknownLanguage", tc.lang, err)
		case tc.want == "":
			if !strings.Contains(err.Error(), "de, en, es, fr, pl") {
				t.Errorf("NewTexts(%q): %q does not name the languages there are", tc.lang, err)
			}
		case err != nil:
			t.Errorf("NewTexts(%q): %v", tc.lang, err)
		case tx.Language() != tc.want:
			t.Errorf("NewTexts(%q) is in %s, want %s", tc.lang, tx.Language(), tc.want)
		}
	}
	// The base language's texts, not English ones.
	at, err := NewTexts("de-AT")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := at.LockedMessage().Title, "Bitte Ausweis vorhalten"; got != want {
		t.Errorf("de-AT LockedMessage = %q, want %q", got, want)
	}
	_, err = NewTexts("pt-BR")
	if err == nil || !strings.Contains(err.Error(), "no texts in pt-BR, nor in pt") {
		t.Errorf("NewTexts(pt-BR): %v, want it to say it tried pt-BR and pt", err)
	}
}

// TestScreensInLanguage: the model draws its screens in the language of
// its Texts, numbers in their plural form and names as they are.
func TestScreensInLanguage(t *testing.T) {
	pl, err := NewTexts("pl")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessIn(t, pl, "amira")
	h.want(ScreenLocked, "Przyłóż kartę", "Brak połączenia", "Karty demo:", "08:00")
	h.m.Emit(agent.Event{Event: agent.EventConnected, Site: "Magazyn Północ", DeviceName: "Kiosk 3"})
	h.want(ScreenLocked, "Połączono", "Magazyn Północ · Kiosk 3")
	expires := h.clock.t.Add(8 * time.Hour)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ana", DisplayName: "Ana Lima", Role: "Pielęgniarka", SessionID: "s1", ExpiresAt: expires})
	h.want(ScreenActive, "Ana Lima", "Sesja kończy się o 16:00", "[Wyloguj się]")
	h.clock.t = expires.Add(-22 * time.Minute)
	h.m.Emit(agent.Event{Event: agent.EventSessionWarning, User: "ana", SessionID: "s1", ExpiresAt: expires})
	h.want(ScreenWarning, "Twoja sesja kończy się za 22 minuty")
	h.clock.t = expires.Add(-5 * time.Second)
	h.m.Tick()
	h.want(ScreenWarning, "Twoja sesja kończy się za 5 sekund")
	h.m.Emit(agent.Event{Event: agent.EventSessionEnded, User: "ana", SessionID: "s1", Reason: "idle"})
	h.want(ScreenEnded, "Wylogowano z powodu braku aktywności")
	for _, s := range h.texts() {
		if strings.Contains(s, "Signed") || strings.Contains(s, "Tap") {
			t.Errorf("the Polish screen shows English: %q", s)
		}
	}
}
