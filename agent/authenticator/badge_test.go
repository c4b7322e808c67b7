package authenticator

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validBadge = `{
  "version": 1,
  "aaguid": "5f0a6c7e-3b1d-4c9a-9e2f-8d4b7a1c6e35",
  "userVerification": false,
  "attestation": "packed",
  "transports": ["nfc"],
  "credentials": [{
    "id": "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
    "rpId": "localhost",
    "userHandle": "dWlkLWFuYQ",
    "userName": "ana",
    "discoverable": true,
    "privateKey": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAnck",
    "signCount": 7
  }]
}`

func TestParseBadge(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr []string // each must appear: validation reports every problem at once
	}{
		{name: "valid", data: validBadge},
		{name: "empty", data: "", wantErr: []string{"EOF"}},
		{name: "not an object", data: "[]", wantErr: []string{"cannot unmarshal"}},
		{name: "unknown field", data: strings.Replace(validBadge, `"version"`, `"extra": 1, "version"`, 1), wantErr: []string{"unknown field"}},
		{name: "trailing data", data: validBadge + "{}", wantErr: []string{"trailing"}},
		{name: "many problems", data: `{"version": 2, "aaguid": "nope", "attestation": "tpm", "transports": [""],
			"credentials": [{"id": "", "rpId": "", "userHandle": "", "privateKey": "AAAA"}]}`,
			wantErr: []string{"version 2", `aaguid "nope"`, `attestation "tpm"`, "transports[0]", "credentials[0]: id", "rpId: empty", "userHandle", "privateKey"}},
		{name: "duplicate id", data: strings.Replace(validBadge, `"credentials": [{`, `"credentials": [{
    "id": "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA", "rpId": "x", "userHandle": "dQ",
    "privateKey": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAnck", "discoverable": false, "signCount": 0}, {`, 1),
			wantErr: []string{"duplicate id"}},
		{name: "bad base64", data: strings.Replace(validBadge, `"dWlkLWFuYQ"`, `"dWlk+FuYQ=="`, 1), wantErr: []string{"base64url"}},
		{name: "key out of range", data: strings.Replace(validBadge, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAnck", "__________________________________________8", 1), wantErr: []string{"privateKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := parseBadge([]byte(tt.data))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c := b.Credentials[0]; c.SignCount != 7 || c.UserName != "ana" || string(c.UserHandle) != "uid-ana" {
					t.Fatalf("parsed %+v", c)
				}
				return
			}
			if !errors.Is(err, ErrInvalidBadge) {
				t.Fatalf("err = %v, want ErrInvalidBadge", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewSoftChecks(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".hidden", "../up", "a/b", `a\b`, "sp ace", "ü", strings.Repeat("x", 65)} {
		if _, err := NewSoft(dir, name, SoftOptions{}); !errors.Is(err, ErrInvalidName) {
			t.Errorf("NewSoft(%q): %v, want ErrInvalidName", name, err)
		}
	}
	for _, opts := range []SoftOptions{{AAGUID: "not-a-uuid"}, {Attestation: "fido-u2f"}} {
		if _, err := NewSoft(dir, "ok", opts); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("NewSoft(%+v): %v, want ErrInvalidRequest", opts, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"version":1`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSoft(dir, "broken", SoftOptions{}); !errors.Is(err, ErrInvalidBadge) {
		t.Errorf("corrupt badge: %v, want ErrInvalidBadge", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "good.json"), []byte(validBadge), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file's settings win over the options: UV stays off.
	s, err := NewSoft(dir, "good", SoftOptions{UserVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAssertion(t.Context(), GetRequest{RPID: "localhost", ClientDataHash: make([]byte, 32), UserVerification: UVRequired})
	if !errors.Is(err, ErrUVUnavailable) {
		t.Errorf("UV required on a badge file without UV: %v, want ErrUVUnavailable", err)
	}
}

// FuzzParseBadge checks that loading a badge file never panics, and that whatever it accepts
// survives a write and a reload unchanged.
func FuzzParseBadge(f *testing.F) {
	f.Add([]byte(validBadge))
	f.Add([]byte(`{"version":1,"aaguid":"00000000-0000-0000-0000-000000000000","attestation":"none","transports":[],"credentials":[]}`))
	f.Add([]byte(`{"credentials":[{"id":null,"privateKey":"!"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := parseBadge(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidBadge) {
				t.Fatalf("error %v does not wrap ErrInvalidBadge", err)
			}
			return
		}
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := parseBadge(out)
		if err != nil {
			t.Fatalf("re-parse of accepted badge: %v", err)
		}
		out2, _ := json.Marshal(b2)
		if string(out) != string(out2) {
			t.Fatalf("round trip changed the badge:\n%s\n%s", out, out2)
		}
	})
}
