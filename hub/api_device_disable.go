package hub

import (
	"context"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// deviceDisabledAt is when the kiosk deviceID was disabled: the time of
// its first device.disable audit record (a hub before disabling was made
// idempotent wrote one for each repeated request), else, for a kiosk
// disabled without one, when its record last changed, which disabling
// does last (a disabled kiosk renews no certificate).
func (s *Server) deviceDisabledAt(ctx context.Context, deviceID string) (time.Time, error) {
	recs, err := s.st.ListAudit(ctx, store.AuditQuery{Subject: "device:" + deviceID, Action: "device.disable", Limit: 1})
	if err != nil {
		return time.Time{}, err
	}
	if len(recs) > 0 {
		return recs[0].Time.UTC(), nil
	}
	d, err := s.st.GetDevice(ctx, deviceID)
	if err != nil {
		return time.Time{}, err
	}
	return d.Modified.UTC(), nil
}
