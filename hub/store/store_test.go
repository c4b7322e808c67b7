package store

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestFoldNameIsEqualFold checks FoldName against strings.EqualFold on
// every rune: each rune's key is in its own case-folding orbit (so runes of
// different orbits never share a key) and every rune of an orbit has the
// same key.
func TestFoldNameIsEqualFold(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		k := foldRune(r)
		if !strings.EqualFold(string(k), string(r)) {
			t.Fatalf("foldRune(%U) = %U, not in its orbit", r, k)
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if kf := foldRune(f); kf != k {
				t.Fatalf("foldRune(%U) = %U but foldRune(%U) = %U", r, k, f, kf)
			}
		}
		if s := string(r); FoldName(s) != string(k) {
			t.Fatalf("FoldName(%q) = %q, want %q", s, FoldName(s), string(k))
		}
	}
}

func TestFoldName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"ana@example.com", "ana@example.com"},
		{"Ana.Lima@Example.COM", "ana.lima@example.com"},
		{"Élodie.Durand@example.com", "élodie.durand@example.com"},
		{"ÄRZTIN", "ärztin"},
		{"\u212Aelvin", "kelvin"},          // KELVIN SIGN folds with k
		{"Σίσυφος", "σίσυφοσ"},             // final sigma folds with sigma
		{"\u0130stanbul", "\u0130stanbul"}, // dotted capital I folds with nothing
		{"STRASSE", "strasse"},
		{"Straße", "straße"}, // simple folding: ß is not ss
	}
	for _, tc := range tests {
		if got := FoldName(tc.in); got != tc.want {
			t.Errorf("FoldName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := FoldName(tc.in); !strings.EqualFold(got, tc.in) {
			t.Errorf("FoldName(%q) = %q, which does not EqualFold its input", tc.in, got)
		}
	}
	a, b := "élodie.durand@example.com", "Élodie.Durand@example.com"
	if FoldName(a) != FoldName(b) {
		t.Errorf("FoldName(%q) != FoldName(%q)", a, b)
	}
}
