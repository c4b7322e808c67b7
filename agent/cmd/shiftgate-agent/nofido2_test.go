//go:build !fido2

package main

import (
	"bytes"
	"strings"
	"testing"
)

// Without the fido2 build tag, asking for hardware keys says how to get them.
func TestFIDO2NotBuilt(t *testing.T) {
	for _, command := range []string{"run", "register"} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{command, "--state", "x", "--authenticator", "fido2"}, strings.NewReader(""), &stdout, &stderr)
		if want := "hardware FIDO2 support is not built in this binary (build tag fido2)"; code != 1 || !strings.Contains(stderr.String(), want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", command, code, stderr.String(), want)
		}
	}
}
