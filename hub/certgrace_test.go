package hub_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// graceCheck is how often the hub under test looks for channels whose
// certificate's grace has ended (hub.Config.SchedulerInterval).
const graceCheck = 20 * time.Millisecond

// TestChannelCutAtGraceEnd: a channel lives on past the TLS handshake
// that checked its certificate. One a kiosk opened with the certificate a
// renewal replaced (it lost the renewal's answer, or it is not the kiosk)
// is closed when that certificate's grace ends, once, with a warning
// saying why. The channel a renewal was made over (the agent keeps it)
// speaks for the certificate it was issued: it stays open past the grace
// of the one it was opened with, and renews again. Channels on a kiosk's
// newest certificate stay open, and the cut kiosk is taken again with its
// newest one.
func TestChannelCutAtGraceEnd(t *testing.T) {
	h, clock, logs := startPinning(t, hubtest.Options{SchedulerInterval: graceCheck})

	renewedOver := h.EnrollKiosk(t, "north-1", "north")
	renewedOver.Dial("")
	renewedAt := clock.Now()
	renewedOver.Renew() // renewedOver's channel goes on, opened with its enrolled certificate

	reopened := h.EnrollKiosk(t, "north-2", "north")
	reopenedWith := reopened.Cert()
	reopened.Dial("")
	newest := reopened.Renew()
	mustDial(t, reopened, "the replaced certificate within its grace") // the answer was lost: the kiosk still has the old one

	current := h.EnrollKiosk(t, "north-3", "north")
	current.Dial("")
	current.UseCert(current.Renew())
	mustDial(t, current, "the newest certificate, after a renewal")

	never := h.EnrollKiosk(t, "north-4", "north") // never renewed: its enrolled certificate is its newest
	never.Dial("")

	all := []*hubtest.Kiosk{renewedOver, reopened, current, never}
	clock.Advance(enroll.ReplacedCertGrace - time.Second)
	time.Sleep(10 * graceCheck)
	for _, k := range all {
		mustAnswer(t, k, "a second before the grace ends")
	}

	clock.Advance(time.Second)
	waitCut(t, reopened, "the channel opened with the replaced certificate at the end of its grace")
	time.Sleep(10 * graceCheck) // passes after the cut log nothing more
	for _, k := range []*hubtest.Kiosk{renewedOver, current, never} {
		mustAnswer(t, k, "a channel that speaks for the kiosk's newest certificate, after the grace")
	}

	cutLines := func(k *hubtest.Kiosk) []string {
		var got []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "closing a kiosk's channel") && strings.Contains(l, "device="+k.ID+" ") {
				got = append(got, l)
			}
		}
		return got
	}
	if got := cutLines(reopened); len(got) != 1 {
		t.Errorf("%d log lines about the cut, want 1:\n%s", len(got), strings.Join(got, "\n"))
	} else {
		for _, w := range []string{"level=WARN", "opened with a device certificate a renewal replaced", "enroll it again",
			"name=" + reopened.Name, "serial=" + serial(reopenedWith), "grace_ended=" + renewedAt.Add(enroll.ReplacedCertGrace).UTC().Format("2006-01-02T15:04")} {
			if !strings.Contains(got[0], w) {
				t.Errorf("the cut's log line lacks %q:\n%s", w, got[0])
			}
		}
	}
	for _, k := range []*hubtest.Kiosk{renewedOver, current, never} {
		if got := cutLines(k); len(got) > 0 {
			t.Errorf("%s, on its newest certificate, was logged as cut:\n%s", k.Name, strings.Join(got, "\n"))
		}
	}

	// The channel renewed over renews again, past the grace of the
	// certificate it was opened with: it speaks for the one it was issued.
	clock.Advance(time.Hour)
	renewedOver.Renew()
	mustAnswer(t, renewedOver, "the channel renewed over, after renewing again")

	// The cut kiosk reconnects with its newest certificate and stays.
	reopened.UseCert(newest)
	mustDial(t, reopened, "the newest certificate after the cut")
	time.Sleep(10 * graceCheck)
	mustAnswer(t, reopened, "the newest certificate's channel")
}

// TestChannelCutRenewingWithReplaced: a channel opened with the replaced
// certificate that renews over itself (the kiosk missed the last answer,
// TestDeviceCertRenewalAnswerLost) holds the newest certificate from then
// on, and is not cut when the grace of the one it was opened with ends
// (one that does not renew is: TestChannelCutAtGraceEnd).
func TestChannelCutRenewingWithReplaced(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{SchedulerInterval: graceCheck})
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	k.Renew() // the answer is lost
	clock.Advance(time.Hour)
	mustDial(t, k, "the replaced certificate")
	k.Renew()
	clock.Advance(enroll.ReplacedCertGrace - time.Hour)
	time.Sleep(10 * graceCheck)
	mustAnswer(t, k, "the channel that renewed with the replaced certificate, a day after the first renewal")

}

// mustAnswer fails the test unless k's channel answers a request.
func mustAnswer(t *testing.T, k *hubtest.Kiosk, what string) {
	t.Helper()
	id := k.Send(wire.TypeChallengeRequest, nil)
	k.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var env wire.Envelope
	if err := k.Conn.ReadJSON(&env); err != nil {
		t.Fatalf("%s: %s's channel: %v, want it open", what, k.Name, err)
	}
	if env.Re != id || env.Type != wire.TypeChallenge {
		t.Fatalf("%s: %s's channel answered %s %s, want %s", what, k.Name, env.Type, env.Data, wire.TypeChallenge)
	}
}

// waitCut waits until the hub closes k's channel because its
// certificate is superseded, failing the test after 5 s.
func waitCut(t *testing.T, k *hubtest.Kiosk, what string) {
	t.Helper()
	k.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var env wire.Envelope
		err := k.Conn.ReadJSON(&env)
		if err == nil {
			continue // a ping's pong is not a message; anything else the hub sent first
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "superseded") {
			t.Fatalf("%s: %s's channel: %v, want it closed (1008, superseded)", what, k.Name, err)
		}
		return
	}
}

// TestRenewAgainOverChannelKeepsOpenedCert: a kiosk renews over its
// channel and does not store what it was issued (a full disk), then
// renews again over the same channel within the grace. That renewal is
// made as with the certificate the channel was opened with, which the
// kiosk still holds: it stays the previous one, with its grace, and the
// kiosk still gets in with it. Made as with the certificate the first
// renewal issued, the one the kiosk holds would be dropped at once.
func TestRenewAgainOverChannelKeepsOpenedCert(t *testing.T) {
	h, clock, _ := startPinning(t, hubtest.Options{SchedulerInterval: graceCheck})
	k := h.EnrollKiosk(t, "north-1", "north")
	opened := k.Cert()
	k.Dial("")
	k.Renew() // not stored
	clock.Advance(2 * time.Minute)
	newest := k.Renew()
	if d := getDevice(t, h, k.ID); d.CertSerial != serial(newest) || d.PrevCertSerial != serial(opened) {
		t.Errorf("after the second renewal: current %q, previous %q; want the new one and the one the channel was opened with (%s)", d.CertSerial, d.PrevCertSerial, serial(opened))
	}
	mustDial(t, k, "the certificate the kiosk still holds, within its grace")
}
