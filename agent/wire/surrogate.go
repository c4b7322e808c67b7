package wire

import (
	"bytes"
	"unicode/utf16"
)

// LoneSurrogate reports the first \u escape in the JSON text b that names
// half of a UTF-16 surrogate pair on its own ("\ud800", "\udfff", a high
// half not directly followed by the escape of a low half), which is no
// character. encoding/json reads U+FFFD in its place without an error, so
// Decode refuses such a frame, as it refuses bytes that are not UTF-8: a
// kiosk's error report naming "k\ud800" would otherwise be logged and
// audited as "k\uFFFD", which the kiosk never sent. The hub's HTTP APIs
// refuse such a body with the same check (hub/store.LoneSurrogate, which
// is this one, fuzzed there against encoding/json).
//
// It scans escapes, not strings: a backslash outside a string is no JSON
// anyway, and Decode refuses it first. An escape that is not \u and four
// hex digits is left to encoding/json too.
func LoneSurrogate(b []byte) (string, bool) {
	for i := 0; ; {
		j := bytes.IndexByte(b[min(i, len(b)):], '\\')
		if j < 0 {
			return "", false
		}
		i += j
		u, ok := hexEscape(b, i)
		switch {
		case !ok:
			i += 2 // any other escape, "\\" included: its second byte is no escape's start
			continue
		case !utf16.IsSurrogate(u):
			i += 6
			continue
		}
		// encoding/json pairs a surrogate with the escape right after it
		// when the two make one character (utf16.DecodeRune).
		if low, ok := hexEscape(b, i+6); ok && utf16.DecodeRune(u, low) != '\uFFFD' {
			i += 12
			continue
		}
		return string(b[i : i+6]), true
	}
}

// hexEscape reads the \uXXXX escape at b[i:], if there is one.
func hexEscape(b []byte, i int) (rune, bool) {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	var u rune
	for _, c := range b[i+2 : i+6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		u = u<<4 | rune(c)
	}
	return u, true
}
