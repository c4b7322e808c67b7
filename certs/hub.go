package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// File names inside the hub data directory. ca.pem is part of the serve
// contract: operators copy it to kiosks (--ca) and browsers.
const (
	CACertFile     = "ca.pem"
	CAKeyFile      = "ca-key.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
)

// Hub is the hub's PKI state in its data directory: the CA and the current
// HTTPS server certificate. The server certificate can be replaced while the
// hub runs (RenewServerCert); use GetCertificate in tls.Config so that new
// handshakes pick up the new one. A Hub is safe for concurrent use.
type Hub struct {
	// CA is the hub CA. It signs device certificates (SignDeviceCSR).
	CA *CA

	dir   string
	hosts hostSANs

	mu   sync.RWMutex
	cert *tls.Certificate
	ext  *externalCert // the operator's certificate, served instead (UseExternalCert)
}

// LoadOrCreateHub loads the hub PKI from dir, creating what is missing.
//
// On first start it creates dir (0700) if needed, a CA (DIR/ca.pem 0644,
// DIR/ca-key.pem 0600) and a server certificate (DIR/server.pem 0644,
// DIR/server-key.pem 0600). Later starts reuse the CA, and reuse the server
// certificate unless it fails to verify against the CA, its key does not
// match, it expires within ServerCertRenewBefore (30 days) of now, or its
// SANs do not cover hosts; then a new key and certificate (90 days) replace
// both server files.
//
// hosts are the names clients use to reach the hub: DNS names (a leading
// "*." wildcard is allowed) and IP literals (IPv6 optionally in brackets),
// without scheme or port. Empty entries are skipped. localhost, 127.0.0.1
// and ::1 are always included.
//
// Key files with any group or other permission bit are refused with
// ErrInsecureKeyFile rather than used. Only one of ca.pem and ca-key.pem
// present, a CA key that does not match ca.pem, or an expired CA is an error:
// replacing the CA silently would cut off every enrolled kiosk. Every file is
// written atomically (temporary file and rename).
func LoadOrCreateHub(dir string, hosts []string, now time.Time) (*Hub, error) {
	sans, err := parseHosts(hosts)
	if err != nil {
		return nil, fmt.Errorf("load hub PKI: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("load hub PKI: %w", err)
	}
	ca, err := loadOrCreateCA(dir, now)
	if err != nil {
		return nil, fmt.Errorf("load hub PKI %s: %w", dir, err)
	}
	h := &Hub{CA: ca, dir: dir, hosts: sans}
	if _, err := h.RenewServerCert(now); err != nil {
		return nil, err
	}
	return h, nil
}

// Certificate returns the current server certificate (with Leaf set).
func (h *Hub) Certificate() *tls.Certificate {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cert
}

// GetCertificate returns the current server certificate; it is meant for
// tls.Config.GetCertificate and ignores hello.
func (h *Hub) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return h.Certificate(), nil
}

