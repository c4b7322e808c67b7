package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Validity periods and clock-skew allowances.
const (
	// CALifetime is the validity of a CA made by NewCA.
	CALifetime = 10 * 365 * 24 * time.Hour
	// ServerCertLifetime is the validity of a hub server certificate.
	ServerCertLifetime = 90 * 24 * time.Hour
	// ServerCertRenewBefore: a server certificate expiring within this
	// window is re-issued by LoadOrCreateHub and (*Hub).RenewServerCert.
	ServerCertRenewBefore = 30 * 24 * time.Hour

	// caBackdate, serverBackdate and deviceBackdate set NotBefore an hour
	// in the past so that a kiosk whose clock lags the hub's still finds a
	// fresh certificate valid: the hub's, and the one it was just issued.
	caBackdate     = time.Hour
	serverBackdate = time.Hour
	deviceBackdate = time.Hour
)

// DeviceURIPrefix is the prefix of the URI SAN that carries a device's
// identity: the full SAN is DeviceURIPrefix + deviceID.
const DeviceURIPrefix = "urn:shiftgate:device:"

// maxDeviceIDLen bounds a device ID; a UUID is 36 characters.
const maxDeviceIDLen = 128

// CA is a certificate authority: a CA certificate and the signer for its key.
// The hub has exactly one, created by LoadOrCreateHub. Its methods do not
// modify the CA and are safe for concurrent use if Key is.
type CA struct {
	// Cert is the CA's self-signed certificate.
	Cert *x509.Certificate
	// Key signs issued certificates; its public key is Cert's.
	Key crypto.Signer
}

// NewCA creates a CA with a fresh ECDSA P-256 key: a self-signed certificate
// for commonName, valid from an hour before now for CALifetime (10 years),
// with KeyUsageCertSign|KeyUsageCRLSign and MaxPathLen 0, so it can sign
// leaf certificates but no intermediate CA.
func NewCA(commonName string, now time.Time) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("new CA: empty common name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new CA: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Shiftgate"}},
		NotBefore:             now.Add(-caBackdate),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// validate checks that ca is usable at now: a CA certificate allowed to sign
// certificates, self-signed, in its validity period, with a matching key.
func (ca *CA) validate(now time.Time) error {
	c := ca.Cert
	switch {
	case c == nil || ca.Key == nil:
		return errors.New("CA certificate or key missing")
	case !c.BasicConstraintsValid || !c.IsCA:
		return errors.New("certificate is not a CA certificate")
	case c.KeyUsage&x509.KeyUsageCertSign == 0:
		return errors.New("CA certificate lacks the certSign key usage")
	case now.Before(c.NotBefore):
		return fmt.Errorf("CA certificate not valid before %s (clock wrong?)", c.NotBefore.UTC().Format(time.RFC3339))
	case !now.Before(c.NotAfter):
		return fmt.Errorf("CA certificate expired at %s", c.NotAfter.UTC().Format(time.RFC3339))
	case !publicKeysEqual(ca.Key.Public(), c.PublicKey):
		return errors.New("CA key does not match the CA certificate")
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		return fmt.Errorf("CA certificate is not self-signed: %w", err)
	}
	return nil
}

// CertPEM returns the CA certificate as PEM, the content of DIR/ca.pem that
// agents are given with --ca.
func (ca *CA) CertPEM() []byte { return EncodeCertPEM(ca.Cert.Raw) }

// Pool returns a new pool holding only the CA certificate, for
// tls.Config.ClientCAs or RootCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// IssueServerCert issues a TLS server certificate with a fresh ECDSA P-256
// key, valid from an hour before now for lifetime (clamped to the CA's own
// expiry), with ExtKeyUsageServerAuth only. Its SANs are hosts (see
// LoadOrCreateHub for the accepted forms) plus localhost, 127.0.0.1 and ::1,
// which are always included so that the hub is reachable on loopback.
func (ca *CA) IssueServerCert(hosts []string, lifetime time.Duration, now time.Time) (*tls.Certificate, error) {
	sans, err := parseHosts(hosts)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	return ca.issueServerCert(sans, lifetime, now)
}

