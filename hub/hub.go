// Package hub assembles the Shiftgate hub: one HTTPS port that serves SCIM
// provisioning, the device channel, the JSON API, the web console, metrics
// and health, on top of one store.
//
// New opens (or on first start creates) everything the hub keeps in its
// data directory:
//
//	DIR/hub.db           SQLite database (0600)
//	DIR/ca.pem           the hub CA certificate, for clients to trust
//	DIR/ca-key.pem       the CA key (0600)
//	DIR/server.pem       the HTTPS certificate, re-issued before it expires
//	DIR/server-key.pem   its key (0600)
//	DIR/audit.key        the audit chain key (0600)
//	DIR/audit.head       the newest audit record the hub checked (0600)
package hub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/authn"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/scim"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
	"github.com/shiftgate/shiftgate/hub/token"
)

// DBFile is the SQLite database's name inside the data directory.
const DBFile = "hub.db"

// Config is the hub's runtime configuration. DataDir is required.
type Config struct {
	DataDir   string
	Listen    string // host:port; default 127.0.0.1:8443
	PublicURL string // how clients reach the hub; default https://<Listen>, with localhost for a loopback or wildcard address
	Logger    *slog.Logger
	Now       func() time.Time
	// SchedulerInterval is how often effective dates are checked; default 1s.
	SchedulerInterval time.Duration
	// MaxBodyBytes caps every request body; default 1 MiB.
	MaxBodyBytes int64
	// FillWAL writes the write-ahead log's 64 MiB of disk blocks at start
	// (sqlite.DB.FillWAL): steadier commit latency under load, for about
	// 50 ms and 64 MiB of disk. serve and demo set it; tests need not.
	FillWAL bool
	// ShiftGrace, when not zero, sets the login policy's shift grace (how
	// long before a shift starts its worker may sign in; negative means
	// none) at start: in the policy stored on first start, and on a later
	// start as an audited policy change if the stored value differs. Zero
	// keeps the stored policy's (policy.DefaultShiftGrace, 15 min, on first
	// start), which admins edit in the console or the API.
	ShiftGrace time.Duration
	// SessionWarnings are the lead times before a session ends at which
	// kiosks warn the user (session.grant warn_seconds); default 10 and 2
	// minutes. Each must be at least a second.
	SessionWarnings []time.Duration
	// ConsoleMetrics, when set, gives the console dashboard its program
	// metrics; without it the dashboard says they are not yet measured.
	ConsoleMetrics func(context.Context) ([]console.Metric, error)
	// AttestationRoots is a PEM file of the attestation roots trusted to
	// prove authenticator models (see authn.Config.AttestationRoots);
	// default DIR/attestation-roots.pem when that file exists.
	AttestationRoots string
	// FIDOMetadata is the FIDO Metadata Service BLOB (see
	// authn.Config.Metadata), as downloaded from
	// https://mds3.fidoalliance.org/; default DIR/fido-mds.jwt when that
	// file exists. The hub reads it again when it changes.
	FIDOMetadata string
	// FIDOMetadataRoot is a PEM file of the root the BLOB's signing chain
	// must end at; default the FIDO Alliance's (GlobalSign Root R46).
	FIDOMetadataRoot string
	// FIDOMetadataPoll is how often the hub checks the BLOB file for a new
	// one; default DefaultFIDOMetadataPoll.
	FIDOMetadataPoll time.Duration
	// TLSCertFile and TLSKeyFile, when set (both or neither), are the
	// HTTPS certificate chain and key the hub serves instead of its own
	// (certs.Hub.UseExternalCert): one from a CA that identity providers
	// and browsers trust. The hub reads them again when they change.
	TLSCertFile, TLSKeyFile string
	// AuditWatch is how often the hub checks the audit records appended
	// since its last check (audit.Watcher); default DefaultAuditWatch.
	AuditWatch time.Duration
	// NewCA lets the hub make a new CA although kiosks are enrolled with
	// the one whose files are gone (checkCAKept): every kiosk must then
	// enroll again.
	NewCA bool
}

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		return errors.New("no data directory: pass --data DIR")
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8443"
	}
	if c.PublicURL == "" {
		// WebAuthn relying party IDs are DNS names, never IP addresses:
		// a hub on a loopback or wildcard address is localhost.
		host, port, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", c.Listen, err)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
			host = "localhost"
		}
		c.PublicURL = "https://" + net.JoinHostPort(host, port)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SchedulerInterval <= 0 {
		c.SchedulerInterval = time.Second
	}
	if c.FIDOMetadataPoll <= 0 {
		c.FIDOMetadataPoll = DefaultFIDOMetadataPoll
	}
	if c.AuditWatch <= 0 {
		c.AuditWatch = DefaultAuditWatch
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	return c.setTimeDefaults()
}

