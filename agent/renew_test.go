package agent

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// sleepClock is a fakeClock that reports every AfterFunc delay on sleeps,
// once the timer is armed: the client's renewal loop and reconnect loop
// sleep only through it, so each report says what the client decided to
// wait, and that it is waiting.
type sleepClock struct {
	*fakeClock
	sleeps chan time.Duration
}

func (c *sleepClock) AfterFunc(d time.Duration, f func()) Timer {
	t := c.fakeClock.AfterFunc(d, f)
	c.sleeps <- d
	return t
}

// renewKiosk is a Client on a sleepClock connected to a scripted hub
// (wsServer) that answers cert.renew with answer.
type renewKiosk struct {
	t      *testing.T
	pki    *certstest.PKI
	clock  *sleepClock
	client *Client
	r      *certs.Renewer
	old    *tls.Certificate
	dir    string
	h      *recHandler
	logs   lockedBuffer
	renews chan time.Time // the kiosk's clock at each cert.renew the hub got
}

// renewAnswer is the hub's answer to the n-th cert.renew (from 1), made
// at hubNow by the hub of pki: a wire.Cert or wire.Error to send, or nil
// to drop the channel.
type renewAnswer func(pki *certstest.PKI, n int, csr []byte, hubNow time.Time) any

// startRenewKiosk starts a kiosk whose device certificate (6 days, issued
// 5 days ago) is due for renewal, against a hub whose clock is ahead of
// the kiosk's by hubAhead (welcome's server_time).
func startRenewKiosk(t *testing.T, hubAhead time.Duration, answer renewAnswer) *renewKiosk {
	t.Helper()
	return startRenewKioskIssued(t, hubAhead, 5*24*time.Hour, true, answer)
}

// startRenewKioskIssued is startRenewKiosk with a device certificate
// issued issuedAgo by the kiosk's clock, due for renewal by that clock or
// not as due says.
func startRenewKioskIssued(t *testing.T, hubAhead, issuedAgo time.Duration, due bool, answer renewAnswer) *renewKiosk {
	t.Helper()
	now := time.Now()
	k := &renewKiosk{t: t, pki: certstest.NewAt(t, now), clock: &sleepClock{&fakeClock{now: now}, make(chan time.Duration, 64)},
		dir: t.TempDir(), renews: make(chan time.Time, 64)}
	k.old = k.pki.DeviceAt(t, "kiosk-1", 6*24*time.Hour, now.Add(-issuedAgo))
	if err := writeKeyPair(k.dir, k.old.PrivateKey.(crypto.Signer), k.old.Certificate[0]); err != nil {
		t.Fatal(err)
	}
	r, err := certs.NewRenewer(k.old)
	if err != nil {
		t.Fatal(err)
	}
	if r.NeedsRenewal(now) != due {
		t.Fatalf("the kiosk's certificate is due for renewal: %t, want %t", !due, due)
	}
	k.r = r
	var mu sync.Mutex
	count := 0
	srv := newWSServer(t, k.pki, func(_ int, ws *websocket.Conn, hello wire.Envelope) {
		welcome(t, ws, hello, "", wire.Welcome{ServerTime: k.clock.Now().Add(hubAhead)})
		for {
			e, err := readEnv(ws)
			if err != nil {
				return
			}
			if e.Type != wire.TypeCertRenew {
				continue
			}
			k.renews <- k.clock.Now()
			var req wire.CertRenew
			if err := e.Unmarshal(&req); err != nil {
				t.Errorf("cert.renew: %v", err)
				return
			}
			mu.Lock()
			count++
			n := count
			mu.Unlock()
			switch a := answer(k.pki, n, req.CSR, k.clock.Now().Add(hubAhead)).(type) {
			case nil:
				return // the hub drops the channel
			case wire.Cert:
				sendEnv(t, ws, wire.TypeCert, "", e.ID, a)
			case wire.Error:
				sendEnv(t, ws, wire.TypeError, "", e.ID, a)
			default:
				t.Errorf("renewAnswer returned %T", a)
				return
			}
		}
	})
	k.client = newTestClient(t, k.pki, srv.url, r, func(cfg *ClientConfig) {
		cfg.Clock = k.clock
		cfg.StateDir = k.dir
		cfg.Logger = slog.New(slog.NewTextHandler(&k.logs, nil))
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client log:\n%s", k.logs.String())
		}
	})
	k.h = newRecHandler("")
	runClient(t, k.client, k.h)
	recv(t, k.h.connected, "welcome")
	return k
}

