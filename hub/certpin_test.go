package hub_test

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// The hub takes only a kiosk's newest device certificate, and the one its
// last renewal replaced for enroll.ReplacedCertGrace. These tests move the
// hub's clock; TLS checks certificates' validity by the real one, so the
// hub's clock starts three days back: certificates it issues are valid in
// real time, and moving its clock by up to three days keeps them so.
const pinClockBack = 72 * time.Hour

// startPinning starts a hub whose clock starts pinClockBack ago, logging
// into the returned buffer.
func startPinning(t *testing.T, opts hubtest.Options) (*hubtest.Hub, *hubtest.Clock, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts.Clock = hubtest.NewClock(time.Now().Add(-pinClockBack))
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return hubtest.Start(t, opts), opts.Clock, logs
}

// mustDial dials k with the certificate it presents now and fails the
// test when the hub refuses.
func mustDial(t *testing.T, k *hubtest.Kiosk, what string) {
	t.Helper()
	if err := k.TryDial(); err != nil {
		t.Fatalf("%s: refused: %v", what, err)
	}
}

// mustRefuse dials k with cert and fails the test unless the hub refuses
// the certificate at the TLS handshake.
func mustRefuse(t *testing.T, k *hubtest.Kiosk, cert *tls.Certificate, what string) {
	t.Helper()
	k.UseCert(cert)
	err := k.TryDial()
	if err == nil {
		t.Fatalf("%s: the hub took it", what)
	}
	// The refusal an agent reads as device.refused (agent/refusal.go).
	if !strings.Contains(err.Error(), "bad certificate") {
		t.Errorf("%s: refused with %v, want the TLS alert bad_certificate", what, err)
	}
}

func serial(c *tls.Certificate) string { return enroll.SerialOf(c.Leaf) }

