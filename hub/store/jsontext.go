package store

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// BadJSONText says why encoding/json would not read the strings of the
// JSON text b as sent, or "" when it would: bytes that are not UTF-8 (it
// reads U+FFFD in place of each), or an escaped lone surrogate
// (LoneSurrogate). A kiosk named "k\xff1" would otherwise be stored and
// audited as "k\uFFFD1", a name the client never sent; JSON exchanged
// between systems is UTF-8 (RFC 8259 §8.1). The admin API, the agent API
// and SCIM refuse such a body with what this says.
func BadJSONText(b []byte) string {
	if !utf8.Valid(b) {
		return "the body must be UTF-8 text: it holds bytes that are not UTF-8 (send JSON encoded as UTF-8)"
	}
	if esc, ok := LoneSurrogate(b); ok {
		return "the body must be Unicode text: " + esc + " is half of a UTF-16 surrogate pair without the other half, which is no character (escape a character above U+FFFF as a pair, such as \\ud83d\\ude00, or send it as UTF-8)"
	}
	return ""
}

// LoneSurrogate reports the first \u escape in the JSON text b that names
// half of a UTF-16 surrogate pair on its own ("\ud800", "\udfff", a high
// half not directly followed by the escape of a low half), which is no
// character. encoding/json reads U+FFFD in its place without an error, so
// a value stored from such a body is not the one the client sent: the
// admin API, the agent API and SCIM refuse the body (400), as they refuse
// bytes that are not UTF-8.
//
// It scans escapes, not strings: a backslash outside a string is no JSON
// anyway, and encoding/json reports it. An escape that is not \u and four
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
