package store_test

import (
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name, in string
		limit    int
		want     string
	}{
		{"short", "abc", 10, "abc"},
		{"exact", "abcdefghij", 10, "abcdefghij"},
		{"cut", strings.Repeat("a", 20), 12, "aaaa…(cut)"},
		{"rune boundary", "ééééééé", 11, "é…(cut)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := store.Clip(tt.in, tt.limit)
			if got != tt.want || len(got) > tt.limit {
				t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
		})
	}
}
