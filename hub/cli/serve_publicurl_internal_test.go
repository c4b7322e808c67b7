package cli

import "testing"

// TestLocalOnlyURL: serve warns when it listens on every interface and,
// without --public-url, takes https://localhost as its public URL (the
// WebAuthn origin), which no other machine can sign in through.
func TestLocalOnlyURL(t *testing.T) {
	for _, tc := range []struct {
		listen, public string
		want           bool
	}{
		{":8443", "", true},
		{"0.0.0.0:8443", "", true},
		{"[::]:8443", "", true},
		{":8443", "https://hub.example.org:8443", false},
		{"127.0.0.1:8443", "", false},
		{"[::1]:8443", "", false},
		{"10.0.0.5:8443", "", false},
		{"hub.example.org:8443", "", false},
		{"not an address", "", false},
	} {
		if got := localOnlyURL(tc.listen, tc.public); got != tc.want {
			t.Errorf("localOnlyURL(%q, %q) = %v, want %v", tc.listen, tc.public, got, tc.want)
		}
	}
}
