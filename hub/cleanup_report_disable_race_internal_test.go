package hub

import (
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCleanupFailingReportOvertakenByDisable: a failing cleanup.report
// that read the kiosk as active before its disable was committed, and is
// recorded after the disable dropped the kiosk's state (forget), is
// refused and does not count the kiosk again: the kiosk will never report
// the success, and shiftgate_kiosks_cleanup_failing would count it until
// the hub restarts. The stale read is the channel's device cache holding
// the kiosk as it was before the disable, as the report's own read did.
func TestCleanupFailingReportOvertakenByDisable(t *testing.T) {
	s := newHelloHub(t, "k1")
	ctx := channelCtx(t)
	active, err := s.st.GetDevice(t.Context(), "k1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.disableDevice(t.Context(), lifecycle.Actor{Name: "token:admin", System: "api"}, "k1"); err != nil {
		t.Fatal(err)
	}
	s.channel.devices.Store("k1", active) // what the report in flight read
	env, err := wire.New(wire.TypeCleanupReport, "c1", "", wire.CleanupReport{Failing: true, Try: 2, Since: s.cfg.Now(), Reason: "read-only file system"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := s.channel.Request(ctx, "k1", env)
	if se := (*push.SafeError)(nil); !errors.As(err, &se) || se.Code != wire.ErrState {
		t.Errorf("report overtaken by the disable answered %+v, %v; want a %s refusal", reply, err, wire.ErrState)
	}
	if n := s.channel.cleanups.count(); n != 0 {
		t.Errorf("%d kiosks counted as failing their clean-up after the only one was disabled, want 0", n)
	}
	recs, err := s.st.ListAudit(t.Context(), store.AuditQuery{Action: "device.cleanup_failed", Subject: "device:k1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 {
		t.Errorf("%d device.cleanup_failed records of a report after the disable, want none", len(recs))
	}
}
