package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
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
	// client trusting only CAFile. Enroll uses a copy of HTTPClient that
	// follows no redirect, whatever its CheckRedirect.
	Now        func() time.Time
	HTTPClient *http.Client
}

// ErrCodeRefused means the hub refused the enrollment code: it is wrong,
// expired or already used. Test with errors.Is.
var ErrCodeRefused = errors.New("enrollment code refused")

// ErrAlreadyEnrolled means the state directory already holds an enrollment.
var ErrAlreadyEnrolled = errors.New("state directory already enrolled")

// ErrCertRefused means the hub answered the enrollment with a device
// certificate the agent refused (see Enroll): nothing was stored, but the
// hub has used the code and registered the kiosk. Test with errors.Is.
var ErrCertRefused = errors.New("refused the device certificate the hub issued")

// ErrHubRedirected means the --hub URL answered the enrollment with a
// redirect, which Enroll does not follow: the code was sent nowhere else.
// Test with errors.Is.
var ErrHubRedirected = errors.New("the hub URL answered with a redirect")

const enrollTimeout = 30 * time.Second

// Enroll makes this kiosk a device of the hub. It generates the device key
// (kept in StateDir with mode 0600; only a CSR goes to the hub), posts a
// wire.EnrollRequest to HubURL+wire.EnrollPath over HTTPS trusting only the
// CA in CAFile, checks the returned certificate as a renewed one is checked
// (checkIssuedCert: for this key, for the device ID the hub answered, issued
// by that CA for client authentication, valid now and for at most
// MaxDeviceCertLifetime by the hub's clock, which the answer's Date header
// tells, or the kiosk's clock without one), and stores the key, the
// certificate, a copy of the CA and state.json in StateDir. A refused
// certificate fails with ErrCertRefused before anything is written to
// StateDir (but for its lock file). state.json is written last: a
// directory without it is not enrolled and Enroll may be run again. It
// holds the state directory's lock (LockStateDir) meanwhile: while another
// process holds it, Enroll fails with ErrStateDirBusy. A redirect answered
// to the request is not followed: Enroll fails with ErrHubRedirected.
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
	var client http.Client
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient
	} else {
		client = http.Client{
			Timeout: enrollTimeout,
			Transport: &http.Transport{
				TLSClientConfig:     certs.ClientTLSConfig(pool, nil),
				TLSHandshakeTimeout: 10 * time.Second,
				Proxy:               http.ProxyFromEnvironment,
			},
		}
		defer client.CloseIdleConnections()
	}
	// The request carries the one-time code, so it goes to the --hub URL
	// and nowhere else: a followed redirect would re-send it to wherever
	// the Location says (another host, plain http) or turn the POST into
	// a GET without saying so. The hub never redirects an enrollment; a
	// redirect comes from a reverse proxy or a wrong --hub, and is shown
	// as such (redirectError).
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
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
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return zero, fmt.Errorf("enroll: %w", redirectError(resp))
	}
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
	// The device certificate comes from the hub CA, which is the --ca
	// certificate unless the hub serves an operator's HTTPS certificate;
	// the hub names it in its answer, which came over HTTPS checked
	// against --ca.
	devicePool, devicePEM := pool, []byte(nil)
	if len(er.DeviceCA) > 0 {
		devicePEM = certs.EncodeCertPEM(er.DeviceCA)
		if devicePool, err = certs.CAPool(devicePEM); err != nil {
			return zero, fmt.Errorf("enroll: the hub's device CA: %w", err)
		}
	}
	kioskNow := now()
	if _, err := checkIssuedCert(er.Cert, key, "the enrollment", devicePool, er.DeviceID, hubDate(resp.Header, kioskNow), kioskNow); err != nil {
		return zero, enrollCertRefused(err, er)
	}

	// From here on the hub has used the code and registered the kiosk: a
	// failure to store what it answered (a full disk, say) says so.
	if err := writeKeyPair(cfg.StateDir, key, er.Cert); err != nil {
		return zero, enrollNotStored(err, er)
	}
	if err := writeFileAtomic(filepath.Join(cfg.StateDir, CAFile), caPEM, 0o644); err != nil {
		return zero, enrollNotStored(err, er)
	}
	if devicePEM != nil {
		if err := writeFileAtomic(filepath.Join(cfg.StateDir, DeviceCAFile), devicePEM, 0o644); err != nil {
			return zero, enrollNotStored(err, er)
		}
	} else if err := os.Remove(filepath.Join(cfg.StateDir, DeviceCAFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// An older hub names no device CA: ca.pem is the hub CA. One left
		// by an enrollment that did not finish (with another hub) would
		// have the renewals checked against the wrong CA, and refused.
		return zero, enrollNotStored(fmt.Errorf("remove the device CA of an earlier enrollment: %w", err), er)
	}
	st := Enrollment{
		Version: stateVersion, HubURL: hub.String(), DeviceID: er.DeviceID, DeviceName: er.DeviceName,
		Site: er.Site, Profile: cfg.Profile, EnrolledAt: kioskNow.UTC(),
	}
	// The relying party the kiosk will sign for is fixed now, from the URL
	// the operator gave, as a browser takes it from the page: never from
	// what a hub says later (RelyingParty).
	rp := hubRelyingParty(hub)
	st.Origin, st.RPID = rp.Origin, rp.ID
	if err := writeJSON(filepath.Join(cfg.StateDir, EnrollmentFile), st); err != nil {
		return zero, enrollNotStored(err, er)
	}
	return er, nil
}