func (ca *CA) issueServerCert(sans hostSANs, lifetime time.Duration, now time.Time) (*tls.Certificate, error) {
	if lifetime <= 0 {
		return nil, fmt.Errorf("issue server certificate: lifetime %s is not positive", lifetime)
	}
	if err := ca.validate(now); err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "shiftgate-hub"},
		NotBefore:             now.Add(-serverBackdate),
		NotAfter:              ca.clampNotAfter(now.Add(lifetime)),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              sans.dns,
		IPAddresses:           sans.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// SignDeviceCSR issues a device (kiosk) client certificate for the public key
// in csrDER, a DER PKCS #10 request made with NewCSR.
//
// The CSR's key must be ECDSA P-256 or Ed25519 (not of small order, whose
// signatures anyone can forge), and its self-signature must verify with
// SHA-256 or better (not SHA-1) or Ed25519: proof that the requester holds
// the key. Everything else the CSR asks for (subject, SANs, extensions) is
// ignored: the certificate names the device only through Subject CN =
// deviceID and the URI SAN DeviceURIPrefix+deviceID, which is what DeviceID
// reads back. It has ExtKeyUsageClientAuth only, NotBefore = now-1h (as the
// server certificate, for kiosks whose clock lags the hub's) and NotAfter =
// now+lifetime, clamped to the CA's expiry.
//
// deviceID is chosen by the hub: 1 to 128 characters from [A-Za-z0-9._-]
// (a UUID fits), so that it is a valid URN and safe in logs.
//
// An error caused by the CSR wraps ErrInvalidCSR; every other error is the
// hub's (see ErrInvalidCSR).
func (ca *CA) SignDeviceCSR(csrDER []byte, deviceID string, lifetime time.Duration, now time.Time) (certDER []byte, err error) {
	if err := checkDeviceID(deviceID); err != nil {
		return nil, fmt.Errorf("sign device CSR: %w", err)
	}
	if lifetime <= 0 {
		return nil, fmt.Errorf("sign device CSR: lifetime %s is not positive", lifetime)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("sign device CSR: %w", csrError{err})
	}
	// The key policy first: it is cheap, and it keeps a signature over a
	// key we would refuse anyway from being verified at all.
	if err := checkKeyType(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("sign device CSR: %w", csrError{err})
	}
	if err := checkCSRSignatureAlgorithm(csr.SignatureAlgorithm); err != nil {
		return nil, fmt.Errorf("sign device CSR: %w", csrError{err})
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("sign device CSR: %w", csrError{fmt.Errorf("bad CSR signature: %w", err)})
	}
	if err := ca.validate(now); err != nil {
		return nil, fmt.Errorf("sign device CSR: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("sign device CSR: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: deviceID},
		NotBefore:             now.Add(-deviceBackdate),
		NotAfter:              ca.clampNotAfter(now.Add(lifetime)),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{deviceURI(deviceID)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign device CSR: %w", err)
	}
	return der, nil
}

// ErrInvalidCSR is wrapped by SignDeviceCSR's error when the request itself
// is at fault: it does not parse, its key is of a type the key policy
// refuses, or its signature (the proof of possession) does not verify or
// uses a refused algorithm. Only such an error is the requester's to fix;
// any other (an invalid device ID or lifetime, an unusable or expired CA,
// a failing signer) is the hub's, and must not be reported to a kiosk as
// a bad request. Test with errors.Is.
var ErrInvalidCSR = errors.New("invalid certificate request")

// csrError marks err as the request's fault (ErrInvalidCSR) without
// changing its message.
type csrError struct{ err error }

func (e csrError) Error() string   { return e.err.Error() }
func (e csrError) Unwrap() []error { return []error{ErrInvalidCSR, e.err} }

// checkCSRSignatureAlgorithm refuses the signature algorithms a CSR's proof
// of possession must not rest on. x509.CertificateRequest.CheckSignature
// still accepts SHA-1 (ECDSAWithSHA1); NewCSR never makes one.
func checkCSRSignatureAlgorithm(alg x509.SignatureAlgorithm) error {
	switch alg {
	case x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512, x509.PureEd25519:
		return nil
	default:
		return fmt.Errorf("CSR signature algorithm %s not accepted (want ECDSA with SHA-256 or better, or Ed25519)", alg)
	}
}

// DeviceID returns the device ID carried by cert's URI SAN
// urn:shiftgate:device:<id>. It fails unless there is exactly one such SAN
// holding a well-formed ID. It does not verify cert; callers use it on
// certificates that TLS has already verified against the hub CA (see
// RequireDeviceCert).
func DeviceID(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", errors.New("device ID: no certificate")
	}
	var id string
	found := 0
	for _, u := range cert.URIs {
		s := u.String()
		if !strings.HasPrefix(s, DeviceURIPrefix) {
			continue
		}
		found++
		id = strings.TrimPrefix(s, DeviceURIPrefix)
	}
	switch {
	case found == 0:
		return "", errors.New("device ID: certificate has no " + DeviceURIPrefix + " URI SAN")
	case found > 1:
		return "", errors.New("device ID: certificate has several " + DeviceURIPrefix + " URI SANs")
	}
	if err := checkDeviceID(id); err != nil {
		return "", fmt.Errorf("device ID: %w", err)
	}
	return id, nil
}

