package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/shiftgate/shiftgate/hub/store"
)

const (
	// SignKeyFile is the export signing key in the hub's data directory:
	// an Ed25519 private key, PEM (PKCS #8), mode 0600.
	SignKeyFile = "audit-sign.key"
	// PublicKeyFile is its public key, PEM (PKIX), mode 0644: what
	// auditors are given to check exports.
	PublicKeyFile = "audit-sign.pub"

	// SignaturePrefix separates the signed bytes of an export trailer
	// from anything else the key could be made to sign; it changes with
	// the trailer's format.
	SignaturePrefix = "shiftgate audit export v1\n"

	algEd25519 = "Ed25519"
	// maxKeyFile bounds what is read as a PEM key: an Ed25519 one is
	// about 120 bytes.
	maxKeyFile = 4 << 10
)

// ErrSignKeyMissing means the data directory holds no export signing key:
// a hub from before signed exports, or one never started (serve makes it).
var ErrSignKeyMissing = errors.New("the audit export signing key is missing")

// ErrUnsigned means an export that had to be signed has no signature
// trailer: a hub from before signed exports made it, or lines were cut off
// its end, the trailer with them.
var ErrUnsigned = errors.New("the export has no signature trailer")

// Signer signs exports with the hub's Ed25519 export key.
type Signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	id   string
}

// NewSigner returns a Signer for priv.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("audit signing key is %d bytes, want an Ed25519 private key (%d)", len(priv), ed25519.PrivateKeySize)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &Signer{priv: bytes.Clone(priv), pub: pub, id: KeyID(pub)}, nil
}

// PublicKey is the key that checks this Signer's exports.
func (s *Signer) PublicKey() ed25519.PublicKey { return bytes.Clone(s.pub) }

// KeyID is the Signer's key id, as KeyID computes it.
func (s *Signer) KeyID() string { return s.id }

// KeyID names a public key: the SHA-256 of its 32 bytes, in hex (64
// digits). Auditors compare it with the one the hub's operator tells
// them, over another channel, before they trust a public key file, so it
// is the whole hash: a shorter id (16 digits, 64 bits) could be matched
// by another key for the price of 2^64 hashes, and two keys sharing one
// made for 2^32, which would let whoever made them show two auditors two
// different trails under "the same" key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

// Trailer is the last line of a signed export: what the signature vouches
// for.
//
// The chain's HMAC verifies and seals with the same key, so whoever is
// given audit.key to check an export could also forge one. A signed export
// needs no secret to check: Export (WithSigner) checks every record it
// writes against the chain key and, when all hold, appends the trailer:
//
//	{"signature":{"alg":"Ed25519","key_id":K,"after":N,"records":M,"head":"SEQ:HASH","sha256":S,"sig":B}}
//
// key_id is the hex SHA-256 of the 32-byte Ed25519 public key (KeyID);
// after is the export's --after; records the number of record lines;
// head the last record's sequence number and chain hash as anchors write
// them ("" when there are no records); sha256 the hex SHA-256 of
// every line before the trailer, each ended by "\n", as Export writes them
// (`head -n -1 FILE | sha256sum`); sig the standard base64 (with padding)
// of the Ed25519 signature over SignaturePrefix followed by the JSON of the
// other fields, exactly as
//
//	{"alg":"Ed25519","key_id":K,"after":N,"records":M,"head":H,"sha256":S}
//
// (that order, no spaces, numbers in decimal). The signature thus covers
// every byte of the records, how many there are, where they begin and end,
// and the key that made it: a line edited, added, removed or moved, lines
// cut off the end (the trailer goes with them, or no longer matches), or a
// trailer taken from another export, all fail. The trailer line, like the
// records', must be byte for byte as Export writes it.
type Trailer struct {
	Alg     string `json:"alg"`
	KeyID   string `json:"key_id"`
	After   int64  `json:"after"`
	Records int64  `json:"records"`
	Head    string `json:"head"`
	SHA256  string `json:"sha256"`
	Sig     []byte `json:"sig"`
}

