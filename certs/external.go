package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// externalCert is an HTTPS certificate the operator provides (serve
// --tls-cert and --tls-key), served instead of the one the hub CA issues.
type externalCert struct {
	certPath, keyPath string
	host              string // the public URL's host, which it must cover

	// mu serialises reloads, and guards what they update. A reload
	// takes Hub.mu inside it, only to swap the certificate, never the
	// other way round: the files are read without Hub.mu held, so the
	// handshakes, which take Hub.mu, are not held up.
	mu sync.Mutex
	// sum is the SHA-256 of the two files' contents as last served: a
	// renewal is told by what the files hold, not by their size and
	// modification time (a copy with cp -p, rsync -t or tar keeps the
	// old ones, and certbot's live/ links point to new files whose
	// metadata may match). Files that fail the checks do not change it,
	// so they are read and checked again at the next reload.
	sum [2][sha256.Size]byte
	// warning is servingWarning's for the certificate served.
	warning string
	// testHookRead, when set (by tests only), is called by read before
	// it reads the files: it stands for a slow file system, which a test
	// cannot otherwise make, now that a named pipe is refused at once.
	testHookRead func()
}

// UseExternalCert makes h serve the certificate chain in certPath (leaf
// first, then its intermediates, each issued by the next) with the key in
// keyPath, instead of the server certificate the hub CA issues: one from
// a CA that identity providers and browsers already trust. Microsoft
// Entra ID's provisioning service, for one, refuses a SCIM endpoint whose
// certificate a public CA did not issue. The certificate must cover host
// (the public URL's) in its subject alternative names, be valid at now,
// be no CA certificate and, if it names extended key usages, allow server
// authentication; the key (PKCS #8, PKCS #1 or SEC 1 PEM, unencrypted:
// RSA of 2048 bits or more, ECDSA P-256, P-384 or P-521, or Ed25519) must
// match it and be readable by its owner only. The hub CA still signs and
// checks device certificates.
//
// From then on RenewServerCert reads the files again and serves what they
// hold once it differs from what is served (a renewal by certbot or
// another ACME client, copied in place or linked to), instead of issuing
// certificates. Files that fail these checks (a certificate written before
// its key, say) are not served: the current certificate stays, and the
// files are checked again at the next call.
//
// warning is not empty when clients may refuse the certificate all the
// same: it does not chain to this machine's trusted roots (it may still
// be right: a company CA the identity provider and the browsers trust),
// or it is an Ed25519 one. It is for the log; ExternalCertWarning gives
// the current certificate's after a reload.
func (h *Hub) UseExternalCert(certPath, keyPath, host string, now time.Time) (warning string, err error) {
	e := &externalCert{certPath: certPath, keyPath: keyPath, host: host}
	certPEM, keyPEM, err := e.read()
	if err != nil {
		return "", err
	}
	tc, err := e.parse(certPEM, keyPEM, now)
	if err != nil {
		return "", err
	}
	e.sum = [2][sha256.Size]byte{sha256.Sum256(certPEM), sha256.Sum256(keyPEM)}
	e.warning = servingWarning(tc, now)
	h.mu.Lock()
	h.ext, h.cert = e, tc
	h.mu.Unlock()
	return e.warning, nil
}

// ExternalCert reports whether h serves an operator's certificate
// (UseExternalCert).
func (h *Hub) ExternalCert() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.ext != nil
}

// ExternalCertWarning is UseExternalCert's warning for the operator's
// certificate served now, "" when there is nothing to say or h serves its
// own.
func (h *Hub) ExternalCertWarning() string {
	h.mu.RLock()
	e := h.ext
	h.mu.RUnlock()
	if e == nil {
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.warning
}

// reloadExternal is RenewServerCert for an operator's certificate: read
// the files, and serve what they hold when it differs from what is served
// and passes the checks. The files are read without Hub.mu held, so a
// slow file system never holds up handshakes; the certificate is swapped
// under it.
func (h *Hub) reloadExternal(e *externalCert, now time.Time) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	certPEM, keyPEM, err := e.read()
	if err != nil {
		return false, h.reloadError(err)
	}
	sum := [2][sha256.Size]byte{sha256.Sum256(certPEM), sha256.Sum256(keyPEM)}
	if sum == e.sum {
		return false, nil
	}
	tc, err := e.parse(certPEM, keyPEM, now)
	if err != nil {
		return false, h.reloadError(err)
	}
	e.sum, e.warning = sum, servingWarning(tc, now)
	h.mu.Lock()
	h.cert = tc
	h.mu.Unlock()
	return true, nil
}

func (h *Hub) reloadError(err error) error {
	return fmt.Errorf("reload the HTTPS certificate: %w; still serving the one that expires %s (the files are read again at the next reload)",
		err, h.Certificate().Leaf.NotAfter.UTC().Format(time.RFC3339))
}

// read returns the two files' contents; the key file must be readable by
// its owner only.
func (e *externalCert) read() (certPEM, keyPEM []byte, err error) {
	if e.testHookRead != nil {
		e.testHookRead()
	}
	if certPEM, err = readFile(e.certPath); err != nil {
		return nil, nil, fmt.Errorf("HTTPS certificate: %w", err)
	}
	if keyPEM, err = readKeyBytes(e.keyPath); err != nil {
		return nil, nil, fmt.Errorf("HTTPS certificate: %w", err)
	}
	return certPEM, keyPEM, nil
}

