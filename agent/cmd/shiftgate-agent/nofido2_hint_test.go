//go:build !fido2

package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestFIDO2NotBuiltSaysHowToGetIt: asking a binary without the fido2 tag
// for hardware keys says how to build one that has them, and names the
// software alternative.
func TestFIDO2NotBuiltSaysHowToGetIt(t *testing.T) {
	for _, command := range []string{"run", "register"} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{command, "--state", "x", "--authenticator", "fido2"}, strings.NewReader(""), &stdout, &stderr)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", command, code)
		}
		for _, want := range []string{"go build -tags fido2 ./agent/cmd/shiftgate-agent", "libfido2-dev", "soft:DIR"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("%s: stderr %q does not contain %q", command, stderr.String(), want)
			}
		}
	}
}