// enrollNotStored is the error for an enrollment the hub granted that this
// kiosk failed to store: without state.json the directory is not
// enrolled, and running enroll again with the same code only gets it
// refused as used (the hub used it, and registered the kiosk, before it
// answered), then the name refused as taken. So it says what to do, as
// enrollCertRefused does.
func enrollNotStored(err error, er wire.EnrollResponse) error {
	return fmt.Errorf("enroll: store the enrollment: %w: the hub has used the code and registered the kiosk %q (device %q), "+
		"but this kiosk is not enrolled: fix the cause, disable the kiosk on the hub (console, or POST /api/v1/devices/NAME/disable), "+
		"then enroll with a new code", err, er.DeviceName, er.DeviceID)
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

// redirectError is the error for a 3xx answer to an enrollment, which Enroll
// does not follow (the code would go wherever the redirect says): where it
// pointed, and what to do.
func redirectError(resp *http.Response) error {
	where := "without a Location"
	if loc, err := resp.Location(); err == nil {
		s := loc.Redacted()
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		where = fmt.Sprintf("to %q", s)
	}
	return fmt.Errorf("%w: HTTP %d %s, not followed: the enrollment (and its one-time code) goes only to the --hub URL; "+
		"give --hub the hub's own URL, https://HOST[:PORT] as in its serve --public-url, "+
		"or, behind a reverse proxy, check why the proxy redirects", ErrHubRedirected, resp.StatusCode, where)
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
		return fmt.Errorf("the hub's certificate is not signed by the CA in %s (give the hub's ca.pem or, when the hub serves a certificate of another CA (serve --tls-cert), that CA's root): %w", caFile, err)
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

// hubDate is the agent's estimate of the hub's clock when it answered an
// enrollment: the answer's Date header (RFC 9110, section 6.6.1: when the
// hub made the answer, to the second; certClockSlack covers that and the
// round trip), or kioskNow when there is none or it does not parse.
func hubDate(h http.Header, kioskNow time.Time) time.Time {
	if d := h.Get("Date"); d != "" {
		if t, err := http.ParseTime(d); err == nil {
			return t
		}
	}
	return kioskNow
}

// enrollCertRefused is the error for a certificate checkIssuedCert refused
// at enrollment: the problem, and what to do. The hub has used the code and
// registered the kiosk by then (hub/enroll.Redeem does both before it
// answers), so a new code is needed, and the registered kiosk's name stays
// taken until it is disabled.
func enrollCertRefused(err error, er wire.EnrollResponse) error {
	problem := err.Error()
	var refused *CertRefusedError
	if errors.As(err, &refused) {
		problem = refused.Problem
	}
	return fmt.Errorf("enroll: %w: %s: check the hub's version and clock; nothing was stored on this kiosk, "+
		"but the hub has used the code and registered the kiosk %q (device %q): disable it on the hub "+
		"(console, or POST /api/v1/devices/NAME/disable), then enroll with a new code",
		ErrCertRefused, problem, er.DeviceName, er.DeviceID)
}
