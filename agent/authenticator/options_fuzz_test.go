package authenticator

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzDecodeOptions: a ceremony's options come from the hub, as JSON with
// or without the {"publicKey": …} wrapper. decodeOptions refuses with
// ErrInvalidOptions; what it accepts, written again bare or wrapped,
// reads back the same (an empty list, which the options leave out when
// written, reads back as none).
func FuzzDecodeOptions(f *testing.F) {
	for _, s := range []string{
		`{"publicKey":{"challenge":"AAEC","rpId":"localhost","timeout":60000,"allowCredentials":[{"type":"public-key","id":"AQID"}],"userVerification":"required"}}`,
		`{"challenge":"AAEC","rpId":"localhost"}`, `{"publicKey":null,"challenge":"AAEC"}`, `{"publicKey":"x"}`, `{"challenge":"!!"}`,
		`null`, `[]`, ``, `{"publicKey":{"challenge":"AAEC","extensions":{"credProps":true}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var opts protocol.PublicKeyCredentialRequestOptions
		if err := decodeOptions(data, &opts); err != nil {
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("decodeOptions(%q) error is not ErrInvalidOptions: %v", data, err)
			}
			return
		}
		bare, err := json.Marshal(opts)
		if err != nil {
			t.Fatalf("decodeOptions(%q) = %+v, which does not marshal: %v", data, opts, err)
		}
		wrapped, _ := json.Marshal(map[string]json.RawMessage{"publicKey": bare})
		for _, again := range [][]byte{bare, wrapped} {
			var back protocol.PublicKeyCredentialRequestOptions
			if err := decodeOptions(again, &back); err != nil {
				t.Fatalf("decodeOptions(%q) = %+v, written as %s: %v", data, opts, again, err)
			}
			if diff := cmp.Diff(opts, back, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("decodeOptions(%q) written as %s reads back differently (-first +again):\n%s", data, again, diff)
			}
		}
	})
}
