package hub

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// FuzzDecodeLogin holds decodeLogin to env.Unmarshal on every login data
// wire.Decode lets through (valid JSON): the same credential, bytes for
// bytes, or the same refusal.
func FuzzDecodeLogin(f *testing.F) {
	for _, s := range []string{
		`{"credential":{"id":"abc","response":{"clientDataJSON":"x}\"{"}}}`,
		`{"credential":{}}`,
		`{"credential":{"a":[1,{"b":"]"}]}}`,
		`{"credential":{},"credential":{"id":"last"}}`,
		`{"credential":{"x":"\\"},"other":1}`,
		`{"Credential":{"id":"folded"}}`,
		`{"credential": {"id":"spaced"}}`,
		`{"credential":null}`,
		`{"credential":"abc"}`,
		`{"credential":[{}]}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return // wire.Decode refuses the frame
		}
		env := wire.Envelope{V: wire.Version, Type: wire.TypeLogin, Data: data}
		var got, want wire.Login
		gotErr := decodeLogin(env, &got)
		wantErr := env.Unmarshal(&want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%s: error %v, want %v", data, gotErr, wantErr)
		}
		if !bytes.Equal(got.Credential, want.Credential) {
			t.Fatalf("%s: credential %s, want %s", data, got.Credential, want.Credential)
		}
	})
}

// TestPlainLogin: the form agents send takes the short way, the others
// env.Unmarshal's (FuzzDecodeLogin holds both to the same answers).
func TestPlainLogin(t *testing.T) {
	tests := []struct {
		data string
		want string // "" for env.Unmarshal's way
	}{
		{`{"credential":{"id":"a","response":{"s":"}\"{"}}}`, `{"id":"a","response":{"s":"}\"{"}}`},
		{`{"credential":{}}`, `{}`},
		{`{"credential":{},"credential":{"id":"last"}}`, ""},
		{`{"credential":{"x":1},"other":1}`, ""},
		{`{"Credential":{}}`, ""},
		{`{"credential": {}}`, ""},
		{`{"credential":null}`, ""},
		{`{"credential":{}`, ""},
	}
	for _, tc := range tests {
		cred, ok := plainLogin([]byte(tc.data))
		if ok != (tc.want != "") || string(cred) != tc.want {
			t.Errorf("plainLogin(%s) = %s, %v; want %s", tc.data, cred, ok, tc.want)
		}
	}
}
