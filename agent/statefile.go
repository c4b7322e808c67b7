package agent

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// Files in the state directory (mode 0700).
const (
	EnrollmentFile = "state.json"       // Enrollment, 0600
	SessionFile    = "session.json"     // live session and unsent session.end reports, 0600
	KeyFile        = "device-key.pem"   // device private key, PKCS #8, 0600; never leaves the kiosk
	CertFile       = "device.pem"       // device certificate, 0644
	CAFile         = "ca.pem"           // the CA this kiosk trusts for the hub's HTTPS certificate (--ca), 0644
	DeviceCAFile   = "device-ca.pem"    // the hub CA that issues the device certificate, 0644; absent: CAFile
	CleanupFile    = "cleanup.json"     // a failing start-up clean-up the hub may know of (cleanup_report.go), 0600
	nextSuffix     = ".next"            // a renewed pair being installed
	stateVersion   = 1                  // version of state.json and session.json
	maxStateBytes  = 1 << 20            // larger state files are refused
	stateDirMode   = fs.FileMode(0o700) // the state directory
	stateFileMode  = fs.FileMode(0o600) // state.json, session.json
)

// Enrollment is state.json: who this kiosk is, written once by Enroll.
type Enrollment struct {
	Version    int       `json:"version"`
	HubURL     string    `json:"hub_url"`
	DeviceID   string    `json:"device_id"`
	DeviceName string    `json:"device_name"`
	Site       string    `json:"site"`
	Profile    string    `json:"profile"`
	EnrolledAt time.Time `json:"enrolled_at"`
	// Origin and RPID are the WebAuthn relying party the kiosk signs for
	// (RelyingParty): Enroll writes those of HubURL. An enrollment without
	// them (made by an older agent) gets the same from HubURL. An
	// operator who moves the hub to another --public-url sets both here
	// to the new URL and its host (or enrolls the kiosk again).
	Origin string `json:"origin,omitempty"`
	RPID   string `json:"rp_id,omitempty"`
}

// Validate reports every problem with e at once.
func (e Enrollment) Validate() error {
	var errs []error
	if e.Version != stateVersion {
		errs = append(errs, fmt.Errorf("version %d is not supported (want %d)", e.Version, stateVersion))
	}
	if _, err := parseHubURL(e.HubURL); err != nil {
		errs = append(errs, err)
	}
	if e.DeviceID == "" {
		errs = append(errs, errors.New("device_id is empty"))
	}
	if e.Profile == "" {
		errs = append(errs, errors.New("profile is empty"))
	}
	if e.Origin != "" || e.RPID != "" {
		if _, err := parseRelyingParty(e.Origin, e.RPID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ReadEnrollment reads and validates dir/state.json.
func ReadEnrollment(dir string) (Enrollment, error) {
	var e Enrollment
	path := filepath.Join(dir, EnrollmentFile)
	if err := readJSON(path, &e); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return e, fmt.Errorf("read enrollment: %s not found: enroll this kiosk first with shiftgate-agent enroll --state %s", path, dir)
		}
		return e, fmt.Errorf("read enrollment: %w", err)
	}
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("read enrollment %s: %w", path, err)
	}
	return e, nil
}

// sessionState is session.json: the live session, if any, and session ends
// the hub has not been told about yet.
type sessionState struct {
	Version int               `json:"version"`
	Session *liveSession      `json:"session"`
	Pending []wire.SessionEnd `json:"pending"`
}

func readSessionState(dir string) (sessionState, error) {
	var s sessionState
	path := filepath.Join(dir, SessionFile)
	err := readJSON(path, &s)
	if errors.Is(err, fs.ErrNotExist) {
		return sessionState{Version: stateVersion}, nil
	}
	if err != nil {
		return s, fmt.Errorf("read session state: %w", err)
	}
	if s.Version != stateVersion {
		return s, fmt.Errorf("read session state %s: version %d is not supported (want %d)", path, s.Version, stateVersion)
	}
	if s.Session != nil && (s.Session.ID == "" || s.Session.ExpiresAt.IsZero()) {
		return s, fmt.Errorf("read session state %s: session without id or expires_at", path)
	}
	return s, nil
}

func writeSessionState(dir string, s sessionState) error {
	s.Version = stateVersion
	if s.Pending == nil {
		s.Pending = []wire.SessionEnd{}
	}
	return writeJSON(filepath.Join(dir, SessionFile), s)
}