// DefaultAuditWatch is how often a hub checks what its audit trail took
// since the last check: a trail cut short or rewritten is found (logged,
// recorded, counted in shiftgate_audit_chain_breaks_total) within it.
const DefaultAuditWatch = time.Minute

// Server is a running hub's state.
type Server struct {
	cfg      Config
	public   *url.URL
	st       store.Store
	certs    *certs.Hub
	engine   *lifecycle.Engine
	audit    *audit.Log
	watch    *audit.Watcher
	verifier *token.Verifier
	channel  *channel
	push     *push.Hub
	profiles map[string]*profiles.Profile
	metrics  *metrics
	gov      *governance.Service
	govStats *governance.Collector // the governance numbers on /metrics
	console  *console.Console
	handler  http.Handler
	seen     lastSeen
	metadata *fidoMetadata // the FIDO metadata file, or nil
	// enrollGuard refuses a source of many wrong enrollment codes for a
	// while (see enrollguard.go).
	enrollGuard *enrollGuard
	// superseded is when each refused superseded device certificate was
	// last logged (verifyDevice): device ID/serial → time.Time.
	superseded sync.Map
	// bodyTimeout is how long a client has to send a request's body
	// (bodyDeadline); bodyReadTimeout but in tests.
	bodyTimeout time.Duration
}

// logSuperseded reports whether a refusal of key (device/serial) should
// be logged at now: the first, then one an hour.
func (s *Server) logSuperseded(key string, now time.Time) bool {
	if last, ok := s.superseded.Load(key); ok && now.Sub(last.(time.Time)) < time.Hour && !now.Before(last.(time.Time)) {
		return false
	}
	s.superseded.Store(key, now)
	return true
}

