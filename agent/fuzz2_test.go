package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzReadEnrollment checks that any state.json either fails to load or is
// one JSON object that passes Validate (a hub URL the client can dial, a
// device ID, a profile), and survives a write and a read unchanged.
func FuzzReadEnrollment(f *testing.F) {
	f.Add([]byte(`{"version":1,"hub_url":"https://hub.example:8443","device_id":"dev-42","device_name":"Ward 3","site":"north","profile":"generic-x86","enrolled_at":"2026-03-02T07:00:00Z"}`))
	f.Add([]byte(`{"version":1,"hub_url":"https://hub.example:8443/","device_id":"d","profile":"p","enrolled_at":"2026-03-02T07:00:00+05:30"}`))
	f.Add([]byte(`{"version":1,"hub_url":"http://hub","device_id":"","profile":""}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"hub_url":"https://h","device_id":"d","profile":"p"} {"device_id":"other"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, EnrollmentFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := ReadEnrollment(dir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "read enrollment") {
				t.Fatalf("error %q does not say what it was reading", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which is not one JSON value", data)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted an enrollment that does not validate: %v", err)
		}
		u, err := parseHubURL(e.HubURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" {
			t.Fatalf("accepted hub URL %q: %v, %v", e.HubURL, u, err)
		}
		if err := writeJSON(filepath.Join(dir, EnrollmentFile), e); err != nil {
			t.Fatal(err)
		}
		again, err := ReadEnrollment(dir)
		if err != nil {
			t.Fatalf("reading back what was written: %v", err)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}
