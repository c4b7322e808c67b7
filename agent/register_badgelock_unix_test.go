//go:build unix

package agent

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestRegisterBadgeDirLockedSaysSo: shiftgate-agent register with a soft
// key whose directory another process keeps locked (a kiosk sharing the
// soft:DIR, stuck) fails when its time is up saying the directory was
// locked, not that nobody touched the key: a soft key needs no touch, and
// the operator would look for the wrong cause.
func TestRegisterBadgeDirLockedSaysSo(t *testing.T) {
	hub := newFakeHub(t, SystemClock{})
	badges := t.TempDir()
	src, err := ParseAuthenticator("soft:"+badges, authSoftOpts())
	mustNoErr(t, err)
	// flock locks belong to the open file description: this one conflicts
	// with the badge's as another process's would.
	holder, err := os.Open(badges)
	mustNoErr(t, err)
	defer holder.Close()
	mustNoErr(t, syscall.Flock(int(holder.Fd()), syscall.LOCK_EX))

	r := startRegister(t, RegisterConfig{StateDir: upgradedDir(t), Authenticators: src, Badge: "ana", Hub: hub, Timeout: 2 * time.Second})
	hub.connect()
	hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))
	_, err = r.wait(t)
	if errors.Is(err, ErrNoTouch) || !errors.Is(err, authenticator.ErrBadgeLocked) || !strings.Contains(err.Error(), badges) {
		t.Fatalf("Register: %v; want ErrBadgeLocked naming %s, not ErrNoTouch", err, badges)
	}
	if n := len(hub.requestsOf(wire.TypeRegister)); n != 0 {
		t.Errorf("%d registrations sent, want none", n)
	}
}