// parse checks what the files hold and returns it ready to serve.
func (e *externalCert) parse(certPEM, keyPEM []byte, now time.Time) (*tls.Certificate, error) {
	chain, err := DecodeCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("HTTPS certificate %s: %w", e.certPath, err)
	}
	key, err := decodeServingKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("HTTPS certificate key %s: %w", e.keyPath, err)
	}
	if err := checkServingChain(chain, key, e.keyPath); err != nil {
		return nil, fmt.Errorf("HTTPS certificate %s: %w", e.certPath, err)
	}
	if err := checkServingCert(chain[0], e.host, now); err != nil {
		return nil, fmt.Errorf("HTTPS certificate %s: %w", e.certPath, err)
	}
	return newTLSCertificate(chain, key)
}

// decodeServingKeyPEM parses an HTTPS server key as OpenSSL, certbot and
// other ACME clients write them: PKCS #8 ("PRIVATE KEY"), PKCS #1 ("RSA
// PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY", after an optional "EC
// PARAMETERS" block, as openssl ecparam -genkey writes it). The policy is
// what public CAs issue for, not the device key policy (DecodeKeyPEM):
// RSA of at least 2048 bits, ECDSA on P-256, P-384 or P-521, and Ed25519.
// An encrypted key is refused: the hub cannot ask for its passphrase.
func decodeServingKeyPEM(data []byte) (crypto.Signer, error) {
	var block *pem.Block
	for {
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no private key PEM block found")
		}
		if block.Type != "EC PARAMETERS" {
			break
		}
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("the key is encrypted, and the hub cannot ask for its passphrase: write it unencrypted, mode 0600 (openssl pkey -in KEY -out NEWKEY)")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q, want a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("decode private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign: not a TLS server key", key)
	}
	switch k := signer.Public().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("an RSA key of %d bits; want 2048 or more", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if c := k.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
			return nil, fmt.Errorf("an ECDSA key on %s; want P-256, P-384 or P-521", c.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("a %T key; want RSA, ECDSA or Ed25519", k)
	}
	return signer, nil
}

// checkServingChain refuses a chain that clients would not get right:
// the key not the first certificate's (a file in the wrong order), or a
// certificate after it that did not issue the one before it (intermediates
// in the wrong order, or extra certificates). A root at the end is
// allowed.
func checkServingChain(chain []*x509.Certificate, key crypto.Signer, keyPath string) error {
	if !publicKeysEqual(key.Public(), chain[0].PublicKey) {
		for i, c := range chain[1:] {
			if publicKeysEqual(key.Public(), c.PublicKey) {
				return fmt.Errorf("the key in %s is for certificate %d in the file (%s), not the first: put the server's certificate first, then the intermediates, each followed by its issuer (certbot's fullchain.pem)",
					keyPath, i+2, subjectName(c))
			}
		}
		return fmt.Errorf("the private key in %s does not match the certificate (%s): give the key it was issued for", keyPath, subjectName(chain[0]))
	}
	for i := 1; i < len(chain); i++ {
		if !issued(chain[i], chain[i-1]) {
			return fmt.Errorf("certificate %d in the file (%s) did not issue certificate %d (%s): put the server's certificate first, then the intermediates, each followed by its issuer, and nothing else (certbot's fullchain.pem)",
				i+1, subjectName(chain[i]), i, subjectName(chain[i-1]))
		}
	}
	return nil
}

// issued reports whether child names parent as its issuer: by name, and
// by key identifier when both have one. Clients build the path so, and
// it holds for a cross-signed certificate too, whatever algorithm signed
// it (Go refuses SHA-1 signatures, which some cross-signs at the end of a
// chain still carry and clients skip).
func issued(parent, child *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	if len(child.AuthorityKeyId) > 0 && len(parent.SubjectKeyId) > 0 {
		return bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId)
	}
	return true
}

// subjectName names a certificate in an error.
func subjectName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	if len(c.DNSNames) > 0 {
		return "DNS " + c.DNSNames[0]
	}
	return c.Subject.String()
}

// checkServingCert refuses a leaf that cannot serve host at now.
func checkServingCert(leaf *x509.Certificate, host string, now time.Time) error {
	if leaf.IsCA {
		return errors.New("it is a CA certificate; give the server's certificate first, then its intermediates")
	}
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		// Go, browsers and identity providers match the host against the
		// subject alternative names only (RFC 6125, 6.4.4; CA/Browser
		// Forum requirements).
		return fmt.Errorf("it does not cover the public URL's host %s: it names no host in its subject alternative names (only its common name %q, which clients ignore); have it issued with %s as a DNS name", host, leaf.Subject.CommonName, host)
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

// servingWarning says why clients may refuse tc though it passed the
// checks: no chain to this machine's trusted roots with the intermediates
// it comes with, or an Ed25519 key, which browsers and identity providers
// do not take in TLS (and public CAs do not issue for).
func servingWarning(tc *tls.Certificate, now time.Time) string {
	var w []string
	if _, ok := tc.Leaf.PublicKey.(ed25519.PublicKey); ok {
		w = append(w, "the HTTPS certificate has an Ed25519 key, which browsers and Microsoft Entra ID do not accept in TLS: they will refuse the hub; use an ECDSA P-256 or RSA certificate")
	}
	if m := publicTrustWarning(tc, now); m != "" {
		w = append(w, m)
	}
	return strings.Join(w, "; ")
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
