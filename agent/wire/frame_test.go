package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestFrameSizeLimit: Frame gives Encode's frame up to MaxMessageBytes,
// which Decode (and the peer's read limit) takes, and refuses one byte
// more with ErrTooLarge.
func TestFrameSizeLimit(t *testing.T) {
	frameOf := func(n int) Envelope {
		// {"v":1,"type":"t","data":"xxx"} is 28 bytes around the x's.
		return Envelope{V: Version, Type: "t", Data: json.RawMessage(`"` + strings.Repeat("x", n-28) + `"`)}
	}
	b, err := frameOf(MaxMessageBytes).Frame()
	if err != nil || len(b) != MaxMessageBytes {
		t.Fatalf("frame of MaxMessageBytes: %d bytes, %v", len(b), err)
	}
	if _, err := Decode(b); err != nil {
		t.Errorf("Decode of the largest frame: %v", err)
	}
	if _, err := frameOf(MaxMessageBytes + 1).Frame(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("frame of MaxMessageBytes+1: %v, want ErrTooLarge", err)
	}
	if _, err := (Envelope{V: Version, Type: "t", Data: json.RawMessage(`{`)}).Frame(); !errors.Is(err, ErrMalformed) {
		t.Errorf("frame with bad data: %v, want ErrMalformed", err)
	}
}