func deviceURI(deviceID string) *url.URL {
	return &url.URL{Scheme: "urn", Opaque: strings.TrimPrefix(DeviceURIPrefix, "urn:") + deviceID}
}

func checkDeviceID(id string) error {
	if id == "" {
		return errors.New("empty device ID")
	}
	if len(id) > maxDeviceIDLen {
		return fmt.Errorf("device ID longer than %d characters", maxDeviceIDLen)
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return fmt.Errorf("device ID %q: invalid character %q (allowed: A-Z a-z 0-9 . _ -)", id, r)
		}
	}
	return nil
}

// clampNotAfter keeps an issued certificate from outliving the CA, which
// would make its tail end unverifiable anyway.
func (ca *CA) clampNotAfter(t time.Time) time.Time {
	if t.After(ca.Cert.NotAfter) {
		return ca.Cert.NotAfter
	}
	return t
}

// randomSerial returns a uniformly random, positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// hostSANs are the parsed SANs of a server certificate.
type hostSANs struct {
	dns []string
	ips []net.IP
}

// coveredBy reports whether cert lists every SAN in s.
func (s hostSANs) coveredBy(cert *x509.Certificate) bool {
	for _, d := range s.dns {
		ok := false
		for _, cd := range cert.DNSNames {
			if strings.EqualFold(d, cd) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, ip := range s.ips {
		ok := false
		for _, cip := range cert.IPAddresses {
			if ip.Equal(cip) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// parseHosts turns host names and IP literals into SANs, always adding
// localhost, 127.0.0.1 and ::1. Empty entries are skipped (a listen address
// like ":8443" has an empty host); duplicates are dropped.
func parseHosts(hosts []string) (hostSANs, error) {
	var s hostSANs
	seenDNS := map[string]bool{}
	add := func(h string) error {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil
		}
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
		if ip := net.ParseIP(h); ip != nil {
			for _, have := range s.ips {
				if have.Equal(ip) {
					return nil
				}
			}
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			s.ips = append(s.ips, ip)
			return nil
		}
		name := strings.ToLower(strings.TrimSuffix(h, "."))
		if err := checkDNSName(name); err != nil {
			return fmt.Errorf("host %q: %w", h, err)
		}
		if !seenDNS[name] {
			seenDNS[name] = true
			s.dns = append(s.dns, name)
		}
		return nil
	}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		if err := add(h); err != nil {
			return hostSANs{}, err
		}
	}
	return s, nil
}

// checkDNSName accepts a lowercase DNS name, optionally with a leading "*."
// wildcard label. Ports, URLs and zone IDs are rejected so that a caller
// passing --public-url or --listen verbatim gets a clear error.
func checkDNSName(name string) error {
	if len(name) > 253 {
		return errors.New("name longer than 253 characters")
	}
	if strings.IndexFunc(name, func(r rune) bool { return r > unicode.MaxASCII }) >= 0 {
		// Certificates, WebAuthn origins and DNS carry the ASCII form.
		return errors.New("an internationalised name: give its ASCII form (xn--…, as certificates name it)")
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if i == 0 && l == "*" && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 {
			return errors.New("not a host name or IP address (pass the bare host, without scheme or port)")
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' ||
				c == '-' && j > 0 && j < len(l)-1
			if !ok {
				return errors.New("not a host name or IP address (pass the bare host, without scheme or port)")
			}
		}
	}
	return nil
}