// RenewServerCert applies LoadOrCreateHub's server-certificate rules at now:
// it loads DIR/server.pem and DIR/server-key.pem if Certificate is not yet
// set, and re-issues them (new key, files replaced atomically) if they are
// missing, invalid, expire within ServerCertRenewBefore, or do not cover the
// hub's hosts. It reports whether a new certificate was issued. A
// long-running hub calls it periodically (daily is plenty). With an
// operator's certificate (UseExternalCert) it issues none: it reads the
// files again, serves what they hold when it differs from what is served
// and passes UseExternalCert's checks, and reports whether it did (call
// it every minute or so, so that a renewal is served soon).
func (h *Hub) RenewServerCert(now time.Time) (renewed bool, err error) {
	h.mu.RLock()
	ext := h.ext
	h.mu.RUnlock()
	if ext != nil {
		return h.reloadExternal(ext, now)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ext != nil { // UseExternalCert meanwhile
		return false, nil
	}
	certPath := filepath.Join(h.dir, ServerCertFile)
	keyPath := filepath.Join(h.dir, ServerKeyFile)

	cur := h.cert
	if cur == nil {
		cur, err = loadServerCert(certPath, keyPath)
		if err != nil {
			return false, fmt.Errorf("load hub PKI %s: %w", h.dir, err)
		}
	}
	if cur != nil && h.serverCertOK(cur.Leaf, now) {
		h.cert = cur
		return false, nil
	}
	next, err := h.CA.issueServerCert(h.hosts, ServerCertLifetime, now)
	if err != nil {
		return false, fmt.Errorf("renew hub server certificate: %w", err)
	}
	// Key first: after a crash between the writes, the old certificate no
	// longer matches the new key, so the next start issues again.
	if err := WriteKeyFile(keyPath, next.PrivateKey.(crypto.Signer)); err != nil {
		return false, fmt.Errorf("renew hub server certificate: %w", err)
	}
	if err := WriteCertFile(certPath, next.Certificate[0]); err != nil {
		return false, fmt.Errorf("renew hub server certificate: %w", err)
	}
	h.cert = next
	return true, nil
}

// serverCertOK reports whether leaf can keep serving at now.
func (h *Hub) serverCertOK(leaf *x509.Certificate, now time.Time) bool {
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:       h.CA.Pool(),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err == nil &&
		leaf.NotAfter.After(now.Add(ServerCertRenewBefore)) &&
		h.hosts.coveredBy(leaf)
}

// loadServerCert returns the server key pair, or nil (no error) when it is
// missing or unusable and should simply be re-issued. An insecure key file is
// an error: the operator must look at it.
func loadServerCert(certPath, keyPath string) (*tls.Certificate, error) {
	if _, err := os.Stat(certPath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	key, err := readKeyFile(keyPath)
	if err != nil {
		if errors.Is(err, ErrInsecureKeyFile) {
			return nil, err
		}
		return nil, nil
	}
	certPEM, err := readFile(certPath)
	if err != nil {
		return nil, nil
	}
	chain, err := DecodeCertsPEM(certPEM)
	if err != nil {
		return nil, nil
	}
	tc, err := newTLSCertificate(chain, key)
	if err != nil {
		return nil, nil
	}
	return tc, nil
}

// loadOrCreateCA loads DIR/ca.pem and DIR/ca-key.pem, or creates both when
// neither exists.
func loadOrCreateCA(dir string, now time.Time) (*CA, error) {
	certPath := filepath.Join(dir, CACertFile)
	keyPath := filepath.Join(dir, CAKeyFile)
	certExists, err := exists(certPath)
	if err != nil {
		return nil, err
	}
	keyExists, err := exists(keyPath)
	if err != nil {
		return nil, err
	}
	switch {
	case certExists && keyExists:
		return loadCA(certPath, keyPath, now)
	case certExists:
		return nil, fmt.Errorf("%s exists but %s is missing; restore the key, or remove %s to create a new CA (every kiosk must then re-enroll)", certPath, keyPath, certPath)
	case keyExists:
		return nil, fmt.Errorf("%s exists but %s is missing; restore the certificate, or remove %s to create a new CA (every kiosk must then re-enroll)", keyPath, certPath, keyPath)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	// A per-hub suffix keeps CAs of different hubs apart in trust stores
	// and certificate viewers.
	ca, err := NewCA("Shiftgate Hub CA "+hex.EncodeToString(suffix), now)
	if err != nil {
		return nil, err
	}
	if err := WriteKeyFile(keyPath, ca.Key); err != nil {
		return nil, err
	}
	if err := WriteCertFile(certPath, ca.Cert.Raw); err != nil {
		return nil, err
	}
	return ca, nil
}

func loadCA(certPath, keyPath string, now time.Time) (*CA, error) {
	// Reading and decoding are apart: only a file that was read and does
	// not decode is damaged; one that could not be read is not known to be.
	keyPEM, err := readKeyBytes(keyPath)
	if err != nil {
		return nil, unreadableCA(err, certPath, keyPath)
	}
	key, err := DecodeKeyPEM(keyPEM)
	if err != nil {
		return nil, damagedCA(fmt.Errorf("read key %s: %w", keyPath, err), certPath, keyPath)
	}
	certPEM, err := readFile(certPath)
	if err != nil {
		return nil, unreadableCA(err, certPath, keyPath)
	}
	cert, err := DecodeCertPEM(certPEM)
	if err != nil {
		return nil, damagedCA(fmt.Errorf("%s: %w", certPath, err), certPath, keyPath)
	}
	ca := &CA{Cert: cert, Key: key}
	if err := ca.validate(now); err != nil {
		err = fmt.Errorf("%s: %w", certPath, err)
		if now.Before(cert.NotBefore) || !now.Before(cert.NotAfter) {
			return nil, err // the clock, or the CA's age: a backup holds the same
		}
		return nil, damagedCA(err, certPath, keyPath)
	}
	return ca, nil
}

// unreadableCA is the error for ca.pem or ca-key.pem that could not be
// read (err names the file and the system's error). That says nothing of
// what the file holds: an I/O error of a failing disk, a process or the
// system out of file descriptors, something other than a file under the
// name. Sending the operator to the backup for it, with a new CA as the
// last resort, would have them replace a CA that may well be intact, and
// a new one cuts every kiosk off; the same start may succeed once the
// cause is fixed. A key file whose mode or owner is wrong is refused as
// it is, its error saying what to fix; a file over the size limit was
// read, and is no CA file: damaged.
func unreadableCA(err error, certPath, keyPath string) error {
	switch {
	case errors.Is(err, ErrInsecureKeyFile), errors.Is(err, fs.ErrPermission):
		return err // the mode or the owner to fix, which the error names
	case errors.Is(err, errFileTooLarge):
		return damagedCA(err, certPath, keyPath)
	}
	return fmt.Errorf("%w: the hub CA could not be read, which does not make it damaged: check the disk and that file (the kernel log, free space, the open-file limit), then start the hub again; the CA is not to be replaced, from a backup or with a new one, because of this error",
		err)
}

// damagedCA adds what to do to err, the reason why ca.pem and ca-key.pem,
// both there, are not a usable CA (a file that does not decode, a key of
// another CA): the hub must not start, nor make a new CA in their place,
// since every enrolled kiosk's certificate chains to this one and the
// kiosks trust no other for the hub. The fix is the backup; a new CA, the
// last resort, cuts every kiosk off until it is enrolled again.
func damagedCA(err error, certPath, keyPath string) error {
	return fmt.Errorf("%w: the hub CA is damaged; restore %s and %s together from the backup of this data directory (to make a new CA instead: move both away and start the hub with serve --new-ca; every enrolled kiosk must then enroll again)",
		err, certPath, keyPath)
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}
