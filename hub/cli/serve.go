package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/policy"
)

func (e env) serve(ctx context.Context, args []string) error {
	fs := e.flags("serve")
	data := fs.String("data", "", "data directory (created on first start)")
	listen := fs.String("listen", "127.0.0.1:8443", "address to listen on")
	public := fs.String("public-url", "", "URL clients use to reach the hub, with a DNS name (kiosk logins are WebAuthn), e.g. https://hub.example.org:8443 (default https://localhost:PORT for a loopback or wildcard --listen)")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	// No flag default: without --shift-grace the stored policy's value
	// holds, and "-h" must not claim a default that would overwrite it.
	grace := fs.Duration("shift-grace", 0, fmt.Sprintf("how long before a shift starts its worker may sign in, e.g. 30m (0: not before the start); when given, sets the stored login policy's value at start; without it the stored value holds (%s on first start)", policy.FormatDuration(policy.DefaultShiftGrace)))
	warnings := fs.String("session-warnings", "10m,2m", "comma-separated lead times before a session ends at which kiosks warn")
	cpuProfile := fs.String("cpu-profile", "", "write a Go CPU profile of the whole run to this file (for benchmarks)")
	gcPercent := fs.Int("gc-percent", defaultGCPercent, "how far the heap may grow past the live data before a collection, in percent (GOGC in the environment wins)")
	roots := fs.String("attestation-roots", "", "PEM file of the authenticator makers' attestation roots; with it, a kiosk profile's allow-listed models must be proven by an attestation chaining to one (default DATA/attestation-roots.pem when it exists)")
	mds := fs.String("fido-mds", "", "FIDO Metadata Service BLOB (the JWT from https://mds3.fidoalliance.org/); with it, a kiosk profile's allow-listed models that it lists must be proven by their makers' attestation roots and be in good standing; read again when the file changes (default DATA/fido-mds.jwt when it exists)")
	mdsRoot := fs.String("fido-mds-root", "", "PEM file of the root the BLOB's signing chain must end at (default the FIDO Alliance's, GlobalSign Root R46)")
	tlsCert := fs.String("tls-cert", "", "PEM file of the HTTPS certificate to serve instead of the hub CA's own, its intermediates after it: one a public or company CA issued for the --public-url host, which identity providers (Microsoft Entra ID takes no other) and browsers trust; read again when it changes; kiosks enroll with --ca naming its root (with --tls-key)")
	newCA := fs.Bool("new-ca", false, "make a new hub CA although kiosks are enrolled with the one whose files (ca.pem, ca-key.pem) are gone from --data: every kiosk must then enroll again (without it such a hub refuses to start)")
	tlsKey := fs.String("tls-key", "", "PEM file of --tls-cert's private key (PKCS #8, PKCS #1 or SEC 1, unencrypted; RSA, ECDSA or Ed25519), mode 0600, readable by the hub's user")
	memLimit := fs.String("memory-limit", defaultMemoryLimit, "soft limit of the hub's Go memory, e.g. 768MiB or 2GiB: collections come sooner as it nears (GOMEMLIMIT in the environment wins); about three quarters of the memory the hub may use")
	if err := parse(fs, args, "data"); err != nil {
		return err
	}
	ws, err := parseDurations(*warnings)
	if err != nil {
		return fmt.Errorf("%w: --session-warnings %q: %v", errUsage, *warnings, err)
	}
	for _, w := range ws {
		if w > policy.MaxSessionLimit {
			// No login policy gives a session that long (max_session, of
			// every role too): each kiosk would give that warning at
			// once, as every session starts, far from its end.
			return fmt.Errorf("%w: --session-warnings %q: %s is longer than any session (at most %s): give lead times up to %s, e.g. 10m,2m",
				errUsage, *warnings, policy.FormatDuration(w), policy.FormatDuration(policy.MaxSessionLimit), policy.FormatDuration(policy.MaxSessionLimit))
		}
	}
	if *grace < 0 || *grace > policy.MaxShiftGrace {
		// As the login policy, which hub.New would refuse it by only
		// after making the data directory, its CA and database.
		return fmt.Errorf("%w: --shift-grace %s: give 0 or a duration up to %s", errUsage, *grace, policy.FormatDuration(policy.MaxShiftGrace))
	}
	var shiftGrace time.Duration // hub.Config: zero keeps the stored policy's
	if given(fs, "shift-grace") {
		shiftGrace = *grace
		if shiftGrace == 0 {
			shiftGrace = -1 // hub.Config: negative means none
		}
	}
	gc, err := tuneGC(*gcPercent, *memLimit, os.LookupEnv)
	if err != nil {
		return err
	}
	log, err := e.logger(*logFormat, *logLevel)
	if err != nil {
		return err
	}
	if err := checkServeFlags(*listen, *public); err != nil {
		return err
	}
	for _, f := range []struct{ flag, path string }{{"attestation-roots", *roots}, {"fido-mds", *mds}, {"fido-mds-root", *mdsRoot}, {"tls-cert", *tlsCert}, {"tls-key", *tlsKey}} {
		if err := checkFileFlag(f.flag, f.path); err != nil {
			return err
		}
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together: the certificate and its key", errUsage)
	}
	// One hub per data directory, before anything in it is opened: a
	// second one would fail on the port only after its migrations and
	// policy check, or, with another --listen, run beside the first.
	lock, err := lockDataDir(*data)
	if err != nil {
		return err
	}
	defer lock.Close() // after s.Close: deferred first, runs last
	// Held, the lock keeps any other hub off the directory, and this
	// one's audit watch has not started yet: an audit.head written aside
	// and never renamed into place is a crashed hub's, there for good.
	audit.RemoveStrayHeads(*data, log)
	log.Info("garbage collector", "gcPercent", gc.Percent, "memoryLimitMiB", gc.Limit>>20, "fromEnvironment", gc.FromEnv)
	if *cpuProfile != "" {
		f, err := os.OpenFile(*cpuProfile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if localOnlyURL(*listen, *public) {
		log.Warn("listening on every interface without --public-url: the hub's public URL is https://localhost, the WebAuthn origin of its kiosks and console, so kiosks and browsers on other machines cannot sign in; give --public-url https://HOSTNAME:PORT",
			"listen", *listen)
	}
	s, err := hub.New(ctx, hub.Config{DataDir: *data, Listen: *listen, PublicURL: *public, Logger: log, ShiftGrace: shiftGrace, SessionWarnings: ws, FillWAL: true,
		AttestationRoots: *roots, FIDOMetadata: *mds, FIDOMetadataRoot: *mdsRoot, TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey, NewCA: *newCA})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Serve(ctx, func(net.Addr) {})
}

// localOnlyURL reports whether a hub listening on listen, a wildcard
// address (":8443", "0.0.0.0:8443", "[::]:8443"), takes localhost for its
// public URL because public is empty: reachable from other machines, yet
// usable only from this one.
func localOnlyURL(listen, public string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || public != "" {
		return false
	}
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
}

// checkServeFlags refuses, before the data directory is locked or made, a
// --listen that is not host:port and a --public-url (when given) that
// hub.New would refuse after making the directory, its CA and database.
func checkServeFlags(listen, public string) error {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("%w: --listen %q: want host:port, e.g. 127.0.0.1:8443 or :8443", errUsage, listen)
	}
	// A port number out of range fails only at the listen, after the
	// data directory, its CA and database are made, and as if another
	// hub held the port. (A service name, such as https, is left to it.)
	if _, err := strconv.ParseUint(port, 10, 16); errors.Is(err, strconv.ErrRange) || strings.HasPrefix(port, "-") {
		return fmt.Errorf("%w: --listen %q: the port must be from 0 to 65535", errUsage, listen)
	}
	if public == "" {
		return nil
	}
	return checkPublicURL(public)
}

// checkPublicURL refuses a --public-url that is not https://host[:port]
// with a DNS name, as hub.New would.
func checkPublicURL(public string) error {
	u, err := url.Parse(public)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%w: --public-url %q: want https://host[:port]", errUsage, public)
	}
	if net.ParseIP(u.Hostname()) != nil {
		return fmt.Errorf("%w: --public-url %q: use a DNS name, not an IP address: kiosk logins are WebAuthn, whose relying party ID must be a domain (https://localhost:PORT for a hub on this machine)", errUsage, public)
	}
	return nil
}

// checkFileFlag refuses a file flag, when given, that names no file: the
// hub reads it only after making its data directory.
func checkFileFlag(flag, path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: --%s: %v", errUsage, flag, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: --%s: %s is a directory, not a file", errUsage, flag, path)
	}
	return nil
}

// given reports whether the flag was on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// parseDurations reads a comma-separated list of positive durations.
func parseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for f := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("%q is not a duration of at least 1s, e.g. 10m", strings.TrimSpace(f))
		}
		out = append(out, d)
	}
	return out, nil
}
