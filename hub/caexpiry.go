package hub

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shiftgate/shiftgate/certs"
)

// The hub CA (DIR/ca.pem) lives certs.CALifetime, 10 years, and every
// certificate it issues ends with it: past its expiry the hub does not
// start, and every kiosk must enroll again with a new CA. The hub cannot
// renew it by itself (kiosks trust that one certificate), so it warns the
// operator long enough ahead to plan the new CA and the enrollments:
// from caWarnBefore ahead at warn, from caUrgentBefore ahead at error,
// when it starts serving and then once a day.
const (
	caWarnBefore   = 180 * 24 * time.Hour
	caUrgentBefore = certs.ServerCertRenewBefore // the server certificate is then re-issued every 12 hours
	caWarnRepeat   = 24 * time.Hour
)

// caExpiryAdvice says what to do about a hub CA that expires: there is no
// rotation in place, only a new CA and every kiosk enrolled again.
const caExpiryAdvice = "there is no CA rotation in place: before then, plan a new CA and a new enrollment of every kiosk " +
	"(stop the hub, move ca.pem, ca-key.pem, server.pem and server-key.pem out of the data directory, start it with --new-ca, " +
	"then enroll each kiosk again with the new ca.pem and a new device code; hub/README.md, Backup and restore)"

// caExpiry is what to log of a hub CA that expires at notAfter, and at
// which level; "" when it is not due yet.
func caExpiry(notAfter, now time.Time) (string, slog.Level) {
	switch left := notAfter.Sub(now); {
	case left <= 0:
		return "the hub CA (ca.pem) has expired: kiosk certificates no longer verify and the hub will not start again; " + caExpiryAdvice, slog.LevelError
	case left <= caUrgentBefore:
		return fmt.Sprintf("the hub CA (ca.pem) expires within %d days: then the hub will not start and every kiosk must enroll again; %s",
			caUrgentBefore/(24*time.Hour), caExpiryAdvice), slog.LevelError
	case left <= caWarnBefore:
		return fmt.Sprintf("the hub CA (ca.pem) expires within %d days: then the hub will not start and every kiosk must enroll again; %s",
			caWarnBefore/(24*time.Hour), caExpiryAdvice), slog.LevelWarn
	}
	return "", 0
}

// warnCAExpiry logs caExpiry's message for the hub CA at now, at most once
// per caWarnRepeat (st.caWarned holds the last).
func (s *Server) warnCAExpiry(ctx context.Context, now time.Time, st *certTicks) {
	if !st.caWarned.IsZero() && now.Sub(st.caWarned) < caWarnRepeat {
		return
	}
	notAfter := s.certs.CA.Cert.NotAfter
	if msg, level := caExpiry(notAfter, now); msg != "" {
		s.cfg.Logger.Log(ctx, level, msg, "not_after", notAfter.UTC(), "file", certs.CACertFile)
		st.caWarned = now
	}
}

// caExpiryGauge exports when the hub CA expires, so that monitoring can
// alert long before (shiftgate_hub_ca_expiry_timestamp_seconds - time() <
// 180 days): the hub CA does not change while the hub runs.
func caExpiryGauge(ca *certs.CA) prometheus.Collector {
	notAfter := float64(ca.Cert.NotAfter.Unix())
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shiftgate_hub_ca_expiry_timestamp_seconds",
		Help: "When the hub CA (ca.pem) expires, as a Unix time: then the hub does not start and every kiosk must enroll again with a new CA. Alert months ahead.",
	}, func() float64 { return notAfter })
}
