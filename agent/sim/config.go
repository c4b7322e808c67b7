package sim

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Scenario names.
const (
	ScenarioLogins     = "logins"
	ScenarioLeaver     = "leaver"
	ScenarioMassRevoke = "mass-revoke"
)

// Scenarios lists the scenario names in the order they are documented.
func Scenarios() []string { return []string{ScenarioLogins, ScenarioLeaver, ScenarioMassRevoke} }

// Config configures a simulator run. Zero values take the defaults noted.
type Config struct {
	HubURL string // https://localhost:PORT (WebAuthn needs a DNS name)
	// CAFile is the PEM file of the CA(s) the hub's HTTPS certificate
	// chains to: the hub's ca.pem, or, for a hub serving an operator's
	// certificate (serve --tls-cert), that CA's root and the hub's ca.pem.
	// The hub CA that issues the kiosks' certificates is the one the
	// enrollment answers name, kept in the state.
	CAFile     string
	AdminToken string // admin-scope API token
	SCIMToken  string // scim-scope token
	StateDir   string // enrolled kiosks and badges, reused across runs of the same hub
	Site       string // the kiosks' site (default "sim")
	HubPID     int    // when > 0, hub CPU and RSS are read from /proc/PID

	Scenario string
	// Kiosks is how many kiosks are enrolled and connected (default: the
	// concurrency for logins, 10,000 otherwise).
	Kiosks int
	// Rounds (default 3 for logins, 20 for leaver, 5 for mass-revoke).
	Rounds int
	// Concurrency is how many kiosks tap at once in logins (default 64)
	// and how many log in at once between mass-revoke rounds (default 64).
	Concurrency int
	// Duration of one logins round (default 5 s).
	Duration time.Duration
	// Sessions is how many kiosks hold a session of the leaver (default 2).
	Sessions int

	// Setup workers: parallel enrollments, SCIM calls and registrations
	// (default 32), and TLS dials in flight (default 200).
	Workers, DialConcurrency int
	// SetupTimeout bounds the whole setup (default 30 min); RoundTimeout
	// bounds each round (default 2 min).
	SetupTimeout, RoundTimeout time.Duration

	// Progress receives progress lines (default io.Discard); ProgressEvery
	// is how often a running phase reports (default 2 s).
	Progress      io.Writer
	ProgressEvery time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.HubURL); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("--hub %q: want https://HOST[:PORT]", c.HubURL))
	} else if !loopback(u.Hostname()) {
		errs = append(errs, fmt.Errorf("--hub %q: shiftgate-sim is a load generator and only targets a hub on this machine (localhost, 127.0.0.0/8 or ::1)", c.HubURL))
	}
	for _, f := range []struct{ name, v string }{
		{"--ca", c.CAFile}, {"--admin-token", c.AdminToken}, {"--scim-token", c.SCIMToken}, {"--state", c.StateDir},
	} {
		if strings.TrimSpace(f.v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		}
	}
	switch c.Scenario {
	case ScenarioLogins, ScenarioLeaver, ScenarioMassRevoke:
	default:
		errs = append(errs, fmt.Errorf("scenario %q: want one of %s", c.Scenario, strings.Join(Scenarios(), ", ")))
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"--kiosks", c.Kiosks}, {"--rounds", c.Rounds}, {"--concurrency", c.Concurrency}, {"--sessions", c.Sessions},
		{"--workers", c.Workers}, {"--dial-concurrency", c.DialConcurrency},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", f.name))
		}
	}
	if c.Kiosks > maxKiosks {
		errs = append(errs, fmt.Errorf("--kiosks %d: at most %d (one file descriptor per kiosk; the hard limit is 20,000)", c.Kiosks, maxKiosks))
	}
	d := c.withDefaults()
	if d.Scenario == ScenarioLogins && d.Concurrency > d.Kiosks {
		errs = append(errs, fmt.Errorf("--concurrency %d needs at least as many --kiosks (%d)", d.Concurrency, d.Kiosks))
	}
	if d.Scenario == ScenarioLeaver && d.Sessions > d.Kiosks {
		errs = append(errs, fmt.Errorf("--sessions %d needs at least as many --kiosks (%d)", d.Sessions, d.Kiosks))
	}
	if !validNamePart(d.Site) {
		errs = append(errs, fmt.Errorf("--site %q: use letters, digits, '-' and '_'", d.Site))
	}
	return errors.Join(errs...)
}

// maxKiosks keeps the process under the 20,000 descriptor limit with room
// for the HTTP clients, files and the runtime.
const maxKiosks = 19000

func validNamePart(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// withDefaults fills in the zero values.
func (c Config) withDefaults() Config {
	if c.Site == "" {
		c.Site = "sim"
	}
	if c.Concurrency == 0 {
		c.Concurrency = 64
	}
	if c.Kiosks == 0 {
		if c.Scenario == ScenarioLogins {
			c.Kiosks = c.Concurrency
		} else {
			c.Kiosks = 10000
		}
	}
	if c.Rounds == 0 {
		switch c.Scenario {
		case ScenarioLogins:
			c.Rounds = 3
		case ScenarioLeaver:
			// A p99 over fewer than 100 rounds is their maximum.
			c.Rounds = 100
		default:
			c.Rounds = 5
		}
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Sessions == 0 {
		c.Sessions = 2
	}
	if c.Workers == 0 {
		c.Workers = 32
	}
	if c.DialConcurrency == 0 {
		c.DialConcurrency = 200
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = 30 * time.Minute
	}
	if c.RoundTimeout <= 0 {
		c.RoundTimeout = 2 * time.Minute
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// loopback reports whether host names this machine: localhost or a
// loopback address. A load test never leaves the machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