// sleep waits for the client's next sleep and returns its length.
func (k *renewKiosk) sleep() time.Duration {
	k.t.Helper()
	return recv(k.t, k.clock.sleeps, "the client to sleep")
}

// noRenew checks that the hub got no further cert.renew.
func (k *renewKiosk) noRenew(why string) {
	k.t.Helper()
	select {
	case at := <-k.renews:
		k.t.Fatalf("another cert.renew at %s: %s", at.Format(time.RFC3339), why)
	default:
	}
}

// signCSR signs csr for deviceID as the hub does, lifetime from hubNow.
func signCSR(t *testing.T, ca *certs.CA, csr []byte, deviceID string, lifetime time.Duration, hubNow time.Time) []byte {
	t.Helper()
	der, err := ca.SignDeviceCSR(csr, deviceID, lifetime, hubNow)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// craftCert issues, with ca, a certificate for csr's key shaped like a
// device certificate for kiosk-1 from hubNow-1h to hubNow+24h, changed by
// mod: the shapes the hub's own code never issues.
func craftCert(t *testing.T, ca *certs.CA, csr []byte, hubNow time.Time, mod func(*x509.Certificate)) []byte {
	t.Helper()
	req, err := x509.ParseCertificateRequest(csr)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(certs.DeviceURIPrefix + "kiosk-1")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "kiosk-1"},
		NotBefore:             hubNow.Add(-time.Hour),
		NotAfter:              hubNow.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{u},
	}
	mod(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, req.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRenewRefusesBadCertificate(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name     string
		hubAhead time.Duration
		cert     func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte
		problem  string // in the log line; "" for a certificate that must be taken
	}{
		{
			name: "what the hub issues: 30 days, backdated an hour",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-1", MaxDeviceCertLifetime, hubNow)
			},
		},
		{
			name:     "kiosk clock two hours behind the hub's: starts after the kiosk's clock",
			hubAhead: 2 * time.Hour,
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-1", MaxDeviceCertLifetime, hubNow)
			},
		},
		{
			name: "for another key",
			cert: func(t *testing.T, pki *certstest.PKI, _ []byte, hubNow time.Time) []byte {
				return pki.DeviceAt(t, "kiosk-1", day, hubNow).Certificate[0]
			},
			problem: "not for the key this kiosk generated",
		},
		{
			name: "from another CA",
			cert: func(t *testing.T, _ *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, certstest.NewAt(t, hubNow).CA, csr, "kiosk-1", day, hubNow)
			},
			problem: "does not chain to the hub CA",
		},
		{
			name: "for another device",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-2", day, hubNow)
			},
			problem: `for device \"kiosk-2\", not this kiosk's \"kiosk-1\"`,
		},
		{
			name: "common name of another device",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return craftCert(t, pki.CA, csr, hubNow, func(c *x509.Certificate) { c.Subject.CommonName = "kiosk-2" })
			},
			problem: `subject CN is \"kiosk-2\"`,
		},
		{
			name: "no device URI",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return craftCert(t, pki.CA, csr, hubNow, func(c *x509.Certificate) { c.URIs = nil })
			},
			problem: "no urn:shiftgate:device: URI SAN",
		},
		{
			name: "90 days",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-1", 90*day, hubNow)
			},
			problem: "valid for 2161h0m0s",
		},
		{
			name: "30 days and 30 minutes from now, not backdated",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return craftCert(t, pki.CA, csr, hubNow, func(c *x509.Certificate) {
					c.NotBefore, c.NotAfter = hubNow.Add(4*time.Minute), hubNow.Add(30*day+30*time.Minute)
				})
			},
			problem: "from now by the hub's clock",
		},
		{
			name: "starts in two hours by the hub's clock",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return craftCert(t, pki.CA, csr, hubNow, func(c *x509.Certificate) { c.NotBefore = hubNow.Add(2 * time.Hour) })
			},
			problem: "not valid before",
		},
		{
			name:     "expired by the hub's clock, valid by the kiosk's",
			hubAhead: 2 * day,
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-1", day, hubNow.Add(-2*day))
			},
			problem: "before now by the hub's clock",
		},
		{
			name: "expired",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-1", day, hubNow.Add(-3*day))
			},
			problem: "expired at",
		},
		{
			name: "for server authentication",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return craftCert(t, pki.CA, csr, hubNow, func(c *x509.Certificate) {
					c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
				})
			},
			problem: "for client authentication",
		},
		{
			name: "a CA certificate",
			cert: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return craftCert(t, pki.CA, csr, hubNow, func(c *x509.Certificate) {
					c.IsCA, c.KeyUsage = true, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign
				})
			},
			problem: "a CA certificate",
		},
		{
			name:    "not a certificate",
			cert:    func(*testing.T, *certstest.PKI, []byte, time.Time) []byte { return []byte("certificate") },
			problem: "does not parse",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issuedCh := make(chan []byte, 1)
			k := startRenewKiosk(t, tc.hubAhead, func(pki *certstest.PKI, n int, csr []byte, hubNow time.Time) any {
				if n > 1 {
					t.Errorf("cert.renew #%d before the test moved the clock", n)
				}
				der := tc.cert(t, pki, csr, hubNow)
				issuedCh <- der
				return wire.Cert{Cert: der}
			})
			recv(t, k.renews, "cert.renew")
			issued := recv(t, issuedCh, "the hub's certificate")
			wait := k.sleep() // the answer is handled
			cur := k.r.Current().Leaf
			onDisk, err := loadKeyPair(k.dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.problem == "" {
				if !bytes.Equal(cur.Raw, issued) || !bytes.Equal(onDisk.Leaf.Raw, issued) {
					t.Fatalf("the certificate the hub issued is not in use and on disk:\n%s", k.logs.String())
				}
				if !strings.Contains(k.logs.String(), "device certificate renewed") {
					t.Errorf("no renewal logged:\n%s", k.logs.String())
				}
				return
			}
			if !cur.Equal(k.old.Leaf) {
				t.Errorf("the refused certificate is in use (not after %s)", cur.NotAfter)
			}
			if !onDisk.Leaf.Equal(k.old.Leaf) {
				t.Errorf("the refused certificate was stored (not after %s)", onDisk.Leaf.NotAfter)
			}
			for _, f := range []string{KeyFile, CertFile} {
				if _, err := os.Stat(filepath.Join(k.dir, f+nextSuffix)); !os.IsNotExist(err) {
					t.Errorf("%s%s left in the state directory (%v)", f, nextSuffix, err)
				}
			}
			logs := k.logs.String()
			if !strings.Contains(logs, "refused the device certificate the hub issued; the current one is kept") || !strings.Contains(logs, tc.problem) {
				t.Errorf("log does not say the certificate was refused because %q:\n%s", tc.problem, logs)
			}
			if wait < MinRenewInterval {
				t.Errorf("retry in %s, want at least %s", wait, MinRenewInterval)
			}
			k.noRenew("the refusal is retried only after the clock moved")
		})
	}
}

