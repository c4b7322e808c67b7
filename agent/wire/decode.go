package wire

import (
	"bytes"
	"encoding/json"
)

// decodeFast parses a frame written the way Encode writes one: an object
// with no whitespace around its members, whose keys are "v", "type", "id",
// "re" and "data", each at most once, in any order; v a plain integer; the
// strings printable ASCII without escapes; data an object or an array. That
// is every frame either side of the channel sends, and this reads one in a
// fraction of what encoding/json's reflection takes (ten thousand acks at
// once in a mass revoke, a login's frame on every tap).
//
// ok is false for anything else, and Decode hands the frame to
// encoding/json, which has the last word on every frame this does not
// take (FuzzDecode holds the two to the same answers). Data is a copy: the
// caller may reuse frame.
func decodeFast(frame []byte) (e Envelope, ok bool) {
	if len(frame) < 2 || frame[0] != '{' || frame[len(frame)-1] != '}' {
		return e, false
	}
	var seen uint8
	i := 1
	for {
		key, next, ok := plainString(frame, i)
		if !ok || next >= len(frame) || frame[next] != ':' {
			return e, false
		}
		i = next + 1
		var bit uint8
		switch string(key) {
		case "v":
			bit = 1
			v, n, ok := plainInt(frame, i)
			if !ok {
				return e, false
			}
			e.V, i = v, n
		case "type", "id", "re":
			s, n, ok := plainString(frame, i)
			if !ok {
				return e, false
			}
			switch string(key) {
			case "type":
				bit, e.Type = 2, string(s)
			case "id":
				bit, e.ID = 4, string(s)
			default:
				bit, e.Re = 8, string(s)
			}
			i = n
		case "data":
			bit = 16
			n, ok := valueEnd(frame, i)
			if !ok || !json.Valid(frame[i:n]) {
				return e, false
			}
			e.Data = bytes.Clone(frame[i:n])
			i = n
		default:
			return e, false
		}
		if seen&bit != 0 {
			return e, false // a repeated key: encoding/json keeps the last
		}
		seen |= bit
		if i >= len(frame) {
			return e, false
		}
		switch frame[i] {
		case ',':
			i++
		case '}':
			return e, i == len(frame)-1
		default:
			return e, false
		}
	}
}

// plainString reads the string starting at frame[i] (a quote) if it holds
// only printable ASCII and no escapes; next is the index after its
// closing quote.
func plainString(frame []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(frame) || frame[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(frame); j++ {
		switch c := frame[j]; {
		case c == '"':
			return frame[i+1 : j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// plainInt reads a JSON integer of at most nine digits, without sign,
// fraction or exponent, starting at frame[i].
func plainInt(frame []byte, i int) (v, next int, ok bool) {
	j := i
	for j < len(frame) && j-i < 10 && frame[j] >= '0' && frame[j] <= '9' {
		v = v*10 + int(frame[j]-'0')
		j++
	}
	switch {
	case j == i, j-i > 9, frame[i] == '0' && j-i > 1:
		return 0, 0, false
	}
	return v, j, true
}

// valueEnd finds the end of the object or array starting at frame[i] by
// its brackets, skipping strings. It does not validate what is between
// (json.Valid does).
func valueEnd(frame []byte, i int) (next int, ok bool) {
	if i >= len(frame) || frame[i] != '{' && frame[i] != '[' {
		return 0, false
	}
	depth := 0
	for j := i; j < len(frame); j++ {
		switch frame[j] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		case '"':
			for j++; j < len(frame) && frame[j] != '"'; j++ {
				if frame[j] == '\\' {
					j++
				}
			}
		}
	}
	return 0, false
}