// New opens the hub's data directory, creating what is missing.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	public, err := url.Parse(cfg.PublicURL)
	if err != nil || public.Scheme != "https" || public.Host == "" {
		return nil, fmt.Errorf("public URL %q: want https://host[:port]", cfg.PublicURL)
	}
	if net.ParseIP(public.Hostname()) != nil {
		return nil, fmt.Errorf("public URL %q: use a DNS name, not an IP address: kiosk logins are WebAuthn, whose relying party ID must be a domain (https://localhost:PORT for a hub on this machine)", cfg.PublicURL)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	hosts := []string{public.Hostname()}
	if h, _, err := net.SplitHostPort(cfg.Listen); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("give the HTTPS certificate and its key together (--tls-cert and --tls-key), or neither")
	}
	st, err := OpenStoreWith(ctx, cfg.DataDir, sqlite.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	// The store first: whether a missing CA may be made anew depends on
	// the kiosks enrolled with the old one.
	hc, err := loadCerts(ctx, cfg, st, hosts, public.Hostname())
	if err != nil {
		st.Close()
		return nil, err
	}
	if cfg.FillWAL {
		// Only latency depends on it: a hub that cannot fill the log
		// (a full disk) still starts, and says so.
		if err := st.FillWAL(ctx); err != nil && cfg.Logger != nil {
			cfg.Logger.Warn("could not fill the write-ahead log; commits may be slower under load", "err", err)
		}
	}
	key, err := audit.LoadOrCreateKeyLog(ctx, cfg.DataDir, st, cfg.Logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	alog, err := audit.New(key, cfg.Now)
	if err != nil {
		st.Close()
		return nil, err
	}
	// Made beside audit.key (a missing one anew, logged): the console's
	// audit export is signed with it.
	signer, err := audit.LoadOrCreateSigner(ctx, cfg.DataDir, st, cfg.Logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, public: public, st: st, certs: hc, audit: alog, verifier: token.NewVerifier(st, cfg.Now, cfg.Logger), enrollGuard: newEnrollGuard(),
		bodyTimeout: bodyReadTimeout}
	s.watch, err = audit.NewWatcher(audit.WatchConfig{Key: key, Trail: st, Dir: cfg.DataDir, Logger: cfg.Logger, Now: cfg.Now,
		Alert: func(ctx context.Context, e audit.Entry) error {
			return st.InTx(ctx, func(tx store.Ops) error { _, err := alog.Append(ctx, tx, e); return err })
		},
		Sync: st.Sync,
		// A signed anchor in the log for whoever collects it (a SIEM):
		// audit verify --checkpoints.
		OnChecked: func(head audit.Anchor) {
			cfg.Logger.Info(audit.CheckpointMessage, "checkpoint", signer.Checkpoint(head, cfg.Now()))
		}})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.profiles, err = loadProfiles(cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, err
	}
	roots, err := loadAttestationRoots(cfg.AttestationRoots, cfg.DataDir, cfg.Logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	var md *authn.Metadata
	s.metadata, md, err = loadFIDOMetadata(cfg.FIDOMetadata, cfg.FIDOMetadataRoot, cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, err
	}
	warnUnproven(s.profiles, roots, md, cfg.DataDir, cfg.Logger)
	// Before WarnAtStart, which would otherwise ask for the rotation of
	// tokens revoked here.
	if err := s.revokeTokensOfDisabledMakers(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("revoke admin API tokens of disabled console accounts: %w", err)
	}
	if err := token.WarnAtStart(ctx, st, cfg.Now(), cfg.Logger); err != nil {
		st.Close()
		return nil, fmt.Errorf("check API tokens: %w", err)
	}
	rules := policy.DefaultRules()
	if cfg.ShiftGrace != 0 {
		rules.ShiftGrace = cfg.ShiftGrace
	}
	s.engine, err = lifecycle.New(lifecycle.Config{
		Store: st, Audit: alog, Now: cfg.Now, Logger: cfg.Logger, Rules: rules, DeviceMaxSession: s.deviceMaxSession,
		OnExpiry: func(ms []lifecycle.ExpiryChange) { s.channel.pushExpiry(s.push, ms) },
		OnRevoke: func(rs []store.Revocation) { s.revoked(rs, nil) },
		NewWave:  func() lifecycle.Wave { return s.channel.newWave() },
		// An admin token revoked with its maker's console account (the
		// leaver path, a governance remediation) stops at once.
		TokenRevoked: s.verifier.Forget,
	})
	if err != nil {
		st.Close()
		return nil, err
	}

	rp, err := authn.New(authn.Config{
		RPID: public.Hostname(), RPDisplayName: "Shiftgate", Origin: public.Scheme + "://" + public.Host,
		Store: st, Audit: alog, Now: cfg.Now,
		Suspend: func(ctx context.Context, deviceID string, credentialID []byte, reason string, detail map[string]any) error {
			err := s.engine.SuspendCredential(ctx, deviceActor(deviceID), credentialID, reason, detail)
			if errors.Is(err, lifecycle.ErrCredentialNotActive) {
				return fmt.Errorf("%w: %w", authn.ErrUnknownCredential, err)
			}
			return err
		},
		AttestationRoots: roots,
		Metadata:         md,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("webauthn relying party: %w", err)
	}
	s.channel = &channel{s: s, rp: rp, rules: s.engine.Rules, warnSeconds: warnSeconds(cfg.SessionWarnings), acks: make(chan ack, 1<<16)}
	s.push = push.New(push.Config{Handler: s.channel, Now: cfg.Now, Logger: cfg.Logger})
	if err := s.loadPolicy(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if s.gov, err = governance.New(governance.Config{Store: st, Audit: alog, Engine: s.engine, Now: cfg.Now, Logger: cfg.Logger, Rules: s.engine.Rules,
		ModelRuledOut: s.modelRuledOut}); err != nil {
		st.Close()
		return nil, err
	}
	if md != nil {
		if _, err := s.takeFIDOMetadata(ctx, md); err != nil {
			st.Close()
			return nil, err
		}
		s.metadata.logLoaded(md, cfg.Now(), cfg.Logger, "FIDO metadata loaded: allow-listed models it lists must be proven by their makers' attestation roots and be in good standing")
		s.warnRuledOut(ctx, md)
	}
	s.govStats = s.gov.Collector(governance.MetricsMaxAge)
	s.metrics = newMetrics(func() float64 { return float64(s.push.Count()) }, func() float64 { return float64(s.push.BusyHellos()) }, s.govStats, metadataCollector{s.channel.rp},
		&tokenCollector{st: st, log: cfg.Logger, now: cfg.Now}, watchCollector{s.watch},
		&kioskCollector{counts: st.CountDevices, connected: func() []string { return s.push.ConnectedIDs() }, seen: &s.seen, now: cfg.Now, log: cfg.Logger},
		cleanupCollector{&s.channel.cleanups})
	s.metrics.add(caExpiryGauge(hc.CA))
	if cfg.ConsoleMetrics == nil {
		cfg.ConsoleMetrics = s.programMetrics
	}
	s.console, err = console.New(console.Config{
		Store: st, Engine: s.engine, Audit: alog, AuditKey: key, AuditSigner: signer, AuditWatch: s.watch.Status,
		RPID: public.Hostname(), Origin: public.Scheme + "://" + public.Host,
		ArmEnrollment: s.armEnrollment,
		KioskOnline:   s.push.Connected, DisableDevice: s.disableDevice, TokenRevoked: s.verifier.Forget,
		KioskConnected: s.push.ConnectedIDs, KioskSeen: s.seen.snapshot, KioskCleanup: s.channel.cleanups.console,
		Profiles: s.profiles, Metrics: cfg.ConsoleMetrics, Governance: s.gov, Now: cfg.Now, Logger: cfg.Logger,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// loadPolicy reads the stored login policy (storing the defaults on first
// start, as actor "hub") and applies Config.ShiftGrace to it.
func (s *Server) loadPolicy(ctx context.Context) error {
	p, err := s.engine.LoadPolicy(ctx, lifecycle.Actor{Name: "hub", System: "config"})
	if err != nil {
		return err
	}
	if s.cfg.ShiftGrace == 0 {
		return nil
	}
	rules := p.Rules // the maps are shared, but only a field of the copy changes
	rules.ShiftGrace = s.cfg.ShiftGrace
	// A restart with the flag the stored policy already holds changes
	// nothing, and is not made an update: no new version, and no audit
	// record, for each restart. (A new version keeps the names the stored
	// one holds, even one a later rule refuses: UpdatePolicy holds only
	// new names to the rule of an admin's edit.)
	if *rules.Document().ShiftGrace == *p.Rules.Document().ShiftGrace {
		return nil
	}
	if _, err := s.engine.UpdatePolicy(ctx, lifecycle.Actor{Name: "hub --shift-grace", System: "config"}, p.Version, rules); err != nil {
		return fmt.Errorf("apply --shift-grace %s: %w", s.cfg.ShiftGrace, err)
	}
	return nil
}

// deviceMaxSession is the maxSession of the kiosk hardware profile
// named, 0 for a profile this hub does not know.
func (s *Server) deviceMaxSession(profile string) time.Duration {
	if p, ok := s.profiles[profile]; ok {
		return p.MaxSession
	}
	return 0
}

// ProfilesDir is where a hub looks for kiosk hardware profiles of its own,
// next to the built-in ones: DIR/profiles/*.json.
const ProfilesDir = "profiles"

// revoked pushes rs to their kiosks, and logs them. failed, when set, is
// called with the session of each push that could not be sent.
func (s *Server) revoked(rs []store.Revocation, failed func(sessionID string)) {
	if len(rs) == 0 {
		return
	}
	log := s.cfg.Logger
	push := func(level slog.Level) {
		// Push first: the log must not delay a teardown.
		s.channel.pushRevocations(s.push, rs, failed)
		log.Log(context.Background(), level, "revocations pushed", "count", len(rs), "first_user", rs[0].UserID, "reason", rs[0].Reason)
		if log.Enabled(context.Background(), slog.LevelDebug) {
			for _, r := range rs {
				log.Debug("revocation", "user", r.UserID, "session", r.SessionID, "device", r.DeviceID, "reason", r.Reason, "detail", r.Detail)
			}
		}
	}
	// A group change hands its revocations over from inside its
	// transaction, in chunks (see lifecycle): thousands of pushes go out
	// from another goroutine while the transaction reads on, and the
	// engine logs the change's total once.
	if len(rs) >= asyncPushes {
		go push(slog.LevelDebug)
		return
	}
	push(slog.LevelInfo)
}

// asyncPushes is the size from which a batch of revocations is pushed from
// a goroutine of its own rather than the caller's, which may be a
// transaction that every other write waits for. Below it the pushes cost
// less than handing them over.
const asyncPushes = 64

// AttestationRootsFile is where a hub looks for the attestation roots it
// trusts, unless given a file: DIR/attestation-roots.pem.
const AttestationRootsFile = "attestation-roots.pem"

// loadAttestationRoots reads the trusted attestation roots from path, or
// from DIR/attestation-roots.pem when path is empty and that file exists
// (nil, nil when it does not), and logs what it loaded.
func loadAttestationRoots(path, dir string, log *slog.Logger) (*x509.CertPool, error) {
	explicit := path != ""
	if !explicit {
		path = filepath.Join(dir, AttestationRootsFile)
	}
	data, err := certs.ReadPEMFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("attestation roots: %w", err)
	}
	roots, err := certs.DecodeCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("attestation roots %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	log.Info("attestation roots: kiosk profiles' allow-listed models must be proven by one", "file", path, "certificates", len(roots))
	return pool, nil
}

// loadProfiles returns the built-in kiosk profiles and those in
// DIR/profiles, which add to or replace them.
func loadProfiles(dir string) (map[string]*profiles.Profile, error) {
	all, err := profiles.Builtin()
	if err != nil {
		return nil, fmt.Errorf("built-in kiosk profiles: %w", err)
	}
	extra := filepath.Join(dir, ProfilesDir)
	if _, err := os.Stat(extra); err == nil {
		more, err := profiles.LoadDir(extra)
		if err != nil {
			return nil, fmt.Errorf("kiosk profiles in %s: %w", extra, err)
		}
		maps.Copy(all, more)
	}
	return all, nil
}

// auditEntry builds an audit entry for actor a.
func auditEntry(a lifecycle.Actor, action, subject string, detail any) audit.Entry {
	return audit.Entry{Actor: a.Name, System: a.System, Action: action, Subject: subject, Detail: detail}
}

// OpenStore opens the data directory's database, for the hub and for the
// CLI's offline subcommands.
func OpenStore(ctx context.Context, dir string) (*sqlite.DB, error) {
	return OpenStoreWith(ctx, dir, sqlite.Options{})
}

// OpenStoreWith is OpenStore with the store's options: the CLI opens with
// sqlite.Options.NoUpgrade first, so as not to migrate the schema under a
// running hub.
func OpenStoreWith(ctx context.Context, dir string, opts sqlite.Options) (*sqlite.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := sqlite.OpenWith(ctx, filepath.Join(dir, DBFile), opts)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	return db, nil
}

// Store is the hub's store.
func (s *Server) Store() store.Store { return s.st }

// Engine is the hub's lifecycle engine.
func (s *Server) Engine() *lifecycle.Engine { return s.engine }

// Handler is the hub's whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// TLSConfig is the HTTPS configuration: the hub's server certificate, and
// device client certificates verified against the hub CA.
func (s *Server) TLSConfig() *tls.Config {
	return certs.ServerTLSConfig(s.certs, s.verifyDevice)
}

// verifyDevice refuses client certificates of unknown or disabled kiosks
// during the TLS handshake, and every certificate of a kiosk but its
// newest (store.Device.TakesCert): the one its last renewal replaced is
// taken for enroll.ReplacedCertGrace, or until the kiosk opens a channel
// with the newest (channel.retirePrevCert), any older one never again,
// whatever its expiry. A kiosk enrolled before the hub recorded serials is
// taken with any certificate of the CA until its next renewal.
//
// A store that cannot be read (locked by another process past the busy
// timeout, say) does not refuse the certificate: a refusal here is TLS's
// bad_certificate alert, which the agent takes for its certificate being
// refused (it tells the operator to enroll the kiosk again, and retries
// slowly). The channel's admission reads the device again and answers an
// internal error the agent retries, or refuses a disabled kiosk or a
// replaced certificate; nothing else the hub serves is authorised by a
// client certificate.
func (s *Server) verifyDevice(deviceID string, cert *x509.Certificate) error {
	d, err := s.st.GetDevice(context.Background(), deviceID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		if s.logSuperseded("verify-device-store", s.cfg.Now()) {
			s.cfg.Logger.Warn("device certificates are taken at the TLS handshake without reading the kiosk's record: the store cannot be read; the channel checks them once it can (logged once an hour)",
				"device", deviceID, "err", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("device %s: %w", deviceID, err)
	}
	if d.State != store.DeviceActive {
		return fmt.Errorf("device %s is disabled", deviceID)
	}
	if serial := enroll.SerialOf(cert); !d.TakesCert(serial, cert.NotBefore, s.cfg.Now()) {
		// A handshake error is logged by net/http at debug level only:
		// this one must reach the operator, once an hour per kiosk and
		// certificate (a refused kiosk tries again every minute or so).
		if !s.logSuperseded(deviceID+"/"+serial, s.cfg.Now()) {
			return fmt.Errorf("device %s: certificate %s was superseded by a renewal", deviceID, serial)
		}
		s.cfg.Logger.Warn("device certificate refused: a renewal superseded it. If the kiosk itself presented it (it lost its newest certificate: a state directory restored from a backup, a renewal answer lost more than a day ago), disable the kiosk and enroll it again; otherwise the kiosk's old key is in use elsewhere",
			"device", deviceID, "name", d.Name, "site", d.Site, "serial", serial, "current_serial", d.CertSerial, "not_after", cert.NotAfter.UTC())
		return fmt.Errorf("device %s: certificate %s was superseded by a renewal", deviceID, serial)
	}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("POST "+wire.EnrollPath, s.handleEnroll)
	mux.Handle("GET "+wire.WSPath, s.push)
	s.apiRoutes(mux)
	s.governanceRoutes(mux)
	s.siteRoutes(mux)
	mux.Handle("/console/", s.console.Handler())
	mux.Handle("GET /metrics", s.requireToken(s.metrics.handler(), store.ScopeMetrics, store.ScopeAdmin))
	mux.Handle("/scim/v2/", scim.NewHandler(scim.HandlerConfig{
		Prefix:       "/scim/v2",
		BaseURL:      s.public.JoinPath("/scim/v2").String(),
		Store:        s.st,
		Engine:       s.engine,
		Now:          s.cfg.Now,
		MaxBodyBytes: s.cfg.MaxBodyBytes,
		Logger:       s.cfg.Logger,
		Authorize:    s.authorize(store.ScopeSCIM),
	}))
	return s.logRequests(s.bodyDeadline(mux))
}

// Serve listens on cfg.Listen and serves until ctx ends, then shuts down
// gracefully. ready, if not nil, is called with the bound address once
// serving has begun, before the first connection is accepted: it must
// not wait for the hub to answer (a connection it makes waits in the
// listener's backlog until ready returns).
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another hub running? pick another --listen)", s.cfg.Listen, err)
	}
	return s.ServeListener(ctx, ln, ready)
}

// ServeListener is Serve on a listener the caller opened; it closes ln.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener, ready func(net.Addr)) error {
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	schedCtx, stopSched := context.WithCancel(ctx)
	go s.engine.Run(schedCtx, s.cfg.SchedulerInterval)
	go s.runReviews(schedCtx)
	// The periodic flush of the kiosks' last-seen times has ended before
	// the shutdown's (flushSeenAtShutdown) begins: one that a tick set
	// off as the hub stopped would otherwise run after it, and reach the
	// store after the caller has closed it.
	seenDone := make(chan struct{})
	go func() { defer close(seenDone); s.recordSeen(schedCtx) }()
	// The ack recorder outlives the schedulers: it is stopped once the
	// shutdown has closed the kiosks' channels, so it writes the acks
	// that came until then (flushAcks), and has ended when ServeListener
	// returns, before the caller closes the store.
	ackCtx, stopAcks := context.WithCancel(context.WithoutCancel(ctx))
	acked := make(chan struct{})
	go func() { defer close(acked); s.channel.recordAcks(ackCtx) }()
	defer func() { stopAcks(); <-acked }()
	go s.channel.cutGraceEnded(schedCtx, s.cfg.SchedulerInterval)
	go s.renewServerCert(schedCtx)
	go s.watchFIDOMetadata(schedCtx)
	// The watch writes DIR/audit.head and the trail: it has ended when
	// ServeListener returns, before the caller closes the store. This
	// defer also stops the other schedulers.
	watched := make(chan struct{})
	go func() { defer close(watched); s.watch.Run(schedCtx, s.cfg.AuditWatch) }()
	// The governance numbers are computed here, not in the scrape; like
	// the watch, they read the store until they have ended.
	counted := make(chan struct{})
	go func() { defer close(counted); s.govStats.Run(schedCtx) }()
	defer func() { stopSched(); <-watched; <-counted }()
	srv.RegisterOnShutdown(s.console.Shutdown) // live-update streams would hold Shutdown open

	// ready announces the hub (the CLI and the tests go on to use it), so
	// it waits until ServeTLS has taken its TLS configuration and the
	// listener and asks for the first connection (startGate): a ServeTLS
	// that fails before that returns its error, and ready is never called.
	gate := &startGate{Listener: ln, begun: make(chan struct{}), open: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(gate, "", "") }()
	// A listener that fails (Serve returns) stops the hub as the end of
	// ctx does: the kiosks' channels are closed, so that their agents
	// reconnect to a hub that serves, and their last-seen times and acks
	// are written; the error is returned after.
	var serveErr error
	select {
	case <-gate.begun:
		if ready != nil {
			ready(ln.Addr())
		}
		close(gate.open)
		s.cfg.Logger.Info("hub listening", "addr", ln.Addr().String(), "public_url", s.cfg.PublicURL, "data", s.cfg.DataDir)
		select {
		case serveErr = <-errc:
		case <-ctx.Done():
		}
	case serveErr = <-errc:
		close(gate.open) // never opened: ServeTLS failed before its first Accept
	case <-ctx.Done():
		close(gate.open) // Shutdown below makes a Serve that starts now return
	}
	if serveErr != nil {
		serveErr = fmt.Errorf("serve: %w", serveErr)
	}
	stopSched() // ctx has not ended when Serve failed
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.push.Close() // hijacked WebSockets are not closed by Shutdown
	err := srv.Shutdown(shutCtx)
	if err != nil {
		err = fmt.Errorf("shutdown: %w", err)
	}
	<-seenDone
	s.flushSeenAtShutdown() // the kiosks that the shutdown disconnected
	stopAcks()
	<-acked
	return errors.Join(serveErr, err)
}

// startGate is the listener ServeListener gives ServeTLS: its first
// Accept, which ServeTLS calls once it has set up TLS and taken the
// listener, closes begun and waits until open is closed, after ready has
// returned. So ready is never called after ServeTLS has failed: a
// failure either comes before that first Accept (ready is not called)
// or from an Accept after ready. Connections that arrive meanwhile wait
// in the socket's backlog. Accept is called from Serve's one goroutine.
type startGate struct {
	net.Listener
	once  sync.Once
	begun chan struct{}
	open  chan struct{}
}

func (l *startGate) Accept() (net.Conn, error) {
	l.once.Do(func() {
		close(l.begun)
		<-l.open
	})
	return l.Listener.Accept()
}

// reviewsEvery is how often the access-review pass runs: campaigns are
// quarterly or monthly and due dates are days away, so a minute is ample.
const reviewsEvery = time.Minute

// runReviews starts the default access-review campaigns when their period
// begins and escalates overdue review items, every reviewsEvery until ctx
// ends. The pass is
// idempotent, so a restart neither skips nor doubles a campaign.
func (s *Server) runReviews(ctx context.Context) {
	t := time.NewTicker(reviewsEvery)
	defer t.Stop()
	for {
		// The first pass waits one interval: a hub just started (or a
		// test) is not kept busy by a pass that can wait a minute.
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if st, err := s.gov.RunDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.cfg.Logger.Error("access-review pass failed", "err", err)
		} else if len(st.Campaigns)+st.Escalated > 0 {
			s.cfg.Logger.Info("access-review pass", "campaigns_started", len(st.Campaigns), "items_escalated", st.Escalated)
		}
	}
}

// renewServerCert re-issues the HTTPS certificate before it expires, without
// a restart: new handshakes pick it up through certs.Hub.GetCertificate.
//
// An operator's certificate (Config.TLSCertFile) is read again within a
// minute of its files changing, and its coming expiry is logged: at warn
// from 14 days before, once a day, at error once it has passed (the hub
// cannot renew it). The hub CA's coming expiry is logged too, at start
// and then daily (warnCAExpiry).
func (s *Server) renewServerCert(ctx context.Context) {
	every := 12 * time.Hour
	if s.certs.ExternalCert() {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var st certTicks
	// The hub CA's coming expiry is said when the hub starts serving,
	// not only a tick later: the first may be 12 hours away.
	s.warnCAExpiry(ctx, s.cfg.Now(), &st)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.serverCertTick(ctx, s.cfg.Now(), &st)
		}
	}
}

// certTicks is what serverCertTick remembers from one tick to the next.
type certTicks struct {
	warned   time.Time // the last expiry warning
	caWarned time.Time // the last warning of the hub CA's expiry (warnCAExpiry)
	// failed is the last renewal error logged, at failedAt: operator's
	// files that stay broken are logged when they first fail, when the
	// error changes and hourly, not at every tick.
	failed   string
	failedAt time.Time
}

// certFailureRepeat is how often a renewal failure that does not change
// is logged again.
const certFailureRepeat = time.Hour

// serverCertTick is one pass of renewServerCert at now.
func (s *Server) serverCertTick(ctx context.Context, now time.Time, st *certTicks) {
	log := s.cfg.Logger
	renewed, err := s.certs.RenewServerCert(now)
	switch {
	case err != nil:
		if msg := err.Error(); msg != st.failed || now.Sub(st.failedAt) >= certFailureRepeat {
			log.Error("renew server certificate", "err", err, "repeated_every", certFailureRepeat.String())
			st.failed, st.failedAt = msg, now
		}
	case st.failed != "":
		log.Info("server certificate files readable again", "file", s.cfg.TLSCertFile)
		st.failed = ""
	}
	if renewed {
		log.Info("server certificate renewed", "not_after", s.certs.Certificate().Leaf.NotAfter)
		// A renewal copied without its intermediates (cert.pem for
		// fullchain.pem) is served all the same: say so.
		if w := s.certs.ExternalCertWarning(); w != "" {
			log.Warn(w, "file", s.cfg.TLSCertFile)
		}
	}
	if s.certs.ExternalCert() && now.Sub(st.warned) >= 24*time.Hour {
		notAfter := s.certs.Certificate().Leaf.NotAfter
		if msg, level := externalCertExpiry(notAfter, now); msg != "" {
			log.Log(ctx, level, msg, "not_after", notAfter, "file", s.cfg.TLSCertFile)
			st.warned = now
		}
	}
	s.warnCAExpiry(ctx, now, st)
}

// externalCertExpiry is what to log of an operator's certificate that
// expires at notAfter, and at which level; "" when it is not due yet.
func externalCertExpiry(notAfter, now time.Time) (string, slog.Level) {
	switch left := notAfter.Sub(now); {
	case left <= 0:
		return "the HTTPS certificate (--tls-cert) has expired: clients refuse the hub; put a renewed one in its files (the hub reads them again within a minute)", slog.LevelError
	case left <= 14*24*time.Hour:
		return "the HTTPS certificate (--tls-cert) expires soon and the hub cannot renew it: put a renewed one in its files (the hub reads them again within a minute)", slog.LevelWarn
	}
	return "", 0
}

// loadCerts loads the hub PKI (certs.LoadOrCreateHub) and the operator's
// HTTPS certificate, if any (Config.TLSCertFile).
func loadCerts(ctx context.Context, cfg Config, st store.Store, hosts []string, publicHost string) (*certs.Hub, error) {
	if err := checkCAKept(ctx, cfg, st); err != nil {
		return nil, err
	}
	hc, err := certs.LoadOrCreateHub(cfg.DataDir, hosts, cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("hub certificates: %w", err)
	}
	if cfg.TLSCertFile != "" {
		warning, err := hc.UseExternalCert(cfg.TLSCertFile, cfg.TLSKeyFile, publicHost, cfg.Now())
		if err != nil {
			return nil, fmt.Errorf("%w (leave --tls-cert and --tls-key out to serve the hub CA's own certificate)", err)
		}
		if warning != "" {
			cfg.Logger.Warn(warning)
		}
	}
	return hc, nil
}

// checkCAKept refuses to start on a database with enrolled kiosks whose
// hub CA is gone (ca.pem and ca-key.pem both missing: a restore without
// them, a volume not mounted): LoadOrCreateHub would make a new CA, whose
// certificates no kiosk trusts and which refuses every kiosk's, cutting
// them all off until each is enrolled again. Config.NewCA says that is
// what the operator wants.
func checkCAKept(ctx context.Context, cfg Config, st store.Store) error {
	if cfg.NewCA {
		return nil
	}
	for _, f := range []string{certs.CACertFile, certs.CAKeyFile} {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, f)); !errors.Is(err, fs.ErrNotExist) {
			return nil // there is a CA (or LoadOrCreateHub says what is wrong with it)
		}
	}
	devices, err := st.ListDevices(ctx, "")
	if err != nil {
		return fmt.Errorf("check the enrolled kiosks before making a new hub CA: %w", err)
	}
	active := 0
	for _, d := range devices {
		if d.State == store.DeviceActive {
			active++
		}
	}
	if active == 0 {
		return nil
	}
	return fmt.Errorf("the hub CA (%s, %s) is missing from %s, but kiosks are enrolled with it (%d active): restore both files from the backup of this data directory (a new CA would cut every kiosk off), or start with --new-ca to make a new one and enroll every kiosk again",
		certs.CACertFile, certs.CAKeyFile, cfg.DataDir, active)
}

// Close releases the store.
func (s *Server) Close() error { return s.st.Close() }