// A kiosk whose clock lags the hub's renews when the certificate is due
// by the hub's clock, the one that will refuse it: with a lag of two days
// and a six-day certificate it would otherwise ask only after the hub
// began refusing it.
func TestRenewDueByHubClock(t *testing.T) {
	const day = 24 * time.Hour
	// Issued 3.5 days ago by the kiosk's clock: due (at 4 days) in half a
	// day by it, 1.5 days ago by the hub's, whose clock is 2 days ahead.
	k := startRenewKioskIssued(t, 2*day, 3*day+12*time.Hour, false, func(pki *certstest.PKI, _ int, csr []byte, hubNow time.Time) any {
		return wire.Cert{Cert: signCSR(t, pki.CA, csr, "kiosk-1", 6*day, hubNow)}
	})
	recv(t, k.renews, "cert.renew, due by the hub's clock")
}

// A hub that issues certificates valid for two minutes gets a cert.renew
// once a minute, not every second.
func TestRenewAtMostOncePerMinute(t *testing.T) {
	k := startRenewKiosk(t, 0, func(pki *certstest.PKI, _ int, csr []byte, hubNow time.Time) any {
		return wire.Cert{Cert: signCSR(t, pki.CA, csr, "kiosk-1", 2*time.Minute, hubNow)}
	})
	last := recv(t, k.renews, "cert.renew")
	for i := range 3 {
		wait := k.sleep()
		if wait < MinRenewInterval {
			t.Fatalf("after renewal %d the client waits %s for the next, want at least %s", i+1, wait, MinRenewInterval)
		}
		if got, want := k.r.Current().Leaf.NotAfter, last.Add(2*time.Minute).Truncate(time.Second); !got.Equal(want) {
			t.Fatalf("renewal %d: certificate in use expires %s, want the new one's %s", i+1, got, want)
		}
		k.clock.Advance(wait - time.Second)
		k.noRenew("less than a minute after the last")
		k.clock.Advance(time.Second)
		at := recv(t, k.renews, "the next cert.renew")
		if gap := at.Sub(last); gap < MinRenewInterval {
			t.Fatalf("cert.renew %s after the previous one, want at least %s", gap, MinRenewInterval)
		}
		last = at
	}
}

