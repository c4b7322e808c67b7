package agent

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// renewState paces certificate renewals across connections: a hub that
// drops the channel after every cert.renew must not get one per reconnect.
// Only the renewLoop of the channel that is up uses it, and one channel's
// loop has ended before the next channel's starts (Client.session waits for
// it), so it needs no lock.
type renewState struct {
	attempted bool          // a renewal was tried since the Client started
	last      time.Duration // when, on monoNow's clock
	failures  int           // consecutive attempts that stored no certificate
}

// renewGap is the least time between the start of the last renewal
// attempt and the next: MinRenewInterval after a success, RenewRetry
// doubled at each consecutive failure up to MaxRenewRetry after failures,
// and never less than MinRenewInterval whatever ClientConfig says.
func (c *Client) renewGap() time.Duration {
	if c.renewal.failures == 0 {
		return MinRenewInterval
	}
	gap := min(c.cfg.RenewRetry, MaxRenewRetry)
	for i := 1; i < c.renewal.failures && gap < MaxRenewRetry; i++ {
		gap *= 2
	}
	return max(min(gap, MaxRenewRetry), MinRenewInterval)
}

// monoNow reads the client clock's monotonic clock (see Agent.monoNow), so
// that a step of the kiosk's wall clock neither hastens nor holds back the
// next renewal.
func (c *Client) monoNow() time.Duration {
	if m, ok := c.clock.(MonotonicClock); ok {
		return m.Monotonic()
	}
	return c.clock.Now().Sub(processStart)
}

// hubClock estimates the hub's clock from the server_time of the
// channel's welcome: that time plus what has elapsed on the kiosk's
// monotonic clock since. A welcome without server_time (an older hub)
// leaves the kiosk's own clock as the estimate.
type hubClock struct {
	c      *Client
	server time.Time     // the welcome's server_time; zero: none
	at     time.Duration // monoNow when the welcome arrived
}

func (h hubClock) now() time.Time {
	if h.server.IsZero() {
		return h.c.clock.Now()
	}
	return h.server.Add(h.c.monoNow() - h.at)
}

// renewLoop renews the device certificate over the channel when it is due
// (two thirds of its lifetime, Renewer.NeedsRenewal), and sleeps until then
// otherwise. Whatever the certificates the hub issues, attempts are at
// least renewGap apart, across reconnects too: once a minute at the most,
// and failures back off from RenewRetry to MaxRenewRetry.
func (c *Client) renewLoop(ctx context.Context, cn *conn, serverTime time.Time) {
	hub := hubClock{c: c, server: serverTime, at: c.monoNow()}
	for {
		wait := c.renewWait(hub.now())
		if wait <= 0 {
			c.renewal.attempted, c.renewal.last = true, c.monoNow()
			err := c.renew(ctx, hub)
			if err == nil {
				c.renewal.failures = 0
				continue // renewWait: the new certificate's due time, at least MinRenewInterval on
			}
			c.renewal.failures++
			if ctx.Err() != nil {
				return // the channel dropped or the agent is stopping
			}
			var refused *CertRefusedError
			if errors.As(err, &refused) {
				c.log.Error("refused the device certificate the hub issued; the current one is kept",
					"problem", refused.Problem, "current_not_after", c.cfg.Renewer.Current().Leaf.NotAfter.UTC().Format(time.RFC3339),
					"retry_in", c.renewGap())
			} else {
				c.log.Warn("device certificate renewal failed; will retry", "err", err, "in", c.renewGap())
			}
			continue
		}
		select {
		case <-cn.done:
			return
		default:
		}
		if !sleep(ctx, c.clock, wait) {
			return
		}
	}
}

// renewWait is how long to wait before the next renewal attempt: until the
// certificate is due, and at least renewGap after the last attempt. Zero
// or less: now. The certificate is due by hubNow, the estimate of the
// hub's clock: the hub is what refuses it once it has expired, so a kiosk
// whose clock lags by more than a third of the lifetime still renews in
// time.
func (c *Client) renewWait(hubNow time.Time) time.Duration {
	leaf := c.cfg.Renewer.Current().Leaf
	due := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 3 * 2) // as NeedsRenewal
	wait := due.Sub(hubNow)
	if c.renewal.attempted {
		wait = max(wait, c.renewal.last+c.renewGap()-c.monoNow())
	}
	return wait
}

