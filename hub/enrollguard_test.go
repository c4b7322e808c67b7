package hub_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestEnrollmentGuessesConcurrent: wrong enrollment codes sent all at
// once from one address get exactly the limit checked (403) and the rest
// refused (429), as one after the other would; a good code from there is
// refused then. Good codes sent all at once from one address, more than
// the limit, all enroll: turns taken by attempts in flight make the
// others wait, not fail. (Checked one after the other, wrong codes could
// not overshoot even before the guard took turns: the test holds the
// store's writer so that they are checked together, as under load.)
func TestEnrollmentGuessesConcurrent(t *testing.T) {
	const limit = 20 // hub.enrollFailLimit
	h := hubtest.Start(t, hubtest.Options{})
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, "kiosk")
	if err != nil {
		t.Fatal(err)
	}
	enroll := func(remoteAddr, code string) int {
		b, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: "generic-x86"})
		req := httptest.NewRequest("POST", wire.EnrollPath, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = remoteAddr
		rec := httptest.NewRecorder()
		h.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	// all sends one request per code at once from remoteAddr and counts
	// the answers by status. The store's writer is kept busy meanwhile
	// (a transaction held open for a moment), as under load: the codes
	// are all being checked at the same time, not one after the other.
	all := func(remoteAddr string, codes []string) map[int]int {
		held, release, released := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			released <- h.Store().InTx(t.Context(), func(store.Ops) error {
				close(held)
				<-release
				return nil
			})
		}()
		<-held
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			counts = map[int]int{}
		)
		for _, c := range codes {
			wg.Go(func() {
				status := enroll(remoteAddr, c)
				mu.Lock()
				counts[status]++
				mu.Unlock()
			})
		}
		time.Sleep(200 * time.Millisecond) // every request reaches the guard
		close(release)
		if err := <-released; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		return counts
	}

	const n = 4 * limit
	wrong := make([]string, n)
	for i := range wrong {
		wrong[i] = "0000-0000-0000-0000"
	}
	got := all("192.0.2.7:40000", wrong)
	if got[http.StatusForbidden] != limit || got[http.StatusTooManyRequests] != n-limit {
		t.Errorf("%d wrong codes at once from one address: %v (status → count), want %d × 403 and %d × 429", n, got, limit, n-limit)
	}
	if status := enroll("192.0.2.7:40001", enrollmentCode(t, h, "after")); status != http.StatusTooManyRequests {
		t.Errorf("a good code after them: %d, want 429", status)
	}

	good := make([]string, 2*limit)
	for i := range good {
		good[i] = enrollmentCode(t, h, fmt.Sprintf("site-kiosk-%d", i))
	}
	if got := all("198.51.100.7:40000", good); got[http.StatusOK] != len(good) {
		t.Errorf("%d good codes at once from one address: %v (status → count), want all 200", len(good), got)
	}
}
