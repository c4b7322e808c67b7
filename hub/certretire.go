package hub

import (
	"container/heap"
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/store"
)

// errCertKept aborts the update of retirePrevCert when the device no
// longer has a previous certificate in its grace to retire.
var errCertKept = errors.New("no previous certificate to retire")

// retirePrevCert ends the grace of the certificate d's last renewal
// replaced (store.Device.PrevCertSerial) once the kiosk has opened a
// channel with its current one, cert: the TLS handshake proved it holds
// that certificate's key, and the agent installs a renewed certificate
// only after it has stored it (agent.Client.renew), so the kiosk no
// longer needs the previous one. Until then a copy of the previous key
// (a disk swapped out, a backup) would open channels as the kiosk, and
// renew with it, for up to enroll.ReplacedCertGrace after every renewal.
//
// The renewal itself retires nothing, even over a channel its new key
// signed the request for: the kiosk may crash before it stores what it
// was issued, and still holds only the previous certificate. Only a
// channel opened with the issued certificate proves it was stored.
//
// The record (PrevCertUntil set to now) and its audit record
// device.prev_cert_retired commit together. Channels of the device still
// on the previous certificate are then due at once (graceCuts.retire):
// cutGraceEnded closes them as it closes those whose grace has ended. A
// failure is logged and the hello goes on: the grace then ends as
// before, with its time. It returns d as it is now.
func (c *channel) retirePrevCert(ctx context.Context, d store.Device, cert *x509.Certificate) store.Device {
	if cert == nil {
		return d
	}
	serial, now := enroll.SerialOf(cert), c.s.cfg.Now()
	// The record read at admission decides first: nearly every hello
	// finds no grace open, and writes nothing.
	if !retiresPrev(d, serial, now) {
		return d
	}
	var (
		prev    string
		until   time.Time
		retired store.Device
	)
	err := c.s.st.InTx(ctx, func(tx store.Ops) error {
		var err error
		retired, err = tx.UpdateDevice(ctx, d.ID, func(old store.Device) (store.Device, error) {
			// Read again in the transaction: a renewal may have
			// committed since admission, making cert the previous one.
			if old.State != store.DeviceActive || !retiresPrev(old, serial, now) {
				return old, errCertKept
			}
			prev, until = old.PrevCertSerial, old.PrevCertUntil
			old.PrevCertUntil = now
			return old, nil
		})
		if err != nil {
			return err
		}
		_, err = c.s.audit.Append(ctx, tx, auditEntry(deviceActor(d.ID), "device.prev_cert_retired", "device:"+d.ID,
			map[string]any{"name": retired.Name, "serial": prev, "graceUntil": until.UTC(), "usedSerial": serial}))
		return err
	})
	log := c.s.cfg.Logger
	switch {
	case errors.Is(err, errCertKept):
		return d
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// The channel ended (a newer connection of the kiosk replaced
		// it, or the hub is closing) before the write began: nothing
		// was written, and nothing failed. A channel the kiosk opens
		// with its newest certificate retires the previous one, as this
		// one would have.
		log.Debug("the previous device certificate is not retired by this channel: it ended before the write; the kiosk's next channel with its newest certificate retires it",
			"device", d.ID, "serial", serial, "err", err)
		return d
	case err != nil:
		log.Warn("cannot retire the device certificate the kiosk's last renewal replaced, though the kiosk connected with the newest one: it is taken until its grace ends",
			"device", d.ID, "serial", serial, "err", err)
		return d
	}
	d = retired
	// Debug only, as a renewal is: the audit record is what stays, and
	// a hub restarted the day after kiosks enrolled together renewed
	// would log one line per kiosk.
	n := c.cuts.retire(ctx, d.ID, prev, now)
	log.Debug("the kiosk connected with its newest device certificate: the one its last renewal replaced is refused from now on",
		"device", d.ID, "name", d.Name, "serial", serial, "retired_serial", prev, "grace_was_until", until.UTC(), "channels_to_close", n)
	return d
}

// retiresPrev reports whether a channel opened at now with the
// certificate serial of d ends the grace of d's previous certificate:
// serial is d's current certificate (not one issued after it, which only
// a database restored from a backup would not record), and the previous
// one is still taken.
func retiresPrev(d store.Device, serial string, now time.Time) bool {
	return d.CertSerial != "" && serial == d.CertSerial &&
		d.PrevCertSerial != "" && d.PrevCertSerial != d.CertSerial && now.Before(d.PrevCertUntil)
}

// retire makes the watched channels of deviceID that speak for the
// certificate serial due at end, except the channel of self; it returns
// how many. cutDue reads the device again and decides on each, as for
// any channel due. Each retirement looks at every watched channel once,
// which happens at most once per kiosk and renewal.
func (g *graceCuts) retire(self context.Context, deviceID, serial string, end time.Time) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	// Collected first: heap.Fix reorders the queue.
	var moved []*graceCut
	for _, e := range g.queue {
		if e.ctx == self || e.deviceID != deviceID || e.ctx.Err() != nil || enroll.SerialOf(e.cert) != serial || !end.Before(e.end) {
			continue
		}
		moved = append(moved, e)
	}
	for _, e := range moved {
		e.end = end
		heap.Fix(&g.queue, e.index)
	}
	return len(moved)
}
