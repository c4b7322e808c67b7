package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzSessionState checks that any session.json either fails to load or
// survives a write and a read unchanged.
func FuzzSessionState(f *testing.F) {
	f.Add([]byte(`{"version":1,"session":null,"pending":[]}`))
	f.Add([]byte(`{"version":1,"session":{"id":"s1","user":"ana","role":"nurse","apps":["emr"],"expires_at":"2026-03-02T15:00:00Z","ending":"signout","report":true},"pending":[{"session_id":"s0","reason":"expired"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, SessionFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := readSessionState(dir)
		if err != nil {
			return
		}
		if err := writeSessionState(dir, st); err != nil {
			t.Fatal(err)
		}
		again, err := readSessionState(dir)
		if err != nil {
			t.Fatalf("reading back what was written: %v", err)
		}
		if st.Pending == nil {
			st.Pending = again.Pending
		}
		if diff := cmp.Diff(st, again); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseHubURL checks that an accepted hub URL is always https with a
// host and nothing after it.
func FuzzParseHubURL(f *testing.F) {
	for _, s := range []string{"https://hub.example:8443", "https://127.0.0.1:8443/", "http://x", "https://u:p@h/", "https://h/path?q"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseHubURL(s)
		if err != nil {
			return
		}
		if u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			t.Errorf("%q accepted as %#v", s, u)
		}
	})
}