// renew sends cert.renew with a CSR for a fresh key, checks the answer
// (checkRenewedCert), stores the new pair (when StateDir is set) and then
// installs it in the Renewer, so that a crash can never leave the kiosk
// with a pair only in memory. A certificate that fails a check is neither
// stored nor installed: a *CertRefusedError.
func (c *Client) renew(ctx context.Context, hub hubClock) error {
	old := c.cfg.Renewer.Current()
	id, err := certs.DeviceID(old.Leaf)
	if err != nil {
		return err
	}
	key, err := certs.NewDeviceKey()
	if err != nil {
		return err
	}
	csr, err := certs.NewCSR(key, id)
	if err != nil {
		return err
	}
	ans, err := c.Request(ctx, wire.TypeCertRenew, wire.CertRenew{CSR: csr})
	if err != nil {
		return err
	}
	if ans.Type != wire.TypeCert {
		return fmt.Errorf("cert.renew: hub answered %s", ans.Type)
	}
	var cert wire.Cert
	if err := ans.Unmarshal(&cert); err != nil {
		return err
	}
	leaf, err := checkRenewedCert(cert.Cert, key, c.cfg.DeviceCAPool, id, hub.now(), c.clock.Now())
	if err != nil {
		return err
	}
	if c.cfg.StateDir != "" {
		if err := writeKeyPair(c.cfg.StateDir, key, cert.Cert); err != nil {
			return err
		}
	}
	if err := c.cfg.Renewer.Replace(cert.Cert, key); err != nil {
		return err
	}
	c.log.Info("device certificate renewed", "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// CertRefusedError is a certificate the hub issued at renewal that the
// agent refused: it was not stored, and the kiosk goes on with its current
// one.
type CertRefusedError struct {
	Problem string // what is wrong with it, for people
}

func (e *CertRefusedError) Error() string {
	return "renewed device certificate refused: " + e.Problem
}

func certRefused(format string, args ...any) *CertRefusedError {
	return &CertRefusedError{Problem: fmt.Sprintf(format, args...)}
}

// checkRenewedCert checks the certificate (DER) the hub issued for a
// renewal before the agent stores it: checkIssuedCert, key being the key
// the agent generated for this renewal.
func checkRenewedCert(der []byte, key crypto.Signer, pool *x509.CertPool, deviceID string, hubNow, kioskNow time.Time) (*x509.Certificate, error) {
	return checkIssuedCert(der, key, "the renewal", pool, deviceID, hubNow, kioskNow)
}

// checkIssuedCert checks a device certificate (DER) the hub issued, at
// enrollment (Enroll) or at renewal (checkRenewedCert), before the agent
// stores it. It must be:
//   - for key, the key the agent generated for keyFor ("the renewal",
//     "the enrollment"), which the problem names;
//   - for device deviceID, the kiosk's: Subject CN and the one URI SAN
//     urn:shiftgate:device:ID (certs.DeviceID);
//   - an end-entity certificate issued by a CA in pool (the hub CA) for
//     client authentication;
//   - valid now by the hub's clock as the agent estimates it (hubNow):
//     started at most certClockSlack after it, not expired; and not
//     expired by the kiosk's clock either (kioskNow), which the agent
//     would not dial with;
//   - at most MaxDeviceCertLifetime long: valid for no longer than that
//     after hubNow (plus certClockSlack), and for no longer than that plus
//     deviceCertBackdate in all.
//
// A certificate that fails a check is a *CertRefusedError whose Problem
// says which.
func checkIssuedCert(der []byte, key crypto.Signer, keyFor string, pool *x509.CertPool, deviceID string, hubNow, kioskNow time.Time) (*x509.Certificate, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, certRefused("it does not parse: %v", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, certRefused("it is not for the key this kiosk generated for %s", keyFor)
	}
	id, err := certs.DeviceID(leaf)
	if err != nil {
		return nil, certRefused("%v", err)
	}
	if id != deviceID {
		return nil, certRefused("it is for device %q, not this kiosk's %q", id, deviceID)
	}
	if leaf.Subject.CommonName != deviceID {
		return nil, certRefused("its subject CN is %q, not this kiosk's device ID %q", leaf.Subject.CommonName, deviceID)
	}
	if leaf.IsCA {
		return nil, certRefused("it is a CA certificate")
	}
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life > MaxDeviceCertLifetime+deviceCertBackdate {
		return nil, certRefused("it is valid for %s (%s to %s), longer than the %s this agent accepts",
			life, stamp(leaf.NotBefore), stamp(leaf.NotAfter), MaxDeviceCertLifetime+deviceCertBackdate)
	}
	if left := leaf.NotAfter.Sub(hubNow); left > MaxDeviceCertLifetime+certClockSlack {
		return nil, certRefused("it is valid until %s, %s from now by the hub's clock (%s), longer than the %s this agent accepts",
			stamp(leaf.NotAfter), left.Round(time.Second), stamp(hubNow), MaxDeviceCertLifetime)
	}
	if leaf.NotBefore.After(hubNow.Add(certClockSlack)) {
		return nil, certRefused("it is not valid before %s, later than now by the hub's clock (%s)", stamp(leaf.NotBefore), stamp(hubNow))
	}
	if !hubNow.Before(leaf.NotAfter) {
		return nil, certRefused("it expired at %s, before now by the hub's clock (%s)", stamp(leaf.NotAfter), stamp(hubNow))
	}
	if !kioskNow.Before(leaf.NotAfter) {
		return nil, certRefused("it expired at %s, before now by the kiosk's clock (%s)", stamp(leaf.NotAfter), stamp(kioskNow))
	}
	at := hubNow // within certClockSlack of NotBefore, checked above
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, certRefused("it does not chain to the hub CA this kiosk trusts, for client authentication: %v", err)
	}
	return leaf, nil
}