func getDevice(t *testing.T, h *hubtest.Hub, id string) store.Device {
	t.Helper()
	d, err := h.Store().GetDevice(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDeviceCertGrace: after a renewal the certificate the kiosk renewed
// with is still taken for a day, for a kiosk that did not get or store the
// answer, and refused after it, with a log line that tells the operator
// what happened; the new certificate is taken after it too. (A channel
// opened with the new certificate ends that day at once:
// TestPrevCertRetiredOnNewest.)
func TestDeviceCertGrace(t *testing.T) {
	h, clock, logs := startPinning(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	enrolled := k.Cert()
	if d := getDevice(t, h, k.ID); d.CertSerial != serial(enrolled) || d.PrevCertSerial != "" {
		t.Fatalf("after enrollment the device records serial %q (previous %q), want the enrolled certificate's %q", d.CertSerial, d.PrevCertSerial, serial(enrolled))
	}
	k.Dial("")
	renewedAt := clock.Now()
	renewed := k.Renew()
	d := getDevice(t, h, k.ID)
	if d.CertSerial != serial(renewed) || d.PrevCertSerial != serial(enrolled) || !d.PrevCertUntil.Equal(renewedAt.Add(enroll.ReplacedCertGrace)) {
		t.Errorf("after the renewal: current %q, previous %q until %v; want %q, %q until %v",
			d.CertSerial, d.PrevCertSerial, d.PrevCertUntil, serial(renewed), serial(enrolled), renewedAt.Add(enroll.ReplacedCertGrace))
	}

	clock.Advance(enroll.ReplacedCertGrace - time.Second)
	mustDial(t, k, "the replaced certificate within its grace")

	clock.Advance(time.Second)
	mustRefuse(t, k, enrolled, "the replaced certificate once its grace is over")
	for _, want := range []string{"level=WARN", "superseded", "device=" + k.ID, "name=north-1", "serial=" + serial(enrolled), "enroll it again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the refusal's log line lacks %q:\n%s", want, logs.String())
		}
	}
	// A refused kiosk tries again every minute or so: logged once an hour.
	count := func() int { return strings.Count(logs.String(), "device certificate refused") }
	mustRefuse(t, k, enrolled, "the replaced certificate again")
	if n := count(); n != 1 {
		t.Errorf("two refusals within a minute logged %d times, want once", n)
	}
	clock.Advance(time.Hour)
	mustRefuse(t, k, enrolled, "the replaced certificate an hour later")
	if n := count(); n != 2 {
		t.Errorf("refusals an hour apart logged %d times, want twice", n)
	}
	k.UseCert(renewed)
	mustDial(t, k, "the renewed certificate after the grace")
}

// TestDeviceCertOnlyNewest: a certificate the hub CA issued for the
// device that is neither its newest nor the one its last renewal replaced
// is refused, however long it is still valid: one two renewals old (a key
// taken off a kiosk's replaced disk), and one the hub never recorded that
// was issued before the newest.
func TestDeviceCertOnlyNewest(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	first := k.Cert()
	k.Dial("")
	second := k.Renew()
	k.UseCert(second)
	mustDial(t, k, "the second certificate")
	clock.Advance(time.Minute)
	third := k.Renew()

	mustRefuse(t, k, first, "a certificate two renewals old, not expired")
	clock.Advance(-2 * time.Minute)
	unrecorded := h.IssueDeviceCert(t, k.ID, enroll.DeviceCertLifetime)
	clock.Advance(2 * time.Minute)
	mustRefuse(t, k, unrecorded, "a certificate of the hub CA the hub never recorded, issued before the newest")
	k.UseCert(second)
	mustDial(t, k, "the certificate the last renewal replaced")
	k.UseCert(third)
	mustDial(t, k, "the newest certificate")
}

// TestDeviceCertRenewalAnswerLost: a kiosk that did not get a renewal's
// answer still holds the certificate it renewed with; it reconnects with
// it and renews again. The one whose answer it lost is never taken.
// Renewing with the replaced certificate does not give it a new grace.
// (Once the kiosk connects with the newest certificate, the one it
// renewed with is refused at once: TestPrevCertRetiredAfterAnswerLost.)
func TestDeviceCertRenewalAnswerLost(t *testing.T) {
	h, clock, logs := startPinning(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	held := k.Cert()
	k.Dial("")
	firstRenewal := clock.Now()
	lost := k.Renew() // the answer never reaches the kiosk's disk

	clock.Advance(time.Hour)
	mustDial(t, k, "the certificate the kiosk still holds, after a renewal whose answer it lost")
	newest := k.Renew()
	d := getDevice(t, h, k.ID)
	if d.CertSerial != serial(newest) || d.PrevCertSerial != serial(held) {
		t.Errorf("after renewing with the replaced certificate: current %q, previous %q; want %q, %q", d.CertSerial, d.PrevCertSerial, serial(newest), serial(held))
	}
	if want := firstRenewal.Add(enroll.ReplacedCertGrace); !d.PrevCertUntil.Equal(want) {
		t.Errorf("the replaced certificate is taken until %v, want %v (the grace of the renewal that replaced it, not extended)", d.PrevCertUntil, want)
	}
	if !strings.Contains(logs.String(), "renewed with the certificate the last renewal replaced") {
		t.Errorf("no warning about the renewal with the replaced certificate:\n%s", logs.String())
	}

	mustRefuse(t, k, lost, "the certificate whose answer was lost")
	k.UseCert(held)
	mustDial(t, k, "the certificate the kiosk held, within the first renewal's grace")
	clock.Advance(enroll.ReplacedCertGrace - time.Hour)
	mustRefuse(t, k, held, "the certificate the kiosk held, a day after the first renewal")
	k.UseCert(newest)
	mustDial(t, k, "the newest certificate, a day on")
}

// TestDeviceCertUnpinned: a kiosk enrolled before the hub recorded
// serials (an empty CertSerial, as the migration leaves it) is taken with
// its certificate as before, and pinned at its next renewal.
func TestDeviceCertUnpinned(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	old := k.Cert()
	if _, err := h.Store().UpdateDevice(t.Context(), k.ID, func(d store.Device) (store.Device, error) {
		d.CertSerial = ""
		return d, nil
	}); err != nil {
		t.Fatal(err)
	}
	mustDial(t, k, "the certificate of a kiosk enrolled before serials were recorded")

	renewed := k.Renew()
	if d := getDevice(t, h, k.ID); d.CertSerial != serial(renewed) || d.PrevCertSerial != serial(old) {
		t.Errorf("after its first renewal the kiosk is pinned to %q (previous %q), want %q (%q)", d.CertSerial, d.PrevCertSerial, serial(renewed), serial(old))
	}
	clock.Advance(enroll.ReplacedCertGrace)
	mustRefuse(t, k, old, "the certificate from before the renewal, after its grace")
	k.UseCert(renewed)
	mustDial(t, k, "the renewed certificate")
}

// TestCertRenewOutlivedChannel: a channel opened with the certificate a
// renewal replaced (the kiosk lost the answer) outlives that
// certificate's grace. A renewal over it then gets no certificate, or the
// old certificate would be taken again: the hub closes the channel (if
// the grace check has not already), the kiosk reconnects with its newest
// certificate and renews. (A channel a renewal was made over is another
// matter: it speaks for the certificate it was issued,
// TestChannelCutAtGraceEnd.)
func TestCertRenewOutlivedChannel(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	opened := k.Cert()
	k.Dial("")
	renewed := k.Renew() // the answer is lost
	mustDial(t, k, "the replaced certificate within its grace")
	clock.Advance(enroll.ReplacedCertGrace)

	k.Send(wire.TypeCertRenew, wire.CertRenew{CSR: newCSR(t, k.ID)})
	k.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var env wire.Envelope
	err := k.Conn.ReadJSON(&env)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "superseded") {
		t.Fatalf("renewal over a channel whose certificate was superseded: got %s %s (%v), want the channel closed (1008, superseded)", env.Type, env.Data, err)
	}
	if d := getDevice(t, h, k.ID); d.CertSerial != serial(renewed) || d.PrevCertSerial != serial(opened) {
		t.Errorf("the refused renewal changed the device: current %q, previous %q", d.CertSerial, d.PrevCertSerial)
	}
	mustRefuse(t, k, opened, "the superseded certificate")
	k.UseCert(renewed)
	mustDial(t, k, "the newest certificate")
	k.Renew()
}

// TestCertRenewRateLimit: a kiosk gets at most one certificate by renewal
// a minute; a quicker one is refused with bad_state, which the agent
// retries after its backoff. A renewal that issued nothing (a bad CSR)
// does not count.
func TestCertRenewRateLimit(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	k.Renew()
	before := getDevice(t, h, k.ID)

	clock.Advance(30 * time.Second)
	env, cert := k.TryRenew()
	var e wire.Error
	if cert != nil || env.Type != wire.TypeError || env.Unmarshal(&e) != nil || e.Code != wire.ErrState || !strings.Contains(e.Message, "renew again in 30s") {
		t.Fatalf("a second renewal 30 s after the first: got %s %s, want %s saying when to renew again", env.Type, env.Data, wire.ErrState)
	}
	if d := getDevice(t, h, k.ID); d.CertSerial != before.CertSerial {
		t.Errorf("the refused renewal changed the device's certificate")
	}
	if n := count(t, h, "device.cert_renew", "device:"+k.ID); n != 1 {
		t.Errorf("%d device.cert_renew records, want 1", n)
	}

	clock.Advance(30 * time.Second)
	id := k.Send(wire.TypeCertRenew, wire.CertRenew{CSR: []byte("garbage")})
	if env := k.Recv(5 * time.Second); env.Re != id || env.Type != wire.TypeError || env.Unmarshal(&e) != nil || e.Code != wire.ErrBadMessage {
		t.Fatalf("a garbage CSR: %s %s, want %s", env.Type, env.Data, wire.ErrBadMessage)
	}
	k.Renew() // a minute after the last certificate; the bad CSR did not count
}

// TestCertRenewAudit: the audit record of a renewal has the issued
// certificate's real NotAfter (clamped to the CA's expiry here, not
// renewal time + lifetime) and its serial. A CA that can no longer sign is
// the hub's fault (wire.ErrInternal), not a bad request of the kiosk's,
// and changes nothing.
func TestCertRenewAudit(t *testing.T) {
	clock := hubtest.NewClock(time.Now().Add(-pinClockBack))
	// A hub CA with ten days left: every device certificate ends with it.
	dir := t.TempDir()
	caEnd := clock.Now().Add(10 * 24 * time.Hour)
	ca, err := certs.NewCA("Shiftgate test CA", caEnd.Add(-certs.CALifetime))
	if err != nil {
		t.Fatal(err)
	}
	if err := certs.WriteCertFile(filepath.Join(dir, certs.CACertFile), ca.Cert.Raw); err != nil {
		t.Fatal(err)
	}
	if err := certs.WriteKeyFile(filepath.Join(dir, certs.CAKeyFile), ca.Key); err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, hubtest.Options{Clock: clock, DataDir: dir})
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	renewed := k.Renew()
	if !renewed.Leaf.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Fatalf("renewed certificate ends %v, want the CA's end %v", renewed.Leaf.NotAfter, ca.Cert.NotAfter)
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "device.cert_renew", Subject: "device:" + k.ID})
	if err != nil || len(recs) != 1 {
		t.Fatalf("device.cert_renew records: %d (%v), want 1", len(recs), err)
	}
	var detail struct {
		NotAfter    time.Time `json:"notAfter"`
		Serial      string    `json:"serial"`
		RenewedWith string    `json:"renewedWith"`
	}
	if err := json.Unmarshal(recs[0].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if !detail.NotAfter.Equal(renewed.Leaf.NotAfter) {
		t.Errorf("audit notAfter %v, want the certificate's %v", detail.NotAfter, renewed.Leaf.NotAfter)
	}
	if detail.Serial != serial(renewed) || detail.RenewedWith == "" {
		t.Errorf("audit serial %q renewedWith %q, want %q and the channel's certificate's", detail.Serial, detail.RenewedWith, serial(renewed))
	}

	// Past the CA's end, by the hub's clock: signing fails, the hub's
	// fault. The channel, opened with the newest certificate before,
	// stays up.
	k.UseCert(renewed)
	k.Dial("")
	clock.Advance(11 * 24 * time.Hour)
	env, cert := k.TryRenew()
	var e wire.Error
	if cert != nil || env.Type != wire.TypeError || env.Unmarshal(&e) != nil || e.Code != wire.ErrInternal {
		t.Errorf("renewal with an expired CA: %s %s, want %s", env.Type, env.Data, wire.ErrInternal)
	}
	if d := getDevice(t, h, k.ID); d.CertSerial != serial(renewed) {
		t.Errorf("a failed renewal changed the device's certificate to %q", d.CertSerial)
	}
}

