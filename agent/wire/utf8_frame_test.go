package wire

import (
	"errors"
	"testing"
)

// TestDecodeRefusesBytesThatAreNotUTF8: a frame with bytes that are not
// UTF-8 is malformed, on the fast path (they can only be in data there)
// and on encoding/json's, which would read U+FFFD in their place: a
// login for "k\xff1" must not reach the hub as one for "k\uFFFD1". The
// frame's ID is kept, so that the answer can name it.
func TestDecodeRefusesBytesThatAreNotUTF8(t *testing.T) {
	for _, tt := range []struct {
		name, frame, id string
	}{
		{"in data, fast path", "{\"v\":1,\"type\":\"login\",\"id\":\"l1\",\"data\":{\"user\":\"k\xff1\"}}", "l1"},
		{"cut sequence in data", "{\"v\":1,\"type\":\"login\",\"id\":\"l2\",\"data\":[\"\xc3\"]}", "l2"},
		{"in a key of data", "{\"v\":1,\"type\":\"login\",\"id\":\"l3\",\"data\":{\"\xfe\":1}}", "l3"},
		{"in the type", "{\"v\":1,\"type\":\"ack\xff\",\"id\":\"l4\"}", "l4"},
		{"surrogate encoded as UTF-8", "{\"v\":1,\"type\":\"ack\",\"re\":\"\xed\xa0\x80\",\"id\":\"l5\"}", "l5"},
		{"spaced, slow path", "{ \"v\":1, \"type\":\"login\", \"id\":\"l6\", \"data\":{\"user\":\"k\xff1\"} }", "l6"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Decode([]byte(tt.frame))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%q) = %+v, %v; want ErrMalformed", tt.frame, e, err)
			}
			if e.ID != tt.id {
				t.Errorf("Decode(%q): ID %q, want %q for the answer", tt.frame, e.ID, tt.id)
			}
		})
	}
	// UTF-8 beyond ASCII is text like any other.
	if e, err := Decode([]byte(`{"v":1,"type":"login","id":"l7","data":{"user":"Zoë 😀"}}`)); err != nil || string(e.Data) != `{"user":"Zoë 😀"}` {
		t.Errorf("Decode of UTF-8 data: %+v, %v", e, err)
	}
}
