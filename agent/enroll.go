package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// EnrollConfig says which hub to enroll with and where to keep the result.
type EnrollConfig struct {
	HubURL   string // https://HOST[:PORT]
	CAFile   string // the hub's ca.pem: the only CA trusted for the hub
	Code     string // one-time code from `shiftgate-hub device code`
	StateDir string // created with mode 0700 if missing
	Profile  string // kiosk hardware profile name
	// Now and HTTPClient are for tests; zero values mean time.Now and a
	// client trusting only CAFile.
	Now        func() time.Time
	HTTPClient *http.Client
}

// ErrCodeRefused means the hub refused the enrollment code: it is wrong,
// expired or already used. Test with errors.Is.
var ErrCodeRefused = errors.New("enrollment code refused")

// ErrAlreadyEnrolled means the state directory already holds an enrollment.
var ErrAlreadyEnrolled = errors.New("state directory already enrolled")

const enrollTimeout = 30 * time.Second

// Enroll makes this kiosk a device of the hub. It generates the device key
// (kept in StateDir with mode 0600; only a CSR goes to the hub), posts a
// wire.EnrollRequest to HubURL+wire.EnrollPath over HTTPS trusting only the
// CA in CAFile, checks the returned certificate (issued by that CA, for this
// key), and stores the key, the certificate, a copy of the CA and state.json
// in StateDir. state.json is written last: a directory without it is not
// enrolled and Enroll may be run again. It holds the state directory's
// lock (LockStateDir) meanwhile: while another process holds it, Enroll
// fails with ErrStateDirBusy.
func Enroll(ctx context.Context, cfg EnrollConfig) (wire.EnrollResponse, error) {
	var zero wire.EnrollResponse
	code := strings.TrimSpace(cfg.Code)
	var missing []string
	for _, f := range []struct{ name, v string }{{"hub URL", cfg.HubURL}, {"CA file", cfg.CAFile}, {"code", code}, {"state directory", cfg.StateDir}, {"profile", cfg.Profile}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return zero, fmt.Errorf("enroll: missing %s", strings.Join(missing, ", "))
	}
	hub, err := parseHubURL(cfg.HubURL)
	if err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	caPEM, err := certs.ReadPEMFile(cfg.CAFile)
	if err != nil {
		return zero, fmt.Errorf("enroll: read CA file: %w", err)
	}
	pool, err := certs.CAPool(caPEM)
	if err != nil {
		return zero, fmt.Errorf("enroll: %s: %w", cfg.CAFile, err)
	}
	if exists(filepath.Join(cfg.StateDir, EnrollmentFile)) {
		return zero, fmt.Errorf("enroll: %w: %s exists; remove %s to enroll this kiosk again", ErrAlreadyEnrolled, filepath.Join(cfg.StateDir, EnrollmentFile), cfg.StateDir)
	}
	if err := makeStateDir(cfg.StateDir); err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	// Another enroll (or agent) on this directory: refused at once rather
	// than mixing two devices' keys in it.
	lock, err := LockStateDir(cfg.StateDir)
	if err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	defer lock.Close()
	if exists(filepath.Join(cfg.StateDir, EnrollmentFile)) { // enrolled since the check above, by a process that has let go
		return zero, fmt.Errorf("enroll: %w: %s exists; remove %s to enroll this kiosk again", ErrAlreadyEnrolled, filepath.Join(cfg.StateDir, EnrollmentFile), cfg.StateDir)
	}

	key, err := certs.NewDeviceKey()
	if err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	csr, err := certs.NewCSR(key, "shiftgate-agent")
	if err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	body, err := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: cfg.Profile})
	if err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout: enrollTimeout,
			Transport: &http.Transport{
				TLSClientConfig:     certs.ClientTLSConfig(pool, nil),
				TLSHandshakeTimeout: 10 * time.Second,
				Proxy:               http.ProxyFromEnvironment,
			},
		}
		defer client.CloseIdleConnections()
	}
	endpoint := hub.String() + wire.EnrollPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return zero, fmt.Errorf("enroll: %w", explainDialError(err, hub.Host, cfg.CAFile))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxMessageBytes+1))
	if err != nil {
		return zero, fmt.Errorf("enroll: read hub response: %w", err)
	}
	if err := enrollStatusError(resp.StatusCode, data); err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	var er wire.EnrollResponse
	if err := json.Unmarshal(data, &er); err != nil {
		return zero, fmt.Errorf("enroll: hub response is not an enrollment: %w", err)
	}
	leaf, err := checkDeviceCert(er.Cert, key, pool, now())
	if err != nil {
		return zero, fmt.Errorf("enroll: hub returned an unusable certificate: %w", err)
	}
	if id, _ := certs.DeviceID(leaf); id != er.DeviceID {
		return zero, fmt.Errorf("enroll: hub returned a certificate for device %q, not %q", id, er.DeviceID)
	}

	if err := writeKeyPair(cfg.StateDir, key, er.Cert); err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(cfg.StateDir, CAFile), caPEM, 0o644); err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	st := Enrollment{
		Version: stateVersion, HubURL: hub.String(), DeviceID: er.DeviceID, DeviceName: er.DeviceName,
		Site: er.Site, Profile: cfg.Profile, EnrolledAt: now().UTC(),
	}
	if err := writeJSON(filepath.Join(cfg.StateDir, EnrollmentFile), st); err != nil {
		return zero, fmt.Errorf("enroll: %w", err)
	}
	return er, nil
}

