package console

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseInvite: an invite token arrives in a URL and a request body.
// parseInvite takes only a 256-bit secret behind the sgi_ prefix, and a
// secret written as newInvite writes it reads back as itself.
func FuzzParseInvite(f *testing.F) {
	secret := bytes.Repeat([]byte{0xa5}, secretBytes)
	token := invitePrefix + base64.RawURLEncoding.EncodeToString(secret)
	for _, s := range []string{token, " " + token + "\n", token[:len(token)-1], token + "A", strings.TrimPrefix(token, invitePrefix),
		invitePrefix + base64.StdEncoding.EncodeToString(secret), invitePrefix, "", "sgi_\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		b, ok := parseInvite(token)
		if !ok {
			if b != nil {
				t.Fatalf("parseInvite(%q) = %x, refused", token, b)
			}
			return
		}
		if len(b) != secretBytes {
			t.Fatalf("parseInvite(%q) = %d bytes; want %d", token, len(b), secretBytes)
		}
		again := invitePrefix + base64.RawURLEncoding.EncodeToString(b)
		if back, ok := parseInvite(again); !ok || !bytes.Equal(back, b) {
			t.Fatalf("parseInvite(%q) = %x, written %q, reads back as %x, %v", token, b, again, back, ok)
		}
	})
}

// FuzzCookieSecret: the session cookie comes with every console request;
// cookieSecret takes only a 256-bit secret, and a secret written as
// startSession writes it reads back as itself.
func FuzzCookieSecret(f *testing.F) {
	secret := bytes.Repeat([]byte{0x5a}, secretBytes)
	value := base64.RawURLEncoding.EncodeToString(secret)
	for _, s := range []string{value, value[:len(value)-1], value + "A", base64.StdEncoding.EncodeToString(secret), "", "\"" + value + "\""} {
		f.Add(s)
	}
	cookie := func(value string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "https://127.0.0.1/", nil)
		r.Header.Set("Cookie", CookieName+"="+value)
		return r
	}
	f.Fuzz(func(t *testing.T, value string) {
		b, ok := cookieSecret(cookie(value))
		if !ok {
			return
		}
		if len(b) != secretBytes {
			t.Fatalf("cookieSecret(%q) = %d bytes; want %d", value, len(b), secretBytes)
		}
		again := base64.RawURLEncoding.EncodeToString(b)
		if back, ok := cookieSecret(cookie(again)); !ok || !bytes.Equal(back, b) {
			t.Fatalf("cookieSecret(%q) = %x, written %q, reads back as %x, %v", value, b, again, back, ok)
		}
	})
}
