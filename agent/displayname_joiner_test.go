package agent

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestCleanNameJoiners: the zero-width non-joiner and joiner are part of
// how Persian and Indic names (and emoji) are written, and stay where their
// script puts them; anywhere else they are format characters like the
// others, which could make a name read as another's, and split words.
func TestCleanNameJoiners(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		// Persian: a non-joiner between two letters that would join
		// (Yeh Farsi and Khah; Meem and Zain).
		{"Persian verb", "می\u200cخواهم", "می\u200cخواهم"},
		{"Persian surname", "علی رحیم\u200cزاده", "علی رحیم\u200cزاده"},
		// A harakat mark between the letter and the non-joiner counts for
		// nothing (Joining_Type T).
		{"Persian with a mark", "رحیمِ\u200cزاده", "رحیمِ\u200cزاده"},
		// Malayalam: the old spelling of a chillu is the consonant, a
		// virama and a joiner, at the end of the name.
		{"Malayalam chillu", "ലക്ഷ്മണ\u0d4d\u200d", "ലക്ഷ്മണ\u0d4d\u200d"},
		{"Malayalam chillu mid-name", "അവന\u0d4d\u200d കുമാർ", "അവന\u0d4d\u200d കുമാർ"},
		// Devanagari: a joiner after a virama asks for the half form, a
		// non-joiner for the visible virama.
		{"Devanagari half form", "लक\u094d\u200dष्मी", "लक\u094d\u200dष्मी"},
		{"Devanagari visible virama", "लक\u094d\u200cष्मी", "लक\u094d\u200cष्मी"},
		// Emoji joined into one.
		{"emoji", "Ana 👩🏽\u200d⚕️", "Ana 👩🏽\u200d⚕️"},
		{"emoji family", "Ben 👨\u200d👩\u200d👧", "Ben 👨\u200d👩\u200d👧"},

		// Where no script needs them they split words as before.
		{"Latin non-joiner", "ad\u200cmin", "ad min"},
		{"Latin joiner", "Ana\u200dLima", "Ana Lima"},
		{"joiner between Arabic letters", "می\u200dخواهم", "می خواهم"},
		{"non-joiner after the last letter", "رحیم\u200c", "رحیم"},
		{"non-joiner before the first letter", "\u200cزاده", "زاده"},
		{"non-joiner after a letter that does not join forward", "دا\u200cد", "دا د"},
		{"joiner after a space", "Ana \u200d👩", "Ana 👩"},
		{"joiner after a Latin letter before an emoji", "a\u200d👩", "a 👩"},
		// Other format characters go, next to a joiner or not, and take
		// the joiner's context with them.
		{"bidi override before a Persian name", "\u202eمی\u200cخواهم", "می\u200cخواهم"},
		{"bidi override after the non-joiner", "می\u200c\u202eخواهم", "می خواهم"},
		{"two non-joiners", "می\u200c\u200cخواهم", "می خواهم"},
		{"zero-width space", "می\u200bخواهم", "می خواهم"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cleanName(tc.in); got != tc.want {
				t.Errorf("cleanName(%+q) = %+q, want %+q", tc.in, got, tc.want)
			}
		})
	}
}

// TestCleanNameJoinersLong: a name of joiners that are all in context is
// cut as any other, and the work stops at the cut; a joiner the cut left
// at the end goes, as it joins nothing.
func TestCleanNameJoinersLong(t *testing.T) {
	in := strings.Repeat("می\u200c", 100_000)
	got := []rune(cleanName(in))
	if len(got) != maxDisplayName-1 || got[len(got)-1] != '…' || got[len(got)-2] != 'ی' {
		t.Errorf("cleanName of %d bytes gives %d runes: %q", len(in), len(got), string(got))
	}
	if !strings.HasPrefix(in, strings.TrimSuffix(string(got), "…")) {
		t.Errorf("cleanName = %q, not the start of the name", string(got))
	}
}

// FuzzCleanName: whatever the hub sends, a cleaned name is one line of at
// most maxDisplayName characters with no control or format character but a
// joiner its script needs, and cleaning it again changes nothing (the
// screen cleans it once more).
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"Ana Lima", "می\u200cخواهم", "ലക്ഷ്മണ\u0d4d\u200d", "👩🏽\u200d⚕️", "\u202eadmin\u200c", "a\u200d\u200cb",
		strings.Repeat("می\u200c", 40), "\xff\u200c\u0645", "\xbd\u200d\x95", "👩\u200d\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cleanName(s)
		if n := utf8.RuneCountInString(got); n > maxDisplayName {
			t.Errorf("cleanName(%+q) = %+q: %d runes", s, got, n)
		}
		for i, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) && !(isJoiner(r) && JoinerInContext(got, i)) {
				t.Errorf("cleanName(%+q) = %+q holds %U", s, got, r)
			}
		}
		if again := cleanName(got); again != got {
			t.Errorf("cleanName(%+q) = %+q, cleaned again %+q", s, got, again)
		}
	})
}