// signatureLine is the trailer as a line of the export.
type signatureLine struct {
	Signature *Trailer `json:"signature"`
}

// signed returns the bytes the signature is over: SignaturePrefix and the
// JSON of every field but the signature, in a fixed order.
func (t *Trailer) signed() []byte {
	b, err := json.Marshal(struct {
		Alg     string `json:"alg"`
		KeyID   string `json:"key_id"`
		After   int64  `json:"after"`
		Records int64  `json:"records"`
		Head    string `json:"head"`
		SHA256  string `json:"sha256"`
	}{t.Alg, t.KeyID, t.After, t.Records, t.Head, t.SHA256})
	if err != nil {
		panic(err) // strings and integers always marshal
	}
	return append([]byte(SignaturePrefix), b...)
}

// trailer signs what an export of the records after `after` wrote: rep
// its records and head, sum the SHA-256 of its lines.
func (s *Signer) trailer(after int64, rep Report, sum []byte) *Trailer {
	t := &Trailer{Alg: algEd25519, KeyID: s.id, After: after, Records: rep.Records, SHA256: hex.EncodeToString(sum)}
	if rep.Records > 0 {
		t.Head = rep.Anchor().String()
	}
	t.Sig = ed25519.Sign(s.priv, t.signed())
	return t
}

// marshalTrailer is the trailer's line, without its "\n".
func marshalTrailer(t *Trailer) ([]byte, error) {
	return json.Marshal(signatureLine{Signature: t})
}

// trailerPrefix is how the trailer's line begins; no record's does.
var trailerPrefix = []byte(`{"signature":`)

// parseTrailer reads a trailer line, which must be byte for byte as Export
// writes it, for the reason VerifyExport gives for records.
func parseTrailer(b []byte) (*Trailer, error) {
	var l signatureLine
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("not a signature trailer: %w", err)
	}
	if l.Signature == nil {
		return nil, errors.New("not a signature trailer")
	}
	c, err := marshalTrailer(l.Signature)
	if err != nil || !bytes.Equal(c, b) {
		return nil, errors.New("the signature trailer is not as audit export writes it (a field repeated, added or written another way)")
	}
	return l.Signature, nil
}

// SignatureError means an export does not match its signature trailer, or
// the trailer does not verify: its lines are not the ones the hub signed.
type SignatureError struct {
	Reason string
}

func (e *SignatureError) Error() string { return "audit export signature: " + e.Reason }

// checkTrailer returns a *SignatureError unless t is the signature (under
// o.pub, when there is one) of an export after `after` whose lines were
// rep's records with SHA-256 sum.
func (o *options) checkTrailer(t *Trailer, after int64, rep Report, sum []byte) error {
	if o.pub != nil {
		switch want := KeyID(o.pub); {
		case t.Alg != algEd25519:
			return &SignatureError{Reason: fmt.Sprintf("the trailer's algorithm is %q, not %s", t.Alg, algEd25519)}
		case t.KeyID != want:
			return &SignatureError{Reason: fmt.Sprintf("signed by key %s, not by the key you gave (%s): verify it with the public key it names, if you trust that key", t.KeyID, want)}
		case !ed25519.Verify(o.pub, t.signed(), t.Sig):
			return &SignatureError{Reason: fmt.Sprintf("the signature does not verify under key %s: the trailer was edited, or signed by another key", want)}
		}
	}
	head := ""
	if rep.Records > 0 {
		head = rep.Anchor().String()
	}
	switch {
	case t.After != after:
		return &SignatureError{Reason: fmt.Sprintf("the signature is for an export after record %d, these records begin after record %d (--after): the trailer belongs to another export, or --after is not the one the export was made with", t.After, after)}
	case t.Records != rep.Records:
		return &SignatureError{Reason: fmt.Sprintf("the export holds %d records, the signature %d: records were added or removed", rep.Records, t.Records)}
	case t.Head != head:
		return &SignatureError{Reason: fmt.Sprintf("the export ends at %q, the signature at %q: records were added or removed, or the trailer belongs to another export", head, t.Head)}
	case t.SHA256 != hex.EncodeToString(sum):
		return &SignatureError{Reason: "the lines before the trailer are not the ones signed (their SHA-256 differs): a line was edited, added, removed or moved, or the trailer belongs to another export"}
	}
	return nil
}

