package enroll_test

import (
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/enroll"
)

// TestRedeemCAFailureIsNotBadCSR: when the hub's CA cannot sign (here its
// key is not its certificate's, as after a botched restore), a good CSR is
// not refused as ErrBadCSR: that would tell the installer to fix a
// request that is fine, and the hub would answer 400 instead of logging
// its own failure. The code stays usable, and a bad CSR is still
// ErrBadCSR.
func TestRedeemCAFailureIsNotBadCSR(t *testing.T) {
	e := newEnv(t)
	other, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	broken := &certs.CA{Cert: e.ca.Cert, Key: other}
	code := e.code(t, "kiosk-1", "")

	_, err = enroll.Redeem(t.Context(), e.st, e.log, broken, wire.EnrollRequest{Code: code, CSR: csr(t, nil), Profile: "rpi5-touch"}, t0)
	if err == nil {
		t.Fatal("a CA whose key is not its certificate's signed")
	}
	if errors.Is(err, enroll.ErrBadCSR) {
		t.Errorf("CA failure reported as the kiosk's: %v", err)
	}

	_, err = enroll.Redeem(t.Context(), e.st, e.log, e.ca, wire.EnrollRequest{Code: code, CSR: []byte("not a CSR"), Profile: "rpi5-touch"}, t0)
	if !errors.Is(err, enroll.ErrBadCSR) {
		t.Errorf("garbage CSR: err = %v, want ErrBadCSR", err)
	}

	if _, err := e.redeem(t, code, "rpi5-touch", csr(t, nil), t0); err != nil {
		t.Fatalf("the code after the hub's failure: %v", err)
	}
}
