package authenticator

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/google/uuid"
)

// badgeVersion is the version of the badge file format written by this package.
const badgeVersion = 1

// Limits from CTAP2 and WebAuthn.
const (
	maxUserHandle   = 64   // CTAP2 PublicKeyCredentialUserEntity.id
	maxCredentialID = 1023 // WebAuthn credentialIdLength upper bound
	credentialIDLen = 32   // what Soft generates
)

// badge is the on-disk form of one soft key, DIR/NAME.json. See the package documentation for
// the format.
type badge struct {
	Version          int          `json:"version"`
	AAGUID           string       `json:"aaguid"`
	UserVerification bool         `json:"userVerification"`
	Attestation      string       `json:"attestation"`
	Transports       []string     `json:"transports"`
	NoCounter        bool         `json:"noCounter,omitempty"` // assertions report a sign counter of 0
	Credentials      []credential `json:"credentials"`
}

// credential is one credential held by a badge. Soft keeps every credential it creates in the
// file; Discoverable marks the resident ones a login with an empty allow list may use.
type credential struct {
	ID              b64u   `json:"id"`
	RPID            string `json:"rpId"`
	UserHandle      b64u   `json:"userHandle"`
	UserName        string `json:"userName,omitempty"`
	UserDisplayName string `json:"userDisplayName,omitempty"`
	Discoverable    bool   `json:"discoverable"`
	// PrivateKey is the P-256 private scalar, 32 big-endian bytes.
	PrivateKey b64u   `json:"privateKey"`
	SignCount  uint32 `json:"signCount"`

	priv *ecdsa.PrivateKey // PrivateKey parsed, once a badge kept in memory has used it
}

// b64u is a byte string written as unpadded base64url, the encoding WebAuthn JSON uses.
type b64u []byte

func (b b64u) MarshalText() ([]byte, error) {
	out := make([]byte, base64.RawURLEncoding.EncodedLen(len(b)))
	base64.RawURLEncoding.Encode(out, b)
	return out, nil
}

func (b *b64u) UnmarshalText(text []byte) error {
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(text)))
	n, err := base64.RawURLEncoding.Decode(out, text)
	if err != nil {
		return fmt.Errorf("base64url: %w", err)
	}
	*b = out[:n]
	return nil
}

// parseBadge decodes and validates a badge file. Every error wraps ErrInvalidBadge.
func parseBadge(data []byte) (*badge, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b badge
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBadge, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after JSON object", ErrInvalidBadge)
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBadge, err)
	}
	return &b, nil
}

// validate reports every problem of b at once.
func (b *badge) validate() error {
	var errs []error
	if b.Version != badgeVersion {
		errs = append(errs, fmt.Errorf("version %d: want %d", b.Version, badgeVersion))
	}
	if _, err := parseAAGUID(b.AAGUID); err != nil {
		errs = append(errs, err)
	}
	if err := AttestationFormat(b.Attestation).validate(); err != nil {
		errs = append(errs, err)
	}
	for i, t := range b.Transports {
		if t == "" {
			errs = append(errs, fmt.Errorf("transports[%d]: empty", i))
		}
	}
	seen := make(map[string]bool, len(b.Credentials))
	for i, c := range b.Credentials {
		if err := c.validate(); err != nil {
			errs = append(errs, fmt.Errorf("credentials[%d]: %w", i, err))
		}
		if seen[string(c.ID)] {
			errs = append(errs, fmt.Errorf("credentials[%d]: duplicate id", i))
		}
		seen[string(c.ID)] = true
	}
	return errors.Join(errs...)
}

func (c *credential) validate() error {
	var errs []error
	if len(c.ID) == 0 || len(c.ID) > maxCredentialID {
		errs = append(errs, fmt.Errorf("id: %d bytes, want 1 to %d", len(c.ID), maxCredentialID))
	}
	if c.RPID == "" {
		errs = append(errs, errors.New("rpId: empty"))
	}
	if len(c.UserHandle) == 0 || len(c.UserHandle) > maxUserHandle {
		errs = append(errs, fmt.Errorf("userHandle: %d bytes, want 1 to %d", len(c.UserHandle), maxUserHandle))
	}
	if _, err := c.key(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// key parses the credential's private key.
func (c *credential) key() (*ecdsa.PrivateKey, error) {
	if c.priv != nil {
		return c.priv, nil
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), c.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("privateKey: %w", err)
	}
	c.priv = k
	return k, nil
}

func parseAAGUID(s string) ([16]byte, error) {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return [16]byte{}, fmt.Errorf("aaguid %q: want a UUID like 00000000-0000-0000-0000-000000000000", s)
	}
	return u, nil
}