func newCSR(t *testing.T, deviceID string) []byte {
	t.Helper()
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, deviceID)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// TestDeviceCertAfterRestore: a database restored from a backup older than
// a kiosk's last renewal records an older certificate than the kiosk
// holds. Only the hub issues certificates, so one issued after the
// recorded one is a renewal whose record was lost: the kiosk is taken, and
// pinned again at its next renewal. Older certificates stay refused.
func TestDeviceCertAfterRestore(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	first := k.Cert()
	k.Dial("")
	clock.Advance(time.Minute)
	second := k.Renew()
	backup := getDevice(t, h, k.ID) // the backup: second is current
	clock.Advance(time.Minute)
	k.UseCert(second)
	mustDial(t, k, "the second certificate")
	clock.Advance(time.Minute)
	third := k.Renew()

	// The restore: the device row as the backup had it.
	if _, err := h.Store().UpdateDevice(t.Context(), k.ID, func(d store.Device) (store.Device, error) {
		d.CertSerial, d.CertIssued, d.PrevCertSerial, d.PrevCertUntil = backup.CertSerial, backup.CertIssued, backup.PrevCertSerial, backup.PrevCertUntil
		return d, nil
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(48 * time.Hour) // past every grace
	k.UseCert(third)
	mustDial(t, k, "the kiosk's newest certificate, issued after the restored record")
	mustRefuse(t, k, first, "a certificate older than the restored record")

	k.UseCert(third)
	mustDial(t, k, "again")
	clock.Advance(time.Minute)
	fourth := k.Renew()
	if d := getDevice(t, h, k.ID); d.CertSerial != serial(fourth) || d.PrevCertSerial != serial(third) || !d.CertIssued.Equal(fourth.Leaf.NotBefore) {
		t.Fatalf("after renewing past the restore: current %s (issued %v), previous %s; want %s (issued %v), %s",
			d.CertSerial, d.CertIssued, d.PrevCertSerial, serial(fourth), fourth.Leaf.NotBefore, serial(third))
	}
	mustRefuse(t, k, second, "the certificate the restored record named, after a renewal")
}
