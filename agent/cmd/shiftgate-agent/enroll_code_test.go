package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// codeHub is a hub's enrollment endpoint over HTTPS on loopback that
// enrolls any code and records the codes it was sent.
type codeHub struct {
	url, ca string
	mu      sync.Mutex
	codes   []string
}

func newCodeHub(t *testing.T) *codeHub {
	t.Helper()
	pki := certstest.New(t)
	h := &codeHub{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req wire.EnrollRequest
		if r.URL.Path != wire.EnrollPath || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.NotFound(w, r)
			return
		}
		h.mu.Lock()
		h.codes = append(h.codes, req.Code)
		h.mu.Unlock()
		der, err := pki.CA.SignDeviceCSR(req.CSR, "dev-1", time.Hour, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(wire.EnrollResponse{DeviceID: "dev-1", DeviceName: "k1", Site: "north", Cert: der})
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*pki.Hub.Certificate()}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h.url = srv.URL
	h.ca = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(h.ca, pki.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *codeHub) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.codes...)
}

// unreadable fails the test if enroll reads standard input.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("enroll read standard input")
	return 0, io.EOF
}

// TestEnrollCodeOffCommandLine: the one-time code can be kept out of
// /proc/PID/cmdline, which every local user can read while enroll runs:
// "--code -" reads it from the first line of standard input, and without
// --code it comes from SHIFTGATE_ENROLL_CODE. Surrounding spaces and the
// line end are no part of the code; --code CODE still works and wins over
// the environment.
func TestEnrollCodeOffCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		code  []string // the --code flag, if any
		stdin string
		env   string
		want  string // the code the hub got
	}{
		{name: "stdin", code: []string{"--code", "-"}, stdin: "c0de-stdin\n", want: "c0de-stdin"},
		{name: "stdin with trailing space and CRLF", code: []string{"--code", "-"}, stdin: "  c0de-stdin \r\nnext line\n", want: "c0de-stdin"},
		{name: "stdin without newline", code: []string{"--code", "-"}, stdin: "c0de-stdin", want: "c0de-stdin"},
		{name: "stdin wins over env", code: []string{"--code", "-"}, stdin: "c0de-stdin\n", env: "c0de-env", want: "c0de-stdin"},
		{name: "env", env: "c0de-env", want: "c0de-env"},
		{name: "env with trailing newline and space", env: "c0de-env \n", want: "c0de-env"},
		{name: "env with empty --code", code: []string{"--code", ""}, env: "c0de-env", want: "c0de-env"},
		{name: "flag", code: []string{"--code", "c0de-flag "}, want: "c0de-flag"},
		{name: "flag wins over env", code: []string{"--code", "c0de-flag"}, env: "c0de-env", want: "c0de-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(codeEnv, tc.env)
			hub := newCodeHub(t)
			state := filepath.Join(t.TempDir(), "state")
			args := append([]string{"enroll", "--hub", hub.url, "--ca", hub.ca, "--state", state, "--profile", "ward"}, tc.code...)
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), args, strings.NewReader(tc.stdin), &stdout, &stderr); code != 0 {
				t.Fatalf("enroll: exit %d: %s", code, stderr.String())
			}
			if got := hub.got(); len(got) != 1 || got[0] != tc.want {
				t.Errorf("hub got codes %q, want [%q]", got, tc.want)
			}
			if !strings.Contains(stdout.String(), "enrolled as device dev-1") {
				t.Errorf("stdout %q", stdout.String())
			}
			if _, err := os.Stat(filepath.Join(state, "state.json")); err != nil {
				t.Errorf("not enrolled: %v", err)
			}
		})
	}
}

// TestEnrollCodeMissing: no code, or an empty one on standard input, is a
// usage mistake (exit 2) that names the three ways to give it; the hub is
// not contacted. Standard input is not read while other flags are missing.
func TestEnrollCodeMissing(t *testing.T) {
	ways := "give the one-time code (shiftgate-hub device code) as --code CODE, as --code - with the code on standard input, or in SHIFTGATE_ENROLL_CODE"
	for _, tc := range []struct {
		name  string
		args  []string
		stdin io.Reader
		env   string
		want  []string
	}{
		{name: "no code anywhere", want: []string{"enroll needs --code (see shiftgate-agent enroll -h)", ways}},
		{name: "empty flag and env", args: []string{"--code", " "}, env: " \n", want: []string{"enroll needs --code", ways}},
		{name: "empty stdin", args: []string{"--code", "-"}, stdin: strings.NewReader(""), want: []string{"--code -: standard input has no code on its first line", ways}},
		{name: "blank first line", args: []string{"--code", "-"}, stdin: strings.NewReader(" \r\nc0de\n"), want: []string{"no code on its first line", ways}},
		{name: "over-long line", args: []string{"--code", "-"}, stdin: strings.NewReader(strings.Repeat("x", 5000)), want: []string{"longer than 1024 bytes", ways}},
		{name: "other flags missing", args: []string{"--code", "-", "--state", ""}, want: []string{"enroll needs --state"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(codeEnv, tc.env)
			hub := newCodeHub(t)
			state := filepath.Join(t.TempDir(), "state")
			args := []string{"enroll", "--hub", hub.url, "--ca", hub.ca, "--state", state, "--profile", "ward"}
			args = append(args, tc.args...)
			stdin := tc.stdin
			if stdin == nil {
				stdin = unreadable{t}
			}
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), args, stdin, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2 (a usage mistake); stderr %q", code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not contain %q", stderr.String(), w)
				}
			}
			if got := hub.got(); len(got) != 0 {
				t.Errorf("hub was sent codes %q", got)
			}
		})
	}
}