// maxBadgeBytes bounds a badge file: what readBadge reads and writeBadge writes. A credential
// takes about 300 bytes of the indented JSON, so a badge holds some 3,500; a larger file is not
// one Soft wrote, and is refused before it is read whole.
const maxBadgeBytes = 1 << 20

// readBadge loads the badge at path; a missing file is reported as an error wrapping
// os.ErrNotExist, one larger than maxBadgeBytes, not a regular file, open to others (see
// checkBadgeMode) or owned by another user (checkOwner) as ErrInvalidBadge.
func readBadge(path string) (*badge, error) {
	if err := checkBadgeDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	// Lstat before opening: a FIFO or a device is refused unopened, and a symbolic link is not
	// followed (see checkBadgeMode).
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(checkBadgeMode(fi.Mode()), checkOwner(path, fi)); err != nil {
		return nil, fmt.Errorf("read badge %s: %w: %w", path, ErrInvalidBadge, err)
	}
	f, err := openChecked(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBadgeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read badge %s: %w", path, err)
	}
	if len(data) > maxBadgeBytes {
		return nil, fmt.Errorf("read badge %s: %w: larger than %d bytes", path, ErrInvalidBadge, maxBadgeBytes)
	}
	b, err := parseBadge(data)
	if err != nil {
		return nil, fmt.Errorf("read badge %s: %w", path, err)
	}
	return b, nil
}

// openChecked opens the badge file at path and checks the file opened, as readBadge's Lstat
// checked the name: its type, mode and owner (checkBadgeMode, checkOwner). What is read is
// what was checked, whatever was renamed over the badge since the Lstat: another kiosk sharing
// the directory writes a badge by renaming a new file over it, which is that badge still, and
// is read as such. The open neither waits nor follows a link: without openNonblock a FIFO
// renamed over the badge would block the tap until something writes to the pipe, before any
// check could refuse it, and with openNoFollow a symbolic link put in its place is refused
// unopened (where the system has the flag). A regular file's reads ignore the flags.
func openChecked(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock|openNoFollow, 0)
	if linkOpened(err) {
		return nil, fmt.Errorf("read badge %s: %w: %w", path, ErrInvalidBadge, checkBadgeMode(fs.ModeSymlink))
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read badge %s: %w", path, err)
	}
	if err := errors.Join(checkBadgeMode(fi.Mode()), checkOwner(path, fi)); err != nil {
		f.Close()
		return nil, fmt.Errorf("read badge %s: %w: %w", path, ErrInvalidBadge, err)
	}
	return f, nil
}

// checkBadgeMode refuses a badge file that is not a regular file, or that group or others may
// read or write. It holds the credentials' private keys: readable, the badge is cloned without a
// trace (the copy's counter races the original's); writable, its counter can be rolled back or
// a key planted. writeBadge always writes 0600, so such a mode was set by hand, and the badge is
// refused, as ssh refuses an identity file, rather than used (on Windows, where the mode bits
// are made up from the read-only attribute, only the file type is checked). A symbolic link is
// refused too: its target's directory is not the one checkBadgeDir guards, and writeBadge would
// replace the link with a regular file, leaving the target behind as a second copy of the keys
// with an older counter.
func checkBadgeMode(m fs.FileMode) error {
	if m&fs.ModeSymlink != 0 {
		return errors.New("a symbolic link (move the file it points to into the badge directory, in its place, to use it)")
	}
	if !m.IsRegular() {
		return fmt.Errorf("not a regular file (%v)", m.Type())
	}
	if runtime.GOOS != "windows" && m.Perm()&0o077 != 0 {
		return fmt.Errorf("mode %04o lets group or others reach its private keys (chmod 600 the file to use it)", m.Perm())
	}
	return nil
}

