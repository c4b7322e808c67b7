package wire

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeRefusesLoneSurrogates: a frame that escapes half of a UTF-16
// surrogate pair on its own ("\ud800") is malformed, wherever the escape
// is: encoding/json would read U+FFFD in its place, and a kiosk's error
// report naming "k\ud800" would be logged and audited as "k\uFFFD". The
// frame's ID is kept, so that the answer can name it. A pair is a
// character and goes through, and so is an escaped backslash before "u".
func TestDecodeRefusesLoneSurrogates(t *testing.T) {
	for _, tt := range []struct {
		name, frame, id, esc string
	}{
		{"in data, fast path", `{"v":1,"type":"error","id":"s1","data":{"code":"teardown","message":"k\ud800"}}`, "s1", `\ud800`},
		{"low half in data", `{"v":1,"type":"login","id":"s2","data":["\udfff1"]}`, "s2", `\udfff`},
		{"high half before a character", `{"v":1,"type":"login","id":"s3","data":{"a":"\ud83dx\ude00"}}`, "s3", `\ud83d`},
		{"in a key of data", `{"v":1,"type":"login","id":"s4","data":{"\uDC00":1}}`, "s4", `\uDC00`},
		{"in the type", `{"v":1,"type":"ack\ud800","id":"s5"}`, "s5", `\ud800`},
		{"in re", `{"v":1,"type":"ack","re":"p\ud800","id":"s6"}`, "s6", `\ud800`},
		{"spaced, slow path", `{ "v":1, "type":"login", "id":"s7", "data":{"user":"k\ud800"} }`, "s7", `\ud800`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Decode([]byte(tt.frame))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%s) = %+v, %v; want ErrMalformed", tt.frame, e, err)
			}
			if !strings.Contains(err.Error(), tt.esc) || !strings.Contains(err.Error(), "surrogate") {
				t.Errorf("Decode(%s): %v does not name the escape %s", tt.frame, err, tt.esc)
			}
			if e.ID != tt.id {
				t.Errorf("Decode(%s): ID %q, want %q for the answer", tt.frame, e.ID, tt.id)
			}
		})
	}
	for _, frame := range []string{
		`{"v":1,"type":"login","id":"p1","data":{"user":"\ud83d\ude00"}}`,
		`{"v":1,"type":"login","id":"p2","data":{"user":"\\ud800"}}`,
		`{"v":1,"type":"login","id":"p3","data":{"user":"\ufffd\u00e9"}}`,
	} {
		if _, err := Decode([]byte(frame)); err != nil {
			t.Errorf("Decode(%s): %v, want it decoded", frame, err)
		}
	}
}
