package authn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
)

// TestLoginOptionsTemplate holds the options BeginLogin fills in from its
// template to what json.Marshal makes of the assertion go-webauthn builds
// for the same challenge, byte for byte.
func TestLoginOptionsTemplate(t *testing.T) {
	e := newEnv(t)
	if !e.rp.loginOpts.ok {
		t.Fatal("no options template: BeginLogin marshals the options of every login")
	}
	for i := range 50 {
		ch, err := e.rp.BeginLogin(fmt.Sprintf("kiosk-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		var got protocol.CredentialAssertion
		if err := json.Unmarshal(ch.Options, &got); err != nil {
			t.Fatalf("options %s: %v", ch.Options, err)
		}
		challenge := []byte(got.Response.Challenge)
		if len(challenge) != challengeLen {
			t.Fatalf("challenge %s is %d bytes, want %d", base64.RawURLEncoding.EncodeToString(challenge), len(challenge), challengeLen)
		}
		assertion, _, err := e.rp.beginDiscoverable(challenge)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(assertion)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ch.Options, want) {
			t.Fatalf("options\n%s\nwant\n%s", ch.Options, want)
		}
	}
}
