package store

import (
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/agent/wire"
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
// It is the kiosk channel's check (wire.LoneSurrogate), so that the hub's
// HTTP APIs and its kiosk channel refuse the same text.
func LoneSurrogate(b []byte) (string, bool) { return wire.LoneSurrogate(b) }