// WithSigner makes Export sign what it writes: it checks every record it
// exports against the chain key (as VerifyExport does) and, when all hold,
// appends the signature trailer. A broken record is exported as it is and
// the rest with it, but without the trailer, and Export returns the
// *BrokenError: the hub never signs records that do not verify, so that a
// row edited in the database cannot be passed on under its signature.
func WithSigner(s *Signer, chainKey []byte) Option {
	return func(o *options) { o.signer, o.chainKey, o.sign = s, chainKey, true }
}

// WithPublicKey makes VerifyExport also check the export's signature
// trailer under pub, and refuse an export without one (ErrUnsigned).
func WithPublicKey(pub ed25519.PublicKey) Option {
	return func(o *options) { o.pub = bytes.Clone(pub) }
}

// LoadSigner reads DIR/audit-sign.key; it never makes one. A key readable
// by group or others is refused, as audit.key is.
func LoadSigner(dir string) (*Signer, error) {
	path := filepath.Join(dir, SignKeyFile)
	s, err := readSignKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist: the hub makes it when it starts (serve)", ErrSignKeyMissing, path)
	}
	return s, err
}

// LoadOrCreateSigner reads DIR/audit-sign.key, making it (a new Ed25519
// key, mode 0600) when it is missing, and writes DIR/audit-sign.pub (mode
// 0644) when that is missing or not the key's.
//
// Unlike audit.key, a missing signing key beside sealed records is not
// refused: it seals nothing in the trail, only exports, and an export
// signed with a lost key still verifies with the public key its auditors
// hold. A new key is logged at warn on log (with its id) when the trail
// already has records, since auditors must then be given the new public
// key; at info on a new hub. log may be nil.
//
// Files written beside either by a process that crashed before it
// removed them (".audit-sign.key.NNN", ".audit-sign.pub.NNN") are
// removed, logged by name: the first is a copy of the private key that
// every backup of the directory would take along. Making the key, writing
// the public key and removing those is done holding the flock on dir that
// audit.key is made under, so that no process removes another's file
// being written, and two starting together end up with one key.
func LoadOrCreateSigner(ctx context.Context, dir string, trail Trail, log *slog.Logger) (*Signer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(dir, SignKeyFile)
	s, err := readSignKey(path)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return nil, err
	}
	switch unlock, err := lockKeyDir(dir); {
	case err != nil && missing:
		return nil, fmt.Errorf("create audit signing key: %w", err)
	case err != nil:
		// The strays are only copies, not a reason to refuse to start:
		// a directory that cannot be locked keeps them.
		log.Warn("could not look for audit signing keys left beside audit-sign.key by a crash", "dir", dir, "err", err)
	default:
		defer unlock() // until the public key is in place
		removeStrays(dir, log, SignKeyFile, PublicKeyFile)
	}
	if missing {
		// Read again under the lock: a process that held it made the
		// key meanwhile.
		s, err = readSignKey(path)
		if errors.Is(err, fs.ErrNotExist) {
			s, err = createSignKey(ctx, path, trail, log)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := writePublicKey(dir, s, log); err != nil {
		return nil, err
	}
	return s, nil
}

// createSignKey makes the signing key at path; the caller holds
// lockKeyDir. The file appears whole or not at all (written aside, then
// linked into place), so that a command reading it meanwhile never sees
// half a key; if a process that took no lock made it first, its key is
// read.
func createSignKey(ctx context.Context, path string, trail Trail, log *slog.Logger) (*Signer, error) {
	recs, err := trail.ListAudit(ctx, store.AuditQuery{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("create audit signing key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create audit signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("create audit signing key: %w", err)
	}
	// os.CreateTemp makes the file 0600.
	if err := writeAside(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600, os.Link); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readSignKey(path)
		}
		return nil, fmt.Errorf("create audit signing key: %w", err)
	}
	s, err := NewSigner(priv)
	if err != nil {
		return nil, err
	}
	if len(recs) > 0 {
		log.Warn("made a new audit export signing key: the trail already has records, so this hub predates signed exports or its signing key was lost; exports signed before verify only with the public key they were signed under: give auditors the new public key (shiftgate-hub audit public-key) and its key id",
			"file", path, "key_id", s.id)
	} else {
		log.Info("made the audit export signing key", "file", path, "key_id", s.id)
	}
	return s, nil
}

// writePublicKey writes DIR/audit-sign.pub for s unless it holds s's
// public key already.
func writePublicKey(dir string, s *Signer, log *slog.Logger) error {
	path := filepath.Join(dir, PublicKeyFile)
	want := MarshalPublicKey(s.pub)
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, want):
		return nil
	case err == nil:
		log.Warn("the audit export public key file did not hold the signing key's public key: rewritten", "file", path, "key_id", s.id)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("read audit public key: %w", err)
	}
	if err := writeAside(path, want, 0o644, os.Rename); err != nil {
		return fmt.Errorf("write audit public key: %w", err)
	}
	return nil
}

