//go:build !fido2

package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent"
)

// TestFIDO2NotBuiltSaysHowToGetIt: asking a kiosk built without the fido2
// tag for the hardware reader says how to build one that has it, and names
// the alternatives.
func TestFIDO2NotBuiltSaysHowToGetIt(t *testing.T) {
	err := run(t.Context(), []string{"--state", t.TempDir(), "--authenticator", "fido2"}, noEnv, io.Discard, io.Discard, nil)
	if !errors.Is(err, agent.ErrFIDO2NotBuilt) {
		t.Fatalf("run: %v, want ErrFIDO2NotBuilt", err)
	}
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"shiftgate-kiosk: " + agent.ErrFIDO2NotBuilt.Error(), "libfido2-dev", "go build -tags fido2 ./ui/cmd/shiftgate-kiosk", "soft:DIR", "--demo"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q does not contain %q", stderr.String(), want)
		}
	}
}
