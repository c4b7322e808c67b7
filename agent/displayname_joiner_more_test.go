package agent

import (
	"strings"
	"testing"
	"unicode"
)

// TestCleanNameJoinerBetweenEmoji: a joiner is kept between two emoji
// (Extended_Pictographic), as the README says, not between any two
// symbols. It was kept between any two characters of category So: box
// drawing, Braille patterns, CJK radicals, between which it joins nothing
// and shows nothing, so that "⣿\u200d⣿" read as "⣿⣿" though it is another
// name; and it was dropped from the emoji whose second half is not of
// category So, such as the arrow of "🙂\u200d↔️" (head shaking), which
// then fell apart into a face and an arrow.
func TestCleanNameJoinerBetweenEmoji(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"head shaking", "Ana 🙂\u200d↔\ufe0f", "Ana 🙂\u200d↔\ufe0f"},
		{"head nodding", "Ana 🙂\u200d↕\ufe0f", "Ana 🙂\u200d↕\ufe0f"},
		{"black cat", "Ana 🐈\u200d⬛", "Ana 🐈\u200d⬛"},
		{"rainbow flag", "Ana 🏳\ufe0f\u200d🌈", "Ana 🏳\ufe0f\u200d🌈"},
		{"heart on fire", "Ana ❤\ufe0f\u200d🔥", "Ana ❤\ufe0f\u200d🔥"},

		{"Braille patterns", "Ana ⣿\u200d⣿", "Ana ⣿ ⣿"},
		{"box drawing", "Ana ─\u200d─", "Ana ─ ─"},
		{"CJK radicals", "Ana ⺀\u200d⺁", "Ana ⺀ ⺁"},
		{"emoji then a symbol", "Ana 👩\u200d⣿", "Ana 👩 ⣿"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cleanName(tc.in); got != tc.want {
				t.Errorf("cleanName(%+q) = %+q, want %+q", tc.in, got, tc.want)
			}
		})
	}
}

// TestCleanNameCutJoinerBeforeMarks: a cut that leaves a joiner followed
// only by marks leaves it without what it joined, as a cut right after
// it does: it goes too, and cleaning the name again (as the screen does)
// changes nothing. It stayed, a format character out of its context
// before the "…", which a second cleaning turned into a space.
func TestCleanNameCutJoinerBeforeMarks(t *testing.T) {
	pad := strings.Repeat("a", maxDisplayName-4)
	for _, tc := range []struct {
		name, in string
	}{
		{"non-joiner, then a harakat", pad + "م\u200c\u064eزbbbb"},
		{"joiner, then a variation selector", pad + "👩\u200d\ufe0f👩bbbb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cleanName(tc.in)
			for i, r := range got {
				if isJoiner(r) && !JoinerInContext(got, i) {
					t.Errorf("cleanName(%+q) = %+q holds a joiner out of context at byte %d", tc.in, got, i)
				}
			}
			if again := cleanName(got); again != got {
				t.Errorf("cleanName(%+q) = %+q, cleaned again %+q", tc.in, got, again)
			}
			if !strings.HasSuffix(got, "…") || strings.ContainsFunc(got, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
				t.Errorf("cleanName(%+q) = %+q, want it cut, without a format character", tc.in, got)
			}
		})
	}
}