// writeAside writes b to a new file beside path with mode perm, and then
// puts it in place with place (os.Link: only if path does not exist;
// os.Rename: over it).
func writeAside(path string, b []byte, perm fs.FileMode, place func(old, new string) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return place(tmp, path)
}

// signKeyFix is what to do about an audit-sign.key the hub cannot use.
// Unlike audit.key it can be made anew: it seals nothing in the trail.
const signKeyFix = "restore it from the backup of this data directory, or move it away and start the hub (serve), which makes a new one; then give auditors its public key (shiftgate-hub audit public-key)"

func readSignKey(path string) (*Signer, error) {
	b, err := readOwnerOnly(path, "audit signing key", func(size int64) error {
		if size > maxKeyFile {
			return fmt.Errorf("audit signing key %s is %d bytes: not a PEM Ed25519 key: %s", path, size, signKeyFix)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s, err := parseSignKey(b)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s %w: %s", path, err, signKeyFix)
	}
	return s, nil
}

// parseSignKey reads audit-sign.key as createSignKey writes it: one PEM
// PRIVATE KEY block of a PKCS #8 Ed25519 key. The key of a zero seed is
// refused: it is no secret (a file zeroed by a crash or a bad copy, or a
// test key), and exports signed with it could be made by anyone.
func parseSignKey(b []byte) (*Signer, error) {
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("is not one PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("is not a PKCS #8 key (%w)", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("is a %T, not an Ed25519 key", k)
	}
	if allZero(priv.Seed()) {
		return nil, errors.New("is the key of a zero seed, which anyone can sign with")
	}
	return NewSigner(priv)
}

// MarshalPublicKey is pub as PEM (PKIX), as audit-sign.pub holds it.
func MarshalPublicKey(pub ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // an Ed25519 key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKey reads an Ed25519 public key in PEM (PKIX), as
// MarshalPublicKey writes it.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	block, rest := pem.Decode(b)
	switch {
	case block == nil:
		return nil, errors.New("not a PEM public key")
	case block.Type == "PRIVATE KEY":
		return nil, errors.New("this is the private signing key: give the public key (shiftgate-hub audit public-key prints it), and keep the private key on the hub")
	case block.Type != "PUBLIC KEY":
		return nil, fmt.Errorf("a PEM %s, not a PUBLIC KEY", block.Type)
	case len(bytes.TrimSpace(rest)) != 0:
		return nil, errors.New("more than one PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 public key", k)
	}
	return pub, nil
}

// ReadPublicKey reads a public key file (ParsePublicKey).
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	if st.Size() > maxKeyFile {
		return nil, fmt.Errorf("public key %s is %d bytes: not a PEM Ed25519 public key", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	pub, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return pub, nil
}
