package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// externalCert is an HTTPS certificate the operator provides (serve
// --tls-cert and --tls-key), served instead of the one the hub CA issues.
type externalCert struct {
	certPath, keyPath string
	host              string    // the public URL's host, which it must cover
	stamp             [2]string // the files' size and modification time when last read
}

// UseExternalCert makes h serve the certificate chain in certPath (leaf
// first, then its intermediates) with the key in keyPath, instead of the
// server certificate the hub CA issues: one from a CA that identity
// providers and browsers already trust. Microsoft Entra ID's provisioning
// service, for one, refuses a SCIM endpoint whose certificate a public CA
// did not issue. The certificate must cover host (the public URL's), be
// valid at now, be no CA certificate and, if it names extended key usages,
// allow server authentication; the key must match it and be readable by
// its owner only. The hub CA still signs and checks device certificates.
//
// From then on RenewServerCert reads the files again when they change (a
// renewal by certbot or another ACME client, copied in place) instead of
// issuing certificates, and keeps serving the current one when the new
// files fail these checks.
//
// warning is not empty when the certificate does not chain to this
// machine's trusted roots: it may still be right (a company CA the
// identity provider and the browsers trust), so it is for the log.
func (h *Hub) UseExternalCert(certPath, keyPath, host string, now time.Time) (warning string, err error) {
	e := &externalCert{certPath: certPath, keyPath: keyPath, host: host}
	tc, stamp, err := e.load(now)
	if err != nil {
		return "", err
	}
	e.stamp = stamp
	h.mu.Lock()
	h.ext, h.cert = e, tc
	h.mu.Unlock()
	return publicTrustWarning(tc, now), nil
}

// ExternalCert reports whether h serves an operator's certificate
// (UseExternalCert).
func (h *Hub) ExternalCert() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.ext != nil
}

// reloadExternal is RenewServerCert for an operator's certificate: read
// the files again if they changed since they were last read.
func (h *Hub) reloadExternal(now time.Time) (bool, error) {
	e := h.ext
	stamp, err := e.stampNow()
	if err != nil {
		return false, fmt.Errorf("reload the HTTPS certificate: %w; still serving the one that expires %s", err, h.cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if stamp == e.stamp {
		return false, nil
	}
	tc, stamp, err := e.load(now)
	if err != nil {
		return false, fmt.Errorf("reload the HTTPS certificate: %w; still serving the one that expires %s", err, h.cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	e.stamp, h.cert = stamp, tc
	return true, nil
}

// stampNow is the size and modification time of both files.
func (e *externalCert) stampNow() ([2]string, error) {
	var s [2]string
	for i, p := range []string{e.certPath, e.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			return s, err
		}
		s[i] = fmt.Sprintf("%d %d", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

// load reads and checks the files, noting their stamp first: a change
// while they are read shows as a change at the next reload.
func (e *externalCert) load(now time.Time) (*tls.Certificate, [2]string, error) {
	stamp, err := e.stampNow()
	if err != nil {
		return nil, stamp, fmt.Errorf("HTTPS certificate: %w", err)
	}
	tc, err := LoadKeyPair(e.certPath, e.keyPath)
	if err != nil {
		return nil, stamp, fmt.Errorf("HTTPS certificate: %w", err)
	}
	if err := checkServingCert(tc.Leaf, e.host, now); err != nil {
		return nil, stamp, fmt.Errorf("HTTPS certificate %s: %w", e.certPath, err)
	}
	return tc, stamp, nil
}

// checkServingCert refuses a leaf that cannot serve host at now.
func checkServingCert(leaf *x509.Certificate, host string, now time.Time) error {
	if leaf.IsCA {
		return errors.New("it is a CA certificate; give the server's certificate first, then its intermediates")
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return fmt.Errorf("it does not cover the public URL's host %s (it names %v)", host, slices.Concat(leaf.DNSNames, ipStrings(leaf)))
	}
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("it is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if !now.Before(leaf.NotAfter) {
		return fmt.Errorf("it expired %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(leaf.ExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return errors.New("its extended key usage does not allow server authentication")
	}
	return nil
}

func ipStrings(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.IPAddresses))
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// publicTrustWarning says when tc does not chain to this machine's
// trusted roots with the intermediates it comes with.
func publicTrustWarning(tc *tls.Certificate, now time.Time) string {
	inter := x509.NewCertPool()
	for _, der := range tc.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	_, err := tc.Leaf.Verify(x509.VerifyOptions{Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err == nil {
		return ""
	}
	return fmt.Sprintf("the HTTPS certificate does not chain to this machine's trusted roots with the intermediates in its file (%v): clients that do not trust its CA (an identity provider in the cloud, browsers outside your organisation) will refuse it; add the missing intermediates after the certificate", err)
}
