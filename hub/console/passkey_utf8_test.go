package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// The passkey endpoints refuse a JSON body with bytes that are not UTF-8
// (400), as the admin API, the agent API and SCIM do: encoding/json would
// read U+FFFD in their place, and go-webauthn reads the credential the
// same way. Each body is otherwise one that the endpoint takes, so the
// refusal is the bytes' alone; the ceremonies stay usable afterwards.
func TestPasskeyBodyNotUTF8Is400(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, h, nil)
	refused := func(path, body string) {
		t.Helper()
		r := c.do("POST", path, body, "Content-Type", "application/json", "Accept", "application/json")
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "UTF-8") {
			t.Errorf("POST %s with bytes that are not UTF-8: %d %s, want 400 naming UTF-8", path, r.Status, r.Body)
		}
	}

	refused("/console/auth/register/begin", "{\"token\":\""+tok+"\",\"x\":\"\xff\"}")

	begin := c.jsonCall("/console/auth/register/begin", map[string]string{"token": tok}, 200)
	cred, err := authenticator.Register(t.Context(), c.badge, h.URL, begin["options"])
	if err != nil {
		t.Fatal(err)
	}
	finish := func(x string) string {
		b, err := json.Marshal(map[string]any{"token": tok, "ceremony": json.RawMessage(begin["ceremony"]), "credential": json.RawMessage(cred)})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Replace(string(b), "{", "{\"x\":\""+x+"\",", 1)
	}
	refused("/console/auth/register/finish", finish("\xc3"))
	// Refused before the ceremony was taken: the same one goes on.
	if r := c.do("POST", "/console/auth/register/finish", finish("é"), "Content-Type", "application/json"); r.Status != http.StatusOK {
		t.Fatalf("register after the refusal: %d %s", r.Status, r.Body)
	}

	signin := newClient(t, h, c.badge)
	lb := signin.jsonCall("/console/auth/login/begin", map[string]string{}, 200)
	assertion, err := authenticator.Authenticate(t.Context(), c.badge, h.URL, lb["options"])
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"ceremony": json.RawMessage(lb["ceremony"]), "credential": json.RawMessage(assertion)})
	if err != nil {
		t.Fatal(err)
	}
	r := signin.do("POST", "/console/auth/login/finish", strings.Replace(string(body), "{", "{\"x\":\"\xfe\",", 1), "Content-Type", "application/json", "Accept", "application/json")
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "UTF-8") {
		t.Errorf("POST /console/auth/login/finish with bytes that are not UTF-8: %d %s, want 400 naming UTF-8", r.Status, r.Body)
	}
	if r := signin.do("POST", "/console/auth/login/finish", string(body), "Content-Type", "application/json"); r.Status != http.StatusOK {
		t.Fatalf("sign-in after the refusal: %d %s", r.Status, r.Body)
	}
}
