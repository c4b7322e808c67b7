package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// renewLoop renews the device certificate over the channel when the
// Renewer says it is due (two thirds of its lifetime), and sleeps until then
// otherwise. Failures are retried every RenewRetry while the channel is up.
func (c *Client) renewLoop(ctx context.Context, cn *conn) {
	for {
		now := c.clock.Now()
		var wait time.Duration
		if c.cfg.Renewer.NeedsRenewal(now) {
			if err := c.renew(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				c.log.Warn("device certificate renewal failed; will retry", "err", err, "in", c.cfg.RenewRetry)
				wait = c.cfg.RenewRetry
			}
		}
		if wait == 0 {
			leaf := c.cfg.Renewer.Current().Leaf
			due := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 3 * 2)
			wait = max(due.Sub(c.clock.Now()), time.Second)
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

// renew sends cert.renew with a CSR for a fresh key, checks the answer,
// stores the new pair (when StateDir is set) and then installs it in the
// Renewer, so that a crash can never leave the kiosk with a pair only in
// memory.
func (c *Client) renew(ctx context.Context) error {
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
	leaf, err := checkDeviceCert(cert.Cert, key, c.cfg.CAPool, c.clock.Now())
	if err != nil {
		return fmt.Errorf("renewed certificate unusable: %w", err)
	}
	if newID, _ := certs.DeviceID(leaf); newID != id {
		return fmt.Errorf("renewed certificate is for device %q, not %q", newID, id)
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
