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
// is ignored whole, "tap NAME" taps NAME (one field, no space in it),
// "signout" signs out, "open APP" asks for APP in the session live when
// the line is read and "open APP SESSION_ID" in SESSION_ID.
func FuzzReadCommands(f *testing.F) {
	f.Add([]byte("tap ana\n  signout  \n\nreboot\ntap\ntap a b\nactivity\ntap ben\n"))
	f.Add([]byte("tap ana\r\ntap\tben\x00\n\u00a0tap\u2003cy\u0085\n"))
	f.Add([]byte(strings.Repeat("x", maxCommandLine-1) + "\ntap ana"))
	f.Add([]byte(strings.Repeat("x", maxCommandLine) + "\ntap ana\n"))
	f.Add([]byte("tap " + strings.Repeat("n", maxCommandLine)))
	f.Add([]byte("\xff\xfe tap\n"))
	f.Add([]byte("open emr\nopen emr s1\nopen\nopen a b c\n open\u00a0emr\nopen e/r s/1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const live = "live-session"
		rec := intentRec{live: live}
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
			case f[0] == "open" && len(f) == 2:
				want.opens = append(want.opens, [2]string{live, f[1]})
			case f[0] == "open" && len(f) == 3:
				want.opens = append(want.opens, [2]string{f[2], f[1]})
			}
		}
		if !slices.Equal(rec.taps, want.taps) || rec.signouts != want.signouts || rec.activities != want.activities || !slices.Equal(rec.opens, want.opens) {
			t.Fatalf("input %q:\ngot  taps %q, signouts %d, activities %d, opens %q\nwant taps %q, signouts %d, activities %d, opens %q",
				in, rec.taps, rec.signouts, rec.activities, rec.opens, want.taps, want.signouts, want.activities, want.opens)
		}
		field := func(s string) bool {
			return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return strings.TrimSpace(string(r)) == "" }) && len(s) < maxCommandLine
		}
		for _, name := range rec.taps {
			if !field(name) {
				t.Fatalf("tapped %q", name)
			}
		}
		for _, o := range rec.opens {
			if !field(o[1]) || o[0] != live && !field(o[0]) {
				t.Fatalf("opened %q in session %q", o[1], o[0])
			}
		}
	})
}
