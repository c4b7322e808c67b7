package store

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

func TestConsoleNameKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		same bool
	}{
		{"ASCII case", "Ada@Example.org", "ada@example.org", true},
		{"non-ASCII case", "Élodie", "élodie", true},
		{"decomposed", "E\u0301lodie", "Élodie", true},
		{"decomposed, other case", "e\u0301LODIE", "Élodie", true},
		{"combining marks reordered", "a\u0323\u0301", "a\u0301\u0323", true}, // canonical order
		{"full width", "\uff21\uff44\uff41", "ada", true},
		{"full case folding", "STRASSE", "straße", true},
		{"capital sharp s", "STRA\u1e9eE", "strasse", true},
		{"final sigma", "ΟΔΟΣ", "οδος", true},
		{"Kelvin sign", "\u212aim", "kim", true},
		{"long s", "\u017fam", "sam", true},
		{"Cherokee", "\u13a0\u13a1", "\uab70\uab71", true},
		{"spaces kept", "Ada Lovelace", "AdaLovelace", false},
		{"accent kept", "elodie", "élodie", false},
		{"dotless i", "ıvan", "ivan", false},
		{"ligature", "\ufb01le", "FILE", true}, // case folding expands it
	} {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := ConsoleNameKey(tc.a), ConsoleNameKey(tc.b)
			if (ka == kb) != tc.same {
				t.Errorf("ConsoleNameKey(%q) = %q, ConsoleNameKey(%q) = %q; same = %v, want %v", tc.a, ka, tc.b, kb, ka == kb, tc.same)
			}
		})
	}
}

// TestConsoleNameKeyEveryRune checks, for every rune, what the console
// relies on: names equal under FoldName (a hub user's userName and a
// console account's name, LinkConsoleAccounts' comparison) have one
// ConsoleNameKey, so at most one account made under the key has a user's
// name; names PRECIS UsernameCaseMapped takes for one (RFC 8265) have one
// key; a precomposed letter has the key of its canonical decomposition;
// and a key is its own key.
func TestConsoleNameKeyEveryRune(t *testing.T) {
	precisKeys := map[string]string{} // PRECIS's key → ours
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := string(r)
		k := ConsoleNameKey(s)
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if kf := ConsoleNameKey(string(f)); kf != k {
				t.Errorf("%U and %U fold together (FoldName) but have the keys %+q and %+q", r, f, k, kf)
			}
		}
		if d := norm.NFD.String(s); d != s {
			if kd := ConsoleNameKey(d); kd != k {
				t.Errorf("%U has the key %+q, its decomposition %+q the key %+q", r, k, d, kd)
			}
		}
		if kk := ConsoleNameKey(k); kk != k {
			t.Errorf("%U has the key %+q, whose key is %+q", r, k, kk)
		}
		if p, err := precis.UsernameCaseMapped.CompareKey(s); err == nil {
			if other, ok := precisKeys[p]; ok && other != k {
				t.Errorf("%U is %+q under PRECIS, as a rune of key %+q is, but has the key %+q", r, p, other, k)
			}
			precisKeys[p] = k
		}
	}
}