// codeAdvice is what to do about a refused code the hub did not explain.
const codeAdvice = "the code is wrong, expired or already used; ask an administrator for a new one (shiftgate-hub device code --data DIR --site SITE --name NAME)"

// enrollStatusError turns a non-2xx answer into an error that says what to
// do. The hub's error body is shown when it is a short message.
func enrollStatusError(status int, body []byte) error {
	if status >= 200 && status < 300 {
		return nil
	}
	msg := hubMessage(body)
	switch status {
	case http.StatusForbidden:
		if msg != "" {
			// The hub says which: a wrong, expired or used code, or a
			// code bound to another profile (then it stays usable with
			// the right --profile).
			return fmt.Errorf("%w (HTTP %d%s)", ErrCodeRefused, status, msg)
		}
		return fmt.Errorf("%w (HTTP %d): %s", ErrCodeRefused, status, codeAdvice)
	case http.StatusUnauthorized, http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("%w (HTTP %d): %s", ErrCodeRefused, status, codeAdvice)
	case http.StatusConflict:
		return fmt.Errorf("hub refused the enrollment (HTTP %d%s)", status, msg)
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return fmt.Errorf("hub rejected the enrollment request (HTTP %d%s)", status, msg)
	case http.StatusTooManyRequests:
		return fmt.Errorf("hub is rate limiting enrollments (HTTP %d%s): wait a minute and try again", status, msg)
	default:
		return fmt.Errorf("hub answered HTTP %d%s", status, msg)
	}
}

// hubMessage extracts a short printable message from an error body: a JSON
// {"message"|"error"|"detail": ...} or plain text.
func hubMessage(body []byte) string {
	var j map[string]any
	text := ""
	if json.Unmarshal(body, &j) == nil {
		for _, k := range []string{"message", "error", "detail"} {
			if s, ok := j[k].(string); ok && s != "" {
				text = s
				break
			}
		}
	} else {
		text = string(body)
	}
	text = strings.Join(strings.Fields(text), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" {
		return ""
	}
	return ": " + text
}

// explainDialError adds the likely fix to a failed HTTPS request.
func explainDialError(err error, host, caFile string) error {
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var opErr *net.OpError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("the hub's certificate is not signed by the CA in %s (is it this hub's ca.pem?): %w", caFile, err)
	case errors.As(err, &hostErr):
		return fmt.Errorf("the hub's certificate does not cover %s (use the hub's --public-url host): %w", host, err)
	case errors.As(err, &opErr):
		return fmt.Errorf("cannot reach the hub at %s: %w", host, err)
	}
	var recErr tls.RecordHeaderError
	if errors.As(err, &recErr) {
		return fmt.Errorf("%s does not speak HTTPS: %w", host, err)
	}
	return err
}

// checkDeviceCert parses a device certificate and checks that it is for
// key, carries a device ID, is issued by a CA in pool for client
// authentication, and has not expired at now. One that is not valid yet at
// now is accepted: only the hub verifies the certificate, by its own clock,
// and a kiosk whose clock lags the hub's must still enroll and renew.
func checkDeviceCert(der []byte, key crypto.Signer, pool *x509.CertPool, now time.Time) (*x509.Certificate, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if _, err := certs.NewRenewer(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}); err != nil {
		return nil, err
	}
	at := now // the kiosk's clock judges the expiry only
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, err
	}
	return leaf, nil
}
