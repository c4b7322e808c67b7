package certs

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// File modes of what this package writes.
const (
	certFileMode fs.FileMode = 0o644
	keyFileMode  fs.FileMode = 0o600
)

// ErrInsecureKeyFile is returned (wrapped, with the path and the command that
// fixes it) when a private key file is readable or writable by group or
// others. Test with errors.Is.
var ErrInsecureKeyFile = errors.New("private key file is accessible by group or others")

// WriteKeyFile writes key to path as PKCS #8 PEM with mode 0600, atomically:
// readers see the old file or the new one, never a partial key. The mode is
// set explicitly, independent of the umask.
func WriteKeyFile(path string, key crypto.Signer) error {
	data, err := EncodeKeyPEM(key)
	if err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return writeFileAtomic(path, data, keyFileMode)
}

// WriteCertFile writes the DER certificates in chain (leaf first) to path as
// PEM with mode 0644, atomically.
func WriteCertFile(path string, chain ...[]byte) error {
	if len(chain) == 0 {
		return fmt.Errorf("write certificate %s: no certificate", path)
	}
	var buf bytes.Buffer
	for _, der := range chain {
		buf.Write(EncodeCertPEM(der))
	}
	return writeFileAtomic(path, buf.Bytes(), certFileMode)
}

// LoadKeyPair reads a PEM certificate chain (leaf first) from certPath and
// its private key from keyPath and returns them as a *tls.Certificate with
// Leaf set. The key file must not be accessible by group or others
// (ErrInsecureKeyFile), and the key must match the leaf's public key. The
// certificate's validity period is not checked: an agent loads its expired
// certificate too, to report why it cannot connect.
func LoadKeyPair(certPath, keyPath string) (*tls.Certificate, error) {
	certPEM, err := readFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("load key pair: %w", err)
	}
	chain, err := DecodeCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load key pair %s: %w", certPath, err)
	}
	key, err := readKeyFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load key pair: %w", err)
	}
	return newTLSCertificate(chain, key)
}

// newTLSCertificate assembles a tls.Certificate after checking that key
// belongs to chain[0].
func newTLSCertificate(chain []*x509.Certificate, key crypto.Signer) (*tls.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("no certificate")
	}
	if !publicKeysEqual(key.Public(), chain[0].PublicKey) {
		return nil, errors.New("private key does not match the certificate's public key")
	}
	tc := &tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, nil
}

// readKeyFile opens a PEM private key, refusing it when its permissions let
// group or others in. The check uses the opened file, so it describes the
// bytes that are read.
func readKeyFile(path string) (crypto.Signer, error) {
	data, err := readKeyBytes(path)
	if err != nil {
		return nil, err
	}
	key, err := DecodeKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	return key, nil
}

// readKeyBytes reads the private key file at path, refusing it when its
// permissions let group or others in (checked on the opened file).
func readKeyBytes(path string) ([]byte, error) {
	f, fi, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer f.Close()
	if err := checkKeyMode(path, fi); err != nil {
		return nil, err
	}
	return readAllLimited(f, path)
}

// checkKeyMode reports ErrInsecureKeyFile for a key file with any group or
// other permission bit. Windows has no such bits, so it is skipped there.
func checkKeyMode(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; fix with: chmod 600 %s", ErrInsecureKeyFile, path, perm, path)
	}
	return nil
}

// ReadPEMFile reads a PEM file of at most 1 MiB (a CA bundle, a root
// list): a path given by mistake (a log, a disk image) is refused before
// it is read whole. A missing file is an error wrapping fs.ErrNotExist.
func ReadPEMFile(path string) ([]byte, error) { return readFile(path) }

func readFile(path string) ([]byte, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	defer f.Close()
	return readAllLimited(f, path)
}

// openRegular opens path for reading, refusing anything but a regular
// file: a named pipe, a device, a socket or a directory given as a
// certificate or key would otherwise hang the hub or agent at start
// (reading a pipe that nothing writes to, or a device that never ends)
// instead of failing with an error that names the file. The open itself
// must not wait either (opening a named pipe waits for a writer), so it
// is made with O_NONBLOCK, and the type is checked on the opened file,
// which is what is read. Reads of a regular file ignore O_NONBLOCK, so
// the flag needs no clearing.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		// A *fs.PathError, as the open's own errors: a file of the
		// wrong type was not read, and says nothing of what a regular
		// one in its place would hold (the agent keeps a pending
		// renewal it could not read; the hub calls its CA unreadable,
		// not damaged).
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: it is %s", errNotRegular, fileKind(fi.Mode()))}
	}
	return f, fi, nil
}

// errNotRegular is wrapped by openRegular's error for a file that is not
// a regular one.
var errNotRegular = errors.New("not a regular file")

// fileKind names what a file that is not a regular one is, for
// openRegular's error.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "of type " + m.Type().String()
	}
}

// errFileTooLarge is wrapped by readAllLimited's error for a file over
// maxPEMFileBytes: one that was read, and is no PEM file of ours, which
// callers tell apart from a file that could not be read.
var errFileTooLarge = fmt.Errorf("larger than %d bytes", maxPEMFileBytes)

func readAllLimited(r io.Reader, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPEMFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxPEMFileBytes {
		return nil, fmt.Errorf("read %s: %w", path, errFileTooLarge)
	}
	return data, nil
}

// writeFileAtomic writes data to a temporary file in path's directory, sets
// perm, fsyncs, and renames it over path, then fsyncs the directory so the
// rename survives a crash. On error the temporary file is removed.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600; Chmod is not subject to the umask,
	// so the final mode is exactly perm.
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
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. Failures are ignored: some
// platforms and file systems cannot fsync a directory, and the data itself
// is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
