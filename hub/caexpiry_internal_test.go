package hub

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
)

// TestCAExpiryMessage: the hub CA's coming expiry is said months ahead,
// louder in its last month, with what to do.
func TestCAExpiryMessage(t *testing.T) {
	now := time.Now()
	const day = 24 * time.Hour
	for _, tc := range []struct {
		left  time.Duration
		level slog.Level
		want  string
	}{
		{365 * day, 0, ""},
		{180*day + time.Minute, 0, ""},
		{180 * day, slog.LevelWarn, "expires within 180 days"},
		{31 * day, slog.LevelWarn, "expires within 180 days"},
		{30 * day, slog.LevelError, "expires within 30 days"},
		{time.Hour, slog.LevelError, "expires within 30 days"},
		{0, slog.LevelError, "has expired"},
	} {
		msg, level := caExpiry(now.Add(tc.left), now)
		if (tc.want == "") != (msg == "") || !strings.Contains(msg, tc.want) || level != tc.level {
			t.Errorf("%s left: %q at %s, want %q at %s", tc.left, msg, level, tc.want, tc.level)
		}
		if msg != "" && !strings.Contains(msg, "--new-ca") {
			t.Errorf("%s left: %q does not say what to do (--new-ca)", tc.left, msg)
		}
	}
}

// newCAHub starts a hub on a data directory whose CA was made so that it
// expires left after now, with its log in logs.
func newCAHub(t *testing.T, now time.Time, left time.Duration, logs *bytes.Buffer) *Server {
	t.Helper()
	dir := t.TempDir()
	if _, err := certs.LoadOrCreateHub(dir, nil, now.Add(left-certs.CALifetime)); err != nil {
		t.Fatal(err)
	}
	s, err := New(t.Context(), Config{DataDir: dir, Listen: "127.0.0.1:0", PublicURL: "https://hub.example.org:8443",
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCAExpiryWarned: a hub whose CA expires within months says so in its
// log when it starts serving and then once a day, not at every tick.
func TestCAExpiryWarned(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	var logs bytes.Buffer
	s := newCAHub(t, now, 100*24*time.Hour, &logs)
	warnings := func() int { return strings.Count(logs.String(), "the hub CA (ca.pem) expires within") }

	// At start: renewServerCert warns before its first tick.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s.renewServerCert(ctx)
	if n := warnings(); n != 1 {
		t.Fatalf("at start: %d CA expiry warnings logged, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "--new-ca") {
		t.Errorf("the warning is not at warn or does not say what to do:\n%s", logs.String())
	}

	var st certTicks
	s.serverCertTick(t.Context(), now, &st)
	s.serverCertTick(t.Context(), now.Add(12*time.Hour), &st)
	if n := warnings(); n != 2 {
		t.Errorf("two ticks in a day: %d warnings logged, want 2 (start, first tick):\n%s", n, logs.String())
	}
	s.serverCertTick(t.Context(), now.Add(24*time.Hour), &st)
	if n := warnings(); n != 3 {
		t.Errorf("a day later: %d warnings logged, want 3", n)
	}
	s.serverCertTick(t.Context(), now.Add(75*24*time.Hour), &st)
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "expires within 30 days") {
		t.Errorf("in the CA's last 30 days: no error logged:\n%s", logs.String())
	}
}

// TestCAExpiryNotWarnedEarly: a CA years from its expiry is not warned of.
func TestCAExpiryNotWarnedEarly(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	var logs bytes.Buffer
	s := newCAHub(t, now, 2*365*24*time.Hour, &logs)
	var st certTicks
	s.serverCertTick(t.Context(), now, &st)
	if strings.Contains(logs.String(), "hub CA") {
		t.Errorf("a CA two years from expiry was warned of:\n%s", logs.String())
	}
}

// TestCAExpiryMetric: /metrics says when the hub CA expires, so that an
// alert can fire months ahead.
func TestCAExpiryMetric(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	var logs bytes.Buffer
	s := newCAHub(t, now, 100*24*time.Hour, &logs)
	w := httptest.NewRecorder()
	s.metrics.handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	if !strings.Contains(body, "# TYPE shiftgate_hub_ca_expiry_timestamp_seconds gauge\n") {
		t.Fatalf("no shiftgate_hub_ca_expiry_timestamp_seconds gauge on /metrics:\n%s", body)
	}
	_, value, _ := strings.Cut(body, "\nshiftgate_hub_ca_expiry_timestamp_seconds ")
	value, _, _ = strings.Cut(value, "\n")
	got, err := strconv.ParseFloat(value, 64)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.certs.CA.Cert.NotAfter; got != float64(want.Unix()) {
		t.Errorf("shiftgate_hub_ca_expiry_timestamp_seconds %v, want %v (the CA's NotAfter, %s)", got, want.Unix(), want)
	}
	if got, want := s.certs.CA.Cert.NotAfter, now.Add(100*24*time.Hour); got.Sub(want).Abs() > 2*time.Hour {
		t.Errorf("CA expires %s, want about %s", got, want)
	}
}