// checkBadgeDir refuses a badge directory that group or others may write, that another user
// than this process's or root owns (checkOwner), or that is not a directory (ErrInvalidBadge);
// a missing one is reported as an error wrapping fs.ErrNotExist. Whoever may write the
// directory may rename a file of their own over a badge file, with keys or a counter of their
// choosing, whatever the badge file's own mode (checkBadgeMode): the directory guards the
// badges as much as their files do. Read access is harmless (the files are 0600). As for the
// files, only the type is checked on Windows.
func checkBadgeDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%w: badge directory %s is not a directory", ErrInvalidBadge, dir)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: badge directory %s is mode %04o: group or others may replace its badge files (chmod 700 %s to use it)", ErrInvalidBadge, dir, fi.Mode().Perm(), dir)
	}
	if err := checkOwner(dir, fi); err != nil {
		return fmt.Errorf("%w: badge directory %s is %w", ErrInvalidBadge, dir, err)
	}
	return nil
}

// makeBadgeDir creates the badge directory dir with mode 0700, and any missing parents, if it
// does not exist, and checks its mode (checkBadgeDir). Each directory it creates is fsynced
// into its parent with sync (nil: NoSync, no fsync): the badge file written next is fsynced,
// and so is dir after the rename, but without this a crash could still lose dir's own entry,
// and the just-registered badge with it.
func makeBadgeDir(dir string, sync func(dir string) error) error {
	var created []string // the missing directories, dir first
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create badge dir: %w", err)
	}
	if sync != nil {
		for _, d := range slices.Backward(created) {
			if err := sync(filepath.Dir(d)); err != nil {
				return fmt.Errorf("create badge dir %s: sync %s: %w", d, filepath.Dir(d), err)
			}
		}
	}
	return checkBadgeDir(dir)
}

// writeBadge replaces the badge file at path atomically: a temporary file in the same directory
// (mode 0600) is written, fsynced, and renamed over path; the directory is created with mode
// 0700 if missing (see makeBadgeDir) and fsynced after the rename with sync. A nil sync
// (SoftOptions.NoSync) skips every fsync.
func writeBadge(path string, b *badge, sync func(dir string) error) (err error) {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("encode badge: %w", err)
	}
	data = append(data, '\n')
	if len(data) > maxBadgeBytes {
		// Written, it could not be read back: the badge is full
		// (CTAP2_ERR_KEY_STORE_FULL), and the file stays as it was.
		return fmt.Errorf("write badge %s: %w: %w: %d bytes with this credential, more than the %d a badge file may hold: use another badge", path, ErrKeyStoreFull, ErrInvalidBadge, len(data), maxBadgeBytes)
	}

	dir := filepath.Dir(path)
	if err := makeBadgeDir(dir, sync); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write badge %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("write badge %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write badge %s: %w", path, err)
	}
	if sync != nil {
		if err = f.Sync(); err != nil {
			return fmt.Errorf("write badge %s: %w", path, err)
		}
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write badge %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write badge %s: %w", path, err)
	}
	if sync != nil {
		if err = sync(dir); err != nil {
			return fmt.Errorf("write badge %s: %w", path, err)
		}
	}
	removeLeftovers(dir, filepath.Base(path))
	return nil
}

// removeLeftovers removes the temporary files of earlier writes of the badge file base in dir
// that a crash left behind (killed between CreateTemp and Rename): each is a copy of the
// badge's private keys, which would outlive the badge file's deletion. The caller is the
// badge's one writer (it holds the directory lock, or owns the file with CounterBlock), so no
// other write is in flight. Best effort: a leftover that cannot be removed now is tried again
// on the next write.
func removeLeftovers(dir, base string) {
	// Relative to dir, so that glob metacharacters in dir do not matter; base is a badge name
	// (validName) plus ".json", which has none.
	stale, _ := fs.Glob(os.DirFS(dir), "."+base+".tmp-*")
	for _, name := range stale {
		_ = os.Remove(filepath.Join(dir, name))
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
