package hub_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestPrevCertRetiredOnNewest: the certificate a renewal replaced is
// taken for a day, for a kiosk that did not store the renewal's answer,
// but only until the kiosk opens a channel with the certificate the
// renewal issued: that proves it stored it, and whoever else holds the
// previous key is refused from then on (the handshake), and the channel
// open on it is closed. The renewal itself retires nothing, though it was
// made over a channel whose peer signed the request with the new key: the
// kiosk may crash before it stores the answer. The next renewal gives the
// certificate it replaces a grace of its own again.
func TestPrevCertRetiredOnNewest(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{SchedulerInterval: graceCheck})
	k := h.EnrollKiosk(t, "north-1", "north")
	enrolled := k.Cert()
	k.Dial("")
	renewedAt := clock.Now()
	renewed := k.Renew()

	// The kiosk crashed before it stored the answer: it still holds the
	// certificate it renewed with, and is taken with it.
	clock.Advance(time.Minute)
	mustDial(t, k, "the replaced certificate, after a renewal over the channel only")
	if d := getDevice(t, h, k.ID); d.PrevCertSerial != serial(enrolled) || !d.PrevCertUntil.Equal(renewedAt.Add(enroll.ReplacedCertGrace)) {
		t.Fatalf("after a hello with the replaced certificate: previous %q until %v, want %q until %v (its grace, untouched)",
			d.PrevCertSerial, d.PrevCertUntil, serial(enrolled), renewedAt.Add(enroll.ReplacedCertGrace))
	}
	onOld := *k // the channel someone holding the previous key keeps open

	clock.Advance(time.Hour)
	retiredAt := clock.Now()
	k.UseCert(renewed)
	mustDial(t, k, "the newest certificate")
	d := getDevice(t, h, k.ID)
	if d.CertSerial != serial(renewed) || d.PrevCertSerial != serial(enrolled) || !d.PrevCertUntil.Equal(retiredAt) {
		t.Errorf("after a hello with the newest certificate: current %q, previous %q until %v; want %q, %q until %v (now)",
			d.CertSerial, d.PrevCertSerial, d.PrevCertUntil, serial(renewed), serial(enrolled), retiredAt)
	}
	waitClosed(t, &onOld, "", "the channel opened with the replaced certificate")
	mustRefuse(t, k, enrolled, "the replaced certificate, within what was its grace, once the kiosk connected with the newest")

	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "device.prev_cert_retired", Subject: "device:" + k.ID})
	if err != nil || len(recs) != 1 {
		t.Fatalf("device.prev_cert_retired records: %d (%v), want 1", len(recs), err)
	}
	var detail struct {
		Serial, UsedSerial string
		GraceUntil         time.Time
	}
	if err := json.Unmarshal(recs[0].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if detail.Serial != serial(enrolled) || detail.UsedSerial != serial(renewed) || !detail.GraceUntil.Equal(renewedAt.Add(enroll.ReplacedCertGrace)) {
		t.Errorf("device.prev_cert_retired detail %+v, want serial %s, usedSerial %s, graceUntil %v",
			detail, serial(enrolled), serial(renewed), renewedAt.Add(enroll.ReplacedCertGrace))
	}

	// Reconnecting with the newest certificate retires nothing more.
	k.UseCert(renewed)
	mustDial(t, k, "the newest certificate again")
	if n := count(t, h, "device.prev_cert_retired", "device:"+k.ID); n != 1 {
		t.Errorf("%d device.prev_cert_retired records after a second hello, want 1", n)
	}

	// The next renewal: the certificate it replaces has its grace, for a
	// kiosk that does not store this answer either.
	clock.Advance(time.Minute)
	renewedAgainAt := clock.Now()
	newest := k.Renew()
	if d := getDevice(t, h, k.ID); d.CertSerial != serial(newest) || d.PrevCertSerial != serial(renewed) || !d.PrevCertUntil.Equal(renewedAgainAt.Add(enroll.ReplacedCertGrace)) {
		t.Errorf("after the next renewal: current %q, previous %q until %v; want %q, %q until %v",
			d.CertSerial, d.PrevCertSerial, d.PrevCertUntil, serial(newest), serial(renewed), renewedAgainAt.Add(enroll.ReplacedCertGrace))
	}
	mustDial(t, k, "the certificate the next renewal replaced, within its grace")
}

// TestPrevCertRetiredAfterAnswerLost: a kiosk that lost a renewal's
// answer renews again with the certificate it holds (the renewal "from
// the previous certificate", whose grace is not extended). Once it
// connects with what that second renewal issued, the certificate it
// renewed with is refused, and so is the one whose answer it lost.
func TestPrevCertRetiredAfterAnswerLost(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{SchedulerInterval: graceCheck})
	k := h.EnrollKiosk(t, "north-1", "north")
	held := k.Cert()
	k.Dial("")
	lost := k.Renew()
	clock.Advance(time.Hour)
	mustDial(t, k, "the certificate the kiosk still holds")
	newest := k.Renew()

	k.UseCert(newest)
	mustDial(t, k, "the newest certificate")
	mustRefuse(t, k, held, "the certificate the kiosk renewed with, once it connected with the newest")
	mustRefuse(t, k, lost, "the certificate whose answer was lost")
	k.UseCert(newest)
	mustDial(t, k, "the newest certificate, after the refusals")
}
