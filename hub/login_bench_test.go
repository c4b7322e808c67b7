package hub_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// BenchmarkKioskLogin: 64 kiosks, each with its own worker and badge, tap
// in closed loops: assertion, login, sign-out, each tap with the challenge
// the last grant brought (a challenge.request only for the first). Reports
// logins/s and tap-to-grant latency, as shiftgate-sim measures them across
// processes (with the hub's CPU time per login).
func BenchmarkKioskLogin(b *testing.B) {
	const kiosks = 64
	h := hubtest.Start(b, hubtest.Options{})
	type station struct {
		k     *hubtest.Kiosk
		badge authenticator.Authenticator
	}
	stations := make([]station, kiosks)
	var ids []string
	for i := range kiosks {
		name := fmt.Sprintf("w%02d", i)
		r := h.Do(b, "POST", "/scim/v2/Users", userBody(name))
		ids = append(ids, r.JSON()["id"].(string))
		k := h.EnrollKiosk(b, fmt.Sprintf("k%02d", i), "north")
		k.Dial("")
		stations[i] = station{k: k}
	}
	members := ""
	for i, id := range ids {
		if i > 0 {
			members += ","
		}
		members += `{"value":"` + id + `"}`
	}
	h.Do(b, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Nurse","members":[`+members+`]}`)
	for i := range stations {
		stations[i].badge = registerBadge(b, h, stations[i].k, fmt.Sprintf("w%02d", i))
	}
	var (
		mu   sync.Mutex
		lat  []time.Duration
		next = make(chan struct{}, b.N)
	)
	for range b.N {
		next <- struct{}{}
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	c0 := cpuTime(b)
	var wg sync.WaitGroup
	for _, st := range stations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				mine []time.Duration
				ch   *wire.Challenge // the one the last grant brought, as agents keep it
			)
			for range next {
				if ch == nil {
					ch = new(wire.Challenge)
					st.k.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, ch)
				}
				t0 := time.Now()
				assertion, err := authenticator.Authenticate(b.Context(), st.badge, ch.Origin, ch.Options)
				if err != nil {
					b.Error(err)
					return
				}
				var g wire.SessionGrant
				st.k.Call(wire.TypeLogin, wire.Login{Credential: assertion}, wire.TypeSessionGrant, &g)
				mine = append(mine, time.Since(t0))
				ch = g.NextChallenge
				st.k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime(b) - c0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
	// The process's CPU time per login: the kiosks' side (signing, their
	// end of TLS) is in it too, but it says more than wall time on a
	// shared machine.
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	reportLatency(b, lat)
}
