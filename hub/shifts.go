package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// defaultSessionWarnings are the kiosk warnings before a session ends
// (Config.SessionWarnings).
var defaultSessionWarnings = []time.Duration{10 * time.Minute, 2 * time.Minute}

// setTimeDefaults checks and completes the shift and warning settings.
func (c *Config) setTimeDefaults() error {
	if c.SessionWarnings == nil {
		c.SessionWarnings = slices.Clone(defaultSessionWarnings)
	}
	for _, w := range c.SessionWarnings {
		if w < time.Second {
			return fmt.Errorf("session warning %s: give lead times of at least 1s, e.g. 10m,2m", w)
		}
	}
	return nil
}

// warnSeconds is the warning schedule as session.grant carries it:
// seconds, largest first, no duplicates.
func warnSeconds(ws []time.Duration) []int {
	out := make([]int, 0, len(ws))
	for _, w := range ws {
		out = append(out, int(w/time.Second))
	}
	slices.Sort(out)
	slices.Reverse(out)
	return slices.Compact(out)
}

// timeInput completes what a login decision needs about time: a pending
// user whose start date has come is decided as active (lifecycle.DecidedAt),
// and the user's shift extensions.
func (c *channel) timeInput(ctx context.Context, tx store.Ops, u store.User, now time.Time) (store.User, []store.ShiftExtension, error) {
	u = lifecycle.DecidedAt(u, now)
	if len(u.Shifts) == 0 {
		return u, nil, nil
	}
	exts, err := tx.ListShiftExtensions(ctx, u.ID)
	return u, exts, err
}

// liveExpiry is the welcome's news of a live session's current expiry,
// with why it ends then, as a push of a changed expiry says it: a session
// cut to its shift's end while the kiosk was away must end there as
// shift_end, not under the reason its grant gave. A session stored
// before the hub kept why says none, and the kiosk keeps its grant's.
func (c *channel) liveExpiry(ctx context.Context, sessionID string) *wire.SessionExtend {
	sess, err := c.s.st.GetSession(ctx, sessionID)
	if err != nil || !sess.Ended.IsZero() {
		return nil
	}
	x := &wire.SessionExtend{SessionID: sess.ID, ExpiresAt: sess.Expires}
	if sess.ExpiryReason != "" {
		x.ExpiryReason = lifecycle.ExpiryReasonOf(sess)
	}
	return x
}

// pushExpiry tells kiosks that their live session's expiry moved. A kiosk
// that is offline learns it in the welcome when it reconnects.
func (c *channel) pushExpiry(p *push.Hub, ms []lifecycle.ExpiryChange) {
	for _, m := range ms {
		reason := wire.ReasonExpired
		if m.Reason == lifecycle.ReasonShiftEnd {
			reason = wire.ReasonShiftEnd
		}
		_, err := p.Push(m.Session.DeviceID, wire.TypeSessionExtend, wire.SessionExtend{SessionID: m.Session.ID, ExpiresAt: m.Session.Expires, ExpiryReason: reason})
		if err != nil && !errors.Is(err, push.ErrOffline) {
			c.s.cfg.Logger.Warn("push session.extend", "device", m.Session.DeviceID, "session", m.Session.ID, "err", err)
		}
	}
}
