package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReadCommandsBesideServe: the commands that only read (they open the
// database read-only) work beside a running hub that holds hub.lock and
// writes (SCIM users created all the while), every time, and leave it
// serving; the trail the hub wrote meanwhile verifies once it has stopped.
func TestReadCommandsBesideServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr, c, stop := startHub(t, dir)
	due := time.Now().Add(72 * time.Hour).UTC().Format(time.DateOnly)
	var campaign, tok string
	for _, args := range [][]string{
		{"token", "create", "--data", dir, "--name", "idp", "--scope", "scim"},
		{"site", "set", "--data", dir, "--name", "north", "--time-zone", "Europe/Berlin"},
		{"review", "start", "--data", dir, "--name", "q3", "--due", due},
	} {
		code, out, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("%v beside the hub: exit %d, %q", args[:2], code, errs)
		}
		switch args[0] {
		case "token":
			tok = strings.TrimSpace(out)
		case "review":
			campaign = strings.TrimSpace(out)
		}
	}

	// The hub writes while the commands read.
	done := make(chan struct{})
	var wg sync.WaitGroup
	var created int
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(time.Minute)
		for i := 0; i < 100_000 && time.Now().Before(deadline); i++ {
			select {
			case <-done:
				return
			default:
			}
			body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"worker-%d","active":true}`, i)
			req, _ := http.NewRequest("POST", "https://"+addr+"/scim/v2/Users", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/scim+json")
			resp, err := c.Do(req)
			if err != nil {
				writeErr = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				writeErr = fmt.Errorf("SCIM create %d = %d", i, resp.StatusCode)
				return
			}
			created++
		}
		writeErr = fmt.Errorf("the writer ran out of requests before the commands were done (%d users)", created)
	}()

	for round := range 3 {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"token", "list", "--data", dir}, "idp"},
			{[]string{"device", "list", "--data", dir}, "LAST SEEN"},
			{[]string{"site", "list", "--data", dir}, "Europe/Berlin"},
			{[]string{"review", "list", "--data", dir}, campaign},
			{[]string{"review", "show", "--data", dir, "--id", campaign}, "q3  due"},
			{[]string{"review", "show", "--data", dir, "--id", campaign, "--format", "csv"}, "campaign_id"},
			{[]string{"findings", "--data", dir, "--format", "csv"}, "id,kind,rule"},
			{[]string{"report", "--data", dir}, "access_review_completion_rate"},
		} {
			code, out, errs := run(t, tc.args...)
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("round %d, %v beside a writing hub: exit %d, stdout %q, stderr %q; want %q", round, tc.args[:2], code, out, errs, tc.want)
			}
		}
	}
	close(done)
	wg.Wait()
	t.Logf("the hub created %d users while the commands read", created)
	if writeErr != nil || created == 0 {
		t.Fatalf("the hub's writes: %d users created, %v", created, writeErr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "hub.lock")); err != nil || strings.TrimSpace(string(b)) == "" {
		t.Errorf("hub.lock while the hub runs: %q, %v", b, err)
	}
	resp, err := c.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("the hub stopped answering: %v", err)
	}
	resp.Body.Close()
	if code := stop(); code != 0 {
		t.Errorf("hub exited %d on SIGTERM", code)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir); code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Errorf("audit verify after the run: exit %d, %q, %q", code, out, errs)
	}
}
