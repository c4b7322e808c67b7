package agent

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-text/typesetting/unicodedata"
	"golang.org/x/text/secure/precis"
)

// maxDisplayName bounds the names the agent passes on to a screen, in
// runes.
const maxDisplayName = 64

// creationDisplayName returns the user's display name from WebAuthn
// PublicKeyCredentialCreationOptions (publicKey.user.displayName, as the hub
// sends them in enroll.start), cleaned for a screen (cleanName) and at most
// maxDisplayName runes. It is "" when
// the options carry none.
func creationDisplayName(options json.RawMessage) string {
	type user struct {
		DisplayName string `json:"displayName"`
	}
	type pk struct {
		User user `json:"user"`
	}
	var o struct {
		PublicKey *pk `json:"publicKey"`
		pk
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return ""
	}
	name := o.User.DisplayName
	if o.PublicKey != nil {
		name = o.PublicKey.User.DisplayName
	}
	return cleanName(name)
}

// cleanName makes a name from the hub safe to show on one line: control
// and format characters (bidi overrides among them) split words, and runs
// of spaces become one. A zero-width joiner or non-joiner stays where the
// name's script needs it (JoinerInContext): without it a Persian or
// Devanagari name is drawn as another spelling.
func cleanName(s string) string {
	var b strings.Builder
	// letters counts the runes kept other than spaces: past
	// maxDisplayName of them the rest would be cut anyway, and a hostile
	// name full of joiners is not worth checking to its end.
	letters := 0
	for i, r := range s {
		switch {
		case letters > maxDisplayName:
		case isJoiner(r) && JoinerInContext(s, i):
			b.WriteRune(r)
			letters++
		case unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
			letters++
		}
	}
	s = strings.Join(strings.Fields(b.String()), " ")
	if r := []rune(s); len(r) > maxDisplayName {
		// A joiner left before the "…", or before marks only, joins
		// nothing any more: cleaned again, the cut name (too short to be
		// cut again) loses it as any joiner out of context.
		s = strings.TrimRightFunc(cleanName(string(r[:maxDisplayName-1])), func(r rune) bool { return unicode.IsSpace(r) || isJoiner(r) }) + "…"
	}
	return s
}

// The two joiners, format characters that some scripts need in names.
const (
	zwnj = '\u200c' // ZERO WIDTH NON-JOINER
	zwj  = '\u200d' // ZERO WIDTH JOINER
)

func isJoiner(r rune) bool { return r == zwnj || r == zwj }

// JoinerInContext reports whether the ZERO WIDTH NON-JOINER or ZERO WIDTH
// JOINER that starts at byte i of s is part of how its word is written,
// so that a screen must keep it: Persian writes "می‌خواهم" with a
// non-joiner between two letters that would otherwise join, and Devanagari
// and Malayalam choose a conjunct's or a chillu's form with a joiner or
// non-joiner after a virama. These are the contexts IDNA allows them in
// (RFC 5892 Appendix A.1 and A.2, as golang.org/x/text/secure/precis
// checks them): a non-joiner after a virama or between a letter that joins
// forward and one that joins back (Arabic script's marks between them
// count for nothing), a joiner after a virama. It also keeps a joiner
// between two emoji (Unicode's Extended_Pictographic, from the tables of
// go-text, which Fyne draws text with; the category So alone is both too
// wide, Braille and box drawing, and too narrow, the arrow of "🙂‍↔️"),
// which is how they are combined ("👩‍💻"). Anywhere else a joiner changes
// nothing that shows, and with the other format characters it lets a name
// read as another's: a screen drops it.
func JoinerInContext(s string, i int) bool {
	j, size := utf8.DecodeRuneInString(s[i:])
	if !isJoiner(j) {
		return false
	}
	// Back over the marks to the character they sit on. A virama is a
	// mark, and an emoji's skin tone and presentation selector are not
	// what the joiner joins.
	start, before := i, rune(-1)
	for start > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:start])
		start -= n
		if !isMark(r) && !isEmojiModifier(r) {
			before = r
			break
		}
	}
	// On, over marks, to the character the joiner joins with; none when a
	// space or another format character follows.
	end, after := i+size, rune(-1)
	for end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			break
		}
		end += n
		if !isMark(r) {
			after = r
			break
		}
	}
	if before == utf8.RuneError || after == utf8.RuneError {
		// Not UTF-8 (or U+FFFD): a screen shows no character it could
		// join.
		return false
	}
	if j == zwj && unicode.Is(unicodedata.Extended_Pictographic, before) && unicode.Is(unicodedata.Extended_Pictographic, after) {
		return true
	}
	if before < 0 || !unicode.In(before, unicode.L, unicode.M) {
		// Neither a letter that joins nor one a virama sits on: no
		// need to ask.
		return false
	}
	_, err := precis.NewFreeform().String(s[start:end])
	return err == nil
}

func isMark(r rune) bool { return unicode.In(r, unicode.Mn, unicode.Me) }

// isEmojiModifier reports whether r is one of the five skin tones
// (U+1F3FB-1F3FF) that follow an emoji inside a joined sequence
// ("👩🏽‍⚕️").
func isEmojiModifier(r rune) bool { return r >= 0x1F3FB && r <= 0x1F3FF }
