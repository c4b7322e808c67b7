package agent

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// hitRecorder counts the requests a redirect target received, and the
// enrollment codes in them.
type hitRecorder struct {
	mu    sync.Mutex
	hits  []string // METHOD PATH
	codes []string
}

func (h *hitRecorder) record(r *http.Request) {
	var req wire.EnrollRequest
	json.NewDecoder(r.Body).Decode(&req)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hits = append(h.hits, r.Method+" "+r.URL.Path)
	if req.Code != "" {
		h.codes = append(h.codes, req.Code)
	}
}

func (h *hitRecorder) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hits, h.codes = nil, nil
}

func (h *hitRecorder) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.hits, ", ") + " codes " + strings.Join(h.codes, ", ")
}

func (h *hitRecorder) any() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.hits) > 0
}

// TestEnrollRefusesRedirects: a --hub URL that answers the enrollment with
// a redirect (a reverse proxy sending http to https, or to another host
// name) gets neither the code nor anything else sent on. Go's client would
// re-send the POST and its code on a 307 or 308 and turn it into a GET on
// a 302, to any host and over plain http. Enroll fails, saying what to do,
// and stores nothing.
func TestEnrollRefusesRedirects(t *testing.T) {
	pki := certstest.New(t)
	ca := writeCA(t, pki)

	// A plain http listener, as a proxy's redirect to http:// would reach.
	var plain hitRecorder
	plainSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain.record(r)
		http.NotFound(w, r)
	}))
	t.Cleanup(plainSrv.Close)

	// The TLS-verified hub URL: it redirects the enrollment elsewhere and
	// enrolls whatever reaches /moved (which a followed 307 or 308 would).
	var moved hitRecorder
	var target string // where the enrollment path redirects; set per case
	var mu sync.Mutex
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			moved.record(r)
			w.WriteHeader(http.StatusOK)
			return
		}
		mu.Lock()
		to := target
		mu.Unlock()
		code, loc, _ := strings.Cut(to, " ")
		w.Header().Set("Location", loc)
		switch code {
		case "307":
			w.WriteHeader(http.StatusTemporaryRedirect)
		case "308":
			w.WriteHeader(http.StatusPermanentRedirect)
		case "301":
			w.WriteHeader(http.StatusMovedPermanently)
		default:
			w.WriteHeader(http.StatusFound)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*pki.Hub.Certificate()}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name, redirect, mention string
	}{
		{name: "307 to another path", redirect: "307 " + srv.URL + "/moved", mention: `HTTP 307 to "` + srv.URL + `/moved"`},
		{name: "308 relative", redirect: "308 /moved", mention: `HTTP 308 to "` + srv.URL + `/moved"`},
		{name: "302 to plain http", redirect: "302 " + plainSrv.URL + wire.EnrollPath, mention: `HTTP 302 to "` + plainSrv.URL + wire.EnrollPath + `"`},
		{name: "301 to plain http", redirect: "301 " + plainSrv.URL + wire.EnrollPath, mention: "HTTP 301"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			target = tc.redirect
			mu.Unlock()
			moved.reset()
			plain.reset()
			dir := filepath.Join(t.TempDir(), "state")
			_, err := Enroll(t.Context(), EnrollConfig{HubURL: srv.URL, CAFile: ca, Code: "good-code", StateDir: dir, Profile: "ward-tablet"})
			if err == nil {
				t.Fatal("enrolled through a redirect")
			}
			t.Log(err)
			if !errors.Is(err, ErrHubRedirected) {
				t.Errorf("error %v is not ErrHubRedirected", err)
			}
			for _, want := range []string{tc.mention, "not followed", "--hub", "reverse proxy"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if moved.any() || plain.any() {
				t.Errorf("the redirect was followed: redirect target got %s; plain http got %s", moved.String(), plain.String())
			}
			if exists(filepath.Join(dir, EnrollmentFile)) || exists(filepath.Join(dir, KeyFile)) {
				t.Error("a refused enrollment left state behind")
			}
		})
	}

	// A client handed in (tests) does not bring redirects back.
	t.Run("given client", func(t *testing.T) {
		mu.Lock()
		target = "307 /moved"
		mu.Unlock()
		moved.reset()
		hc := srv.Client() // trusts the test server; follows redirects by default
		_, err := Enroll(t.Context(), EnrollConfig{HubURL: srv.URL, CAFile: ca, Code: "good-code", StateDir: filepath.Join(t.TempDir(), "state"),
			Profile: "ward-tablet", HTTPClient: hc})
		if !errors.Is(err, ErrHubRedirected) {
			t.Errorf("error %v, want ErrHubRedirected", err)
		}
		if moved.any() {
			t.Errorf("the redirect was followed: %s", moved.String())
		}
		if hc.CheckRedirect != nil {
			t.Error("Enroll changed the caller's client")
		}
	})
}