// readStateFile reads a file of the state directory, refusing one larger
// than maxStateBytes before reading it whole. A missing file is an error
// wrapping fs.ErrNotExist.
func readStateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxStateBytes+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if buf.Len() > maxStateBytes {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, maxStateBytes)
	}
	return buf.Bytes(), nil
}

// readJSON decodes a small JSON file strictly: unknown fields are errors,
// and so is anything after the value (two writers' files run together,
// or a hand edit), which would otherwise be ignored unseen.
func readJSON(path string, v any) error {
	data, err := readStateFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("parse %s: more after the JSON value", path)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'), stateFileMode)
}

// writeFileAtomic writes data to a temporary file next to path, syncs it and
// renames it over path, so readers and a crash see the old or the new file.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// makeStateDir creates dir with mode 0700, or tightens an existing one to
// 0700: it holds the device key.
func makeStateDir(dir string) error {
	if err := os.MkdirAll(dir, stateDirMode); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("create state directory: %s is not a directory", dir)
	}
	if fi.Mode().Perm() != stateDirMode {
		if err := os.Chmod(dir, stateDirMode); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
	}
	return nil
}

// writeKeyPair installs a device key and certificate in dir. The two files
// cannot be replaced in one atomic step, so both are first written as
// *.next, then renamed key first; loadKeyPair finishes an installation a
// crash interrupted, so the pair on disk always matches.
func writeKeyPair(dir string, key crypto.Signer, certDER []byte) error {
	keyPath, certPath := filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile)
	if err := certs.WriteKeyFile(keyPath+nextSuffix, key); err != nil {
		return err
	}
	if err := certs.WriteCertFile(certPath+nextSuffix, certDER); err != nil {
		return err
	}
	return commitKeyPair(dir)
}

func commitKeyPair(dir string) error {
	keyPath, certPath := filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile)
	if _, err := os.Stat(keyPath + nextSuffix); err == nil {
		if err := os.Rename(keyPath+nextSuffix, keyPath); err != nil {
			return fmt.Errorf("install device key: %w", err)
		}
	}
	if err := os.Rename(certPath+nextSuffix, certPath); err != nil {
		return fmt.Errorf("install device certificate: %w", err)
	}
	syncDir(dir)
	return nil
}

// loadKeyPair loads the device key pair from dir, first completing or
// discarding a renewal that a crash interrupted.
func loadKeyPair(dir string) (*tls.Certificate, error) {
	keyPath, certPath := filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile)
	nextKey, nextCert := keyPath+nextSuffix, certPath+nextSuffix
	if exists(nextCert) {
		// Either both .next files are complete (crash before the
		// renames), or the key was renamed and the certificate not.
		k := nextKey
		if !exists(nextKey) {
			k = keyPath
		}
		_, err := certs.LoadKeyPair(nextCert, k)
		switch {
		case err == nil:
			if err := commitKeyPair(dir); err != nil {
				return nil, err
			}
		case k == keyPath && pendingUnread(err):
			// The key was renamed into place: the pending certificate
			// is the only one for it. Only one that was read and found
			// unusable is discarded; one that could not be read (EIO,
			// EMFILE, a permission), deleted, would lock the kiosk out
			// until it is enrolled again, where a start after the
			// cause is fixed finishes the renewal. Before the renames
			// the installed pair still matches: the pending one is
			// discarded and the kiosk starts on it, as before the
			// renewal (the hub takes the certificate a renewal
			// replaced for a day, and the agent renews again).
			return nil, fmt.Errorf("finish the interrupted device certificate renewal in %s: %w (the pending %s was kept: fix the cause and start again)",
				dir, err, CertFile+nextSuffix)
		default:
			os.Remove(nextKey)
			os.Remove(nextCert)
		}
	} else if exists(nextKey) {
		os.Remove(nextKey) // crash before the certificate was written
	}
	cert, err := certs.LoadKeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("load device certificate: %w", err)
	}
	return cert, nil
}

// pendingUnread reports whether err, from loading the pending pair of an
// interrupted renewal, is a failure to read its files rather than a verdict
// on what they hold (does not decode, key does not match): the files may
// be fine on the next try. A key file with group or other permissions is
// kept too: chmod makes it usable again.
func pendingUnread(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) || errors.Is(err, certs.ErrInsecureKeyFile)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// parseHubURL accepts https://HOST[:PORT] with an optional trailing slash.
func parseHubURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("hub URL %q: %w", s, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("hub URL %q: want https://HOST[:PORT]", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("hub URL %q: want https://HOST[:PORT] without path, query or credentials", s)
	}
	u.Path = ""
	return u, nil
}
