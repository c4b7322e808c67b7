package store_test

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestHiddenVariationSelectors: a variation selector is default-ignorable
// and renders as nothing after a letter, so "Supervisor" followed by
// U+FE0F reads as "Supervisor" in the console and the audit trail. Hidden
// reports each of the three ranges, at both ends, beside what it already
// reported; letters, emoji and the characters around the ranges are not
// hidden.
func TestHiddenVariationSelectors(t *testing.T) {
	tests := []struct {
		name string
		r    rune
		want bool
	}{
		{"VS1", '\uFE00', true},
		{"VS16 (emoji presentation)", '\uFE0F', true},
		{"Mongolian free variation selector one", '\u180B', true},
		{"Mongolian free variation selector three", '\u180D', true},
		{"Mongolian free variation selector four", '\u180F', true},
		{"VS17", '\U000E0100', true},
		{"VS256", '\U000E01EF', true},
		{"zero-width space (a format character)", '\u200B', true},
		{"Hangul filler (other default-ignorable)", '\u3164', true},
		{"escape (a control character)", '\x1b', true},
		{"letter", 'S', false},
		{"accented letter", 'é', false},
		{"Mongolian letter a", '\u1820', false},
		{"before VS1: a CJK compatibility ideograph", '\uFA6D', false},
		{"after VS16: a vertical comma", '\uFE10', false},
		{"after VS256: reserved, default-ignorable", '\U000E01F0', true},
		{"emoji", '\u2764', false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.Hidden(tt.r); got != tt.want {
				t.Errorf("Hidden(%U) = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
}
