package main

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// FuzzReadCommands feeds arbitrary stdin to the command reader: it never
// panics, and it does what its contract says line by line: every
// non-empty line is worker input, a line of maxCommandLine bytes or more
// is ignored whole, "tap NAME" taps NAME (one field, no space in it), and
// "signout" signs out.
func FuzzReadCommands(f *testing.F) {
	f.Add([]byte("tap ana\n  signout  \n\nreboot\ntap\ntap a b\nactivity\ntap ben\n"))
	f.Add([]byte("tap ana\r\ntap\tben\x00\n\u00a0tap\u2003cy\u0085\n"))
	f.Add([]byte(strings.Repeat("x", maxCommandLine-1) + "\ntap ana"))
	f.Add([]byte(strings.Repeat("x", maxCommandLine) + "\ntap ana\n"))
	f.Add([]byte("tap " + strings.Repeat("n", maxCommandLine)))
	f.Add([]byte("\xff\xfe tap\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var rec intentRec
		var stderr bytes.Buffer
		readCommands(bytes.NewReader(in), &rec, &stderr, slog.New(slog.DiscardHandler))

		var want intentRec
		lines := strings.Split(string(in), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1] // the newline ended the last line
		}
		for _, l := range lines {
			if len(l) >= maxCommandLine {
				want.activities++
				continue
			}
			if strings.TrimSpace(l) == "" {
				continue
			}
			want.activities++
			switch f := strings.Fields(l); {
			case f[0] == "tap" && len(f) == 2:
				want.taps = append(want.taps, f[1])
			case f[0] == "signout" && len(f) == 1:
				want.signouts++
			}
		}
		if !slices.Equal(rec.taps, want.taps) || rec.signouts != want.signouts || rec.activities != want.activities {
			t.Fatalf("input %q:\ngot  taps %q, signouts %d, activities %d\nwant taps %q, signouts %d, activities %d",
				in, rec.taps, rec.signouts, rec.activities, want.taps, want.signouts, want.activities)
		}
		for _, name := range rec.taps {
			if name == "" || strings.ContainsFunc(name, func(r rune) bool { return strings.TrimSpace(string(r)) == "" }) || len(name) >= maxCommandLine {
				t.Fatalf("tapped %q", name)
			}
		}
	})
}
