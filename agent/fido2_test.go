//go:build fido2

package agent

import (
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

func TestParseAuthenticatorFIDO2(t *testing.T) {
	t.Setenv(fido2PINEnv, "4711")
	src, err := ParseAuthenticator("fido2", authenticator.SoftOptions{})
	if err != nil {
		t.Fatalf("ParseAuthenticator(fido2): %v", err)
	}
	a, err := src("ana")
	if err != nil {
		t.Fatal(err)
	}
	b, err := src("bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(*authenticator.FIDO2); !ok || a != b {
		t.Errorf("src gave %T and %T; want the one *authenticator.FIDO2 for every badge name", a, b)
	}
}