// Failed renewals are retried after 1, 2, 4 … minutes, at most every hour;
// a success starts again from the minimum.
func TestRenewBacksOffAfterFailures(t *testing.T) {
	const failures = 8
	k := startRenewKiosk(t, 0, func(pki *certstest.PKI, n int, csr []byte, hubNow time.Time) any {
		if n == failures+1 {
			return wire.Cert{Cert: signCSR(t, pki.CA, csr, "kiosk-1", 2*time.Minute, hubNow)}
		}
		return wire.Error{Code: wire.ErrInternal, Message: "the CA is not available"}
	})
	const minute = time.Minute
	want := []time.Duration{minute, 2 * minute, 4 * minute, 8 * minute, 16 * minute, 32 * minute, time.Hour, time.Hour, // failures
		minute, // the success: the two-minute certificate is due at once, a minute on
		minute} // a failure after a success
	var got []time.Duration
	for range want {
		recv(t, k.renews, "cert.renew")
		d := k.sleep()
		got = append(got, d)
		k.clock.Advance(d)
	}
	if !slices.Equal(got, want) {
		t.Errorf("waits between renewal attempts %v, want %v", got, want)
	}
	if !strings.Contains(k.logs.String(), "device certificate renewal failed; will retry") {
		t.Errorf("failures not logged:\n%s", k.logs.String())
	}
}

// A hub that drops the channel at every cert.renew does not get one at
// every reconnect: the pacing outlives the channel.
func TestRenewPacedAcrossReconnects(t *testing.T) {
	k := startRenewKiosk(t, 0, func(*certstest.PKI, int, []byte, time.Time) any { return nil })
	first := recv(t, k.renews, "cert.renew")
	for i, gap := range []time.Duration{time.Minute, 2 * time.Minute} {
		reconnect := k.sleep()
		if reconnect >= time.Second {
			t.Fatalf("drop %d: the client waits %s, want a reconnect backoff of a few milliseconds", i+1, reconnect)
		}
		k.clock.Advance(reconnect)
		recv(t, k.h.connected, "welcome after the drop")
		wait := k.sleep() // the new channel's renewal loop
		k.noRenew("the channel came back")
		if elapsed := k.clock.Now().Sub(first); wait+elapsed < gap {
			t.Fatalf("drop %d: next cert.renew %s after the last one, want at least %s", i+1, wait+elapsed, gap)
		}
		k.clock.Advance(wait)
		first = recv(t, k.renews, "the next cert.renew")
	}
}
