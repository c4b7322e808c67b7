package sim

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestAPIFollowsNoRedirect: a redirect answered to the simulator's admin,
// SCIM or enrollment requests is the error of an unexpected status, and
// nothing is sent where it points: Go's client would re-send a 307's POST,
// with its bearer token (the same host) and its body (an enrollment code),
// to the Location.
func TestAPIFollowsNoRedirect(t *testing.T) {
	var (
		mu    sync.Mutex
		moved []string // what reached the redirect's target
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			moved = append(moved, r.Method+" "+r.Header.Get("Authorization")+" "+string(b))
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"code":"from-the-redirect"}`)
			return
		}
		http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dial, err := newPinnedDialer(t.Context(), srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	a := newAPI(srv.URL, pool, dial, "admin-secret", "scim-secret", 1)
	t.Cleanup(a.close)

	code, err := a.deviceCode(t.Context(), "k1", "north")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusTemporaryRedirect {
		t.Errorf("deviceCode = %q, %v; want the HTTP 307 as an error", code, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(moved) > 0 {
		t.Errorf("the redirect's target got %q; want nothing sent there", strings.Join(moved, "; "))
	}
}
