package authenticator

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseOrigin: the origin a kiosk signs into clientDataJSON comes from
// its enrollment (the hub URL). parseOrigin refuses, with ErrSecurity,
// anything but a secure-context origin; what it accepts it serializes as
// scheme://host[:port] in lower case, https or http on loopback, with no
// user, path, query or fragment, and reads that form back as itself.
func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{testOrigin, "https://LOCALHOST:8443/", "http://localhost:8080", "http://127.0.0.1", "http://[::1]:80",
		"http://hub.example.com", "https://user@hub.example.com", "https://hub.example.com/path", "https://hub.example.com?q",
		"https://hub.example.com#f", "ftp://hub.example.com", "https://", "hub.example.com", "https://xn--bcher-kva.example",
		"https://Bücher.example", "http://127.0.0.2:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		serialized, host, err := parseOrigin(origin)
		if err != nil {
			if !errors.Is(err, ErrSecurity) {
				t.Fatalf("parseOrigin(%q) error is not ErrSecurity: %v", origin, err)
			}
			return
		}
		u, err := url.Parse(serialized)
		if err != nil || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
			serialized != u.Scheme+"://"+u.Host || serialized != strings.ToLower(serialized) {
			t.Fatalf("parseOrigin(%q) = %q: not scheme://host[:port] in lower case (%v)", origin, serialized, err)
		}
		if host != u.Hostname() {
			t.Fatalf("parseOrigin(%q) = %q, host %q; want host %q", origin, serialized, host, u.Hostname())
		}
		if u.Scheme != "https" && (u.Scheme != "http" || host != "localhost" && !isLoopback(host)) {
			t.Fatalf("parseOrigin(%q) = %q: not a secure context", origin, serialized)
		}
		again, againHost, err := parseOrigin(serialized)
		if err != nil || again != serialized || againHost != host {
			t.Fatalf("parseOrigin(%q) = %q, %q; reads back as %q, %q, %v", origin, serialized, host, again, againHost, err)
		}
	})
}
