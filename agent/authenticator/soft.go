package authenticator

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"sync"
)

// DefaultAAGUID is the AAGUID of soft badges created without SoftOptions.AAGUID. It is
// Shiftgate's own (randomly generated) model identifier, so a hub can tell soft badges from
// hardware ones by policy.
const DefaultAAGUID = "5f0a6c7e-3b1d-4c9a-9e2f-8d4b7a1c6e35"

// DefaultTransports are the transports of soft badges created without SoftOptions.Transports:
// a badge tapped on the kiosk's reader.
func DefaultTransports() []string { return []string{"nfc"} }

// SoftOptions configures a soft badge. AAGUID, UserVerification, Attestation and Transports
// describe the badge "hardware": they are written into the badge file when the badge is created
// (on its first registration) and the file's values win from then on, as a real key's model
// does not change. NoSync applies at run time.
type SoftOptions struct {
	// AAGUID in UUID text form; empty means DefaultAAGUID.
	AAGUID string
	// UserVerification gives the badge a (simulated) PIN or fingerprint: the UV flag is set
	// unless the relying party discourages it, and UVRequired requests succeed. Without it,
	// UVRequired requests fail with ErrUVUnavailable.
	UserVerification bool
	// Attestation is the attestation format, AttestationPacked (self attestation) when empty.
	Attestation AttestationFormat
	// Transports reported at registration; empty means DefaultTransports().
	Transports []string
	// NoSync skips fsync when the badge file is written. Only for load tests: after a crash a
	// badge could come back with an older sign counter, which the hub reports as a clone.
	NoSync bool
	// CounterBlock, above 1, makes the badge keep its state in memory and write its file once
	// per CounterBlock assertions of a credential instead of on every one, the way keys that
	// spare their flash do: each write records the top of the next block of counter values,
	// and assertions count up inside it. After a restart (or a crash) the badge goes on above
	// everything it may have signed, skipping what was left of the block, which WebAuthn
	// allows (the counter must only rise). For load generators that own their badge files:
	// the file is read once, so a change made to it by another process is not seen.
	CounterBlock uint32
	// NoCounter makes the badge report a sign counter of 0 in every assertion, as
	// authenticators that do not implement one do (WebAuthn §6.1.1). For tests of relying
	// parties that refuse them.
	NoCounter bool
	// Batch, with Attestation AttestationPacked, makes the badge attest its registrations
	// the way a hardware key does: with the model's attestation key and certificate chain
	// (basic attestation) instead of the credential's own key (self attestation). It is
	// used at run time and not written into the badge file.
	Batch *BatchAttestation
}

// BatchAttestation is an authenticator model's attestation key and certificate chain, as a
// maker installs them in every key of a batch: Chain holds DER certificates, the
// attestation certificate (for Key, with the FIDO AAGUID extension) first, then any
// intermediates, without the root.
type BatchAttestation struct {
	Key   *ecdsa.PrivateKey
	Chain [][]byte
}

// Soft is a software FIDO2 authenticator whose state is the file DIR/NAME.json. It produces
// the same CTAP2 data as a hardware security key: ES256 credentials, CTAP2-canonical CBOR,
// packed self or none attestation, a per-credential sign counter.
//
// The file is the only state: every operation reads it, and an operation that changes it
// (a registration, or the counter of an assertion) writes it back atomically before returning
// its result. (SoftOptions.CounterBlock trades that for speed in load tests.) Soft is safe for
// concurrent use, and Softs of one badge file, in one process or several, serialize their
// operations on it with an flock on its directory (see lock). A cloned key is simulated with a
// copy of the file (see the package documentation).
type Soft struct {
	path string
	opts SoftOptions // normalized
	cbor encoder

	// dirSync fsyncs a directory (syncDir), nil with NoSync; tests record the calls.
	dirSync func(dir string) error

	mu sync.Mutex // serializes read-modify-write of the badge file
	// With CounterBlock: the badge as last read or written, and per credential ID the counter
	// value its file holds (the top of the reserved block).
	cached   *badge
	reserved map[string]uint32
}

var _ Authenticator = (*Soft)(nil)

// NewSoft returns the soft badge name in dir. name must be a plain file name of letters,
// digits, '.', '_' and '-' (not starting with '.'). The file need not exist yet; it is created,
// with dir if needed, on the badge's first registration. An existing file is checked now, so a
// corrupt badge is reported here (ErrInvalidBadge) rather than on a tap; so is an existing dir
// that group or others may write.
func NewSoft(dir, name string, opts SoftOptions) (*Soft, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if opts.AAGUID == "" {
		opts.AAGUID = DefaultAAGUID
	}
	if _, err := parseAAGUID(opts.AAGUID); err != nil {
		return nil, fmt.Errorf("new soft badge %s: %w: %w", name, ErrInvalidRequest, err)
	}
	if opts.Attestation == "" {
		opts.Attestation = AttestationPacked
	}
	if err := opts.Attestation.validate(); err != nil {
		return nil, fmt.Errorf("new soft badge %s: %w: %w", name, ErrInvalidRequest, err)
	}
	if len(opts.Transports) == 0 {
		opts.Transports = DefaultTransports()
	}
	opts.Transports = slices.Clone(opts.Transports)
	enc, err := newEncoder()
	if err != nil {
		return nil, err
	}
	s := &Soft{path: filepath.Join(dir, name+".json"), opts: opts, cbor: enc}
	if !opts.NoSync {
		s.dirSync = syncDir
	}
	if _, err := s.load(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return s, nil
}

// Path returns the badge file's path.
func (s *Soft) Path() string { return s.path }

func validName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return fmt.Errorf("%w: %q", ErrInvalidName, name)
		}
	}
	return nil
}

// load reads the badge file, or returns the badge in memory when the badge keeps one; a missing
// file is returned as an error wrapping fs.ErrNotExist.
func (s *Soft) load() (*badge, error) {
	if s.cached != nil {
		return s.cached, nil
	}
	b, err := readBadge(s.path)
	if err != nil || s.opts.CounterBlock <= 1 {
		return b, err
	}
	s.cached, s.reserved = b, make(map[string]uint32, len(b.Credentials))
	for _, c := range b.Credentials {
		s.reserved[string(c.ID)] = c.SignCount
	}
	return b, nil
}

// count advances c's sign counter for an assertion. A badge with CounterBlock writes its file
// only when the new value leaves the reserved block; any other badge writes it every time.
// It fails, leaving the badge file as it was, if the write fails.
func (s *Soft) count(b *badge, c *credential) error {
	c.SignCount++
	if s.opts.CounterBlock <= 1 {
		return s.save(b)
	}
	if c.SignCount <= s.reserved[string(c.ID)] {
		return nil
	}
	top := uint32(min(uint64(c.SignCount)+uint64(s.opts.CounterBlock)-1, math.MaxUint32))
	old := s.reserved[string(c.ID)]
	s.reserved[string(c.ID)] = top
	if err := s.save(b); err != nil {
		s.reserved[string(c.ID)] = old
		s.cached = nil // read the file again next time
		return err
	}
	return nil
}

// loadOrNew reads the badge file, or starts a new badge from the options if there is none.
func (s *Soft) loadOrNew() (*badge, error) {
	b, err := s.load()
	if errors.Is(err, fs.ErrNotExist) {
		return &badge{
			Version:          badgeVersion,
			AAGUID:           s.opts.AAGUID,
			UserVerification: s.opts.UserVerification,
			Attestation:      string(s.opts.Attestation),
			Transports:       slices.Clone(s.opts.Transports),
			NoCounter:        s.opts.NoCounter,
			Credentials:      []credential{},
		}, nil
	}
	return b, err
}

// save writes the badge file. A badge with CounterBlock writes each credential's reserved
// counter rather than the last one used, and keeps b as its state.
func (s *Soft) save(b *badge) error {
	if s.opts.CounterBlock <= 1 {
		return writeBadge(s.path, b, s.dirSync)
	}
	out := *b
	out.Credentials = slices.Clone(b.Credentials)
	for i := range out.Credentials {
		c := &out.Credentials[i]
		c.SignCount = max(c.SignCount, s.reserved[string(c.ID)])
	}
	if err := writeBadge(s.path, &out, s.dirSync); err != nil {
		s.cached = nil
		return err
	}
	if s.reserved == nil {
		s.reserved = make(map[string]uint32)
	}
	for _, c := range out.Credentials {
		s.reserved[string(c.ID)] = c.SignCount
	}
	s.cached = b
	return nil
}

// lock serializes this operation's read-modify-write of the badge file with every other Soft
// using the file, in this process or in another (s.mu covers only this Soft): the agent opens a
// new Soft for every tap, and kiosks may share a soft:DIR. Without it two taps can sign the same
// counter (the hub suspends the badge as cloned) and a tap can undo a registration. create
// makes the badge directory first, for a registration. A badge with CounterBlock keeps its
// state in memory and owns its file (see SoftOptions.CounterBlock), so it takes no lock. The
// wait for the lock ends with ctx (lockDir).
func (s *Soft) lock(ctx context.Context, create bool) (unlock func(), err error) {
	if s.opts.CounterBlock > 1 {
		return func() {}, nil
	}
	dir := filepath.Dir(s.path)
	if create {
		if err := makeBadgeDir(dir, s.dirSync); err != nil {
			return nil, err
		}
	}
	return lockDir(ctx, dir)
}

// uvFlag decides user verification: it fails when uv is required and the badge cannot verify,
// and otherwise reports whether the UV flag is set.
func uvFlag(badgeUV bool, uv UserVerification) (byte, error) {
	switch {
	case uv == UVRequired && !badgeUV:
		return 0, ErrUVUnavailable
	case badgeUV && uv != UVDiscouraged:
		return flagUV, nil
	default:
		return 0, nil
	}
}

func checkCommon(rpID string, clientDataHash []byte) error {
	if rpID == "" {
		return fmt.Errorf("%w: empty rpId", ErrInvalidRequest)
	}
	if len(clientDataHash) != 32 {
		return fmt.Errorf("%w: clientDataHash is %d bytes, want 32", ErrInvalidRequest, len(clientDataHash))
	}
	return nil
}

// MakeCredential implements Authenticator. It creates an ES256 credential, stores it in the
// badge file (creating the file on the first registration) and returns its attestation object:
// flags UP and AT, UV when verified, BE and BS clear, sign counter 0. A resident credential
// replaces an earlier resident one of the same relying party and user handle, as CTAP2
// requires.
func (s *Soft) MakeCredential(ctx context.Context, req CreateRequest) (CreateResult, error) {
	if err := ctx.Err(); err != nil {
		return CreateResult{}, err
	}
	if err := checkCommon(req.RPID, req.ClientDataHash); err != nil {
		return CreateResult{}, err
	}
	if len(req.UserHandle) == 0 || len(req.UserHandle) > maxUserHandle {
		return CreateResult{}, fmt.Errorf("%w: user handle is %d bytes, want 1 to %d", ErrInvalidRequest, len(req.UserHandle), maxUserHandle)
	}
	if len(req.Algorithms) > 0 && !slices.Contains(req.Algorithms, ES256) {
		return CreateResult{}, fmt.Errorf("%w: offered %v, have ES256 (-7)", ErrUnsupportedAlgorithm, req.Algorithms)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lock(ctx, true)
	if err != nil {
		return CreateResult{}, err
	}
	defer unlock()
	b, err := s.loadOrNew()
	if err != nil {
		return CreateResult{}, err
	}
	for _, c := range b.Credentials {
		if c.RPID == req.RPID && slices.ContainsFunc(req.ExcludeCredentialIDs, func(id []byte) bool { return bytes.Equal(id, c.ID) }) {
			return CreateResult{}, ErrCredentialExcluded
		}
	}
	uv, err := uvFlag(b.UserVerification, req.UserVerification)
	if err != nil {
		return CreateResult{}, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return CreateResult{}, fmt.Errorf("generate key: %w", err)
	}
	priv, err := key.Bytes()
	if err != nil {
		return CreateResult{}, fmt.Errorf("encode key: %w", err)
	}
	id := make([]byte, credentialIDLen)
	_, _ = rand.Read(id) // never fails

	cose, err := s.cbor.coseKey(&key.PublicKey)
	if err != nil {
		return CreateResult{}, err
	}
	aaguid, err := parseAAGUID(b.AAGUID)
	if err != nil {
		return CreateResult{}, err
	}
	const counter = 0
	authData := authenticatorData(req.RPID, flagUP|flagAT|uv, counter, attestedCredentialData(aaguid, id, cose))
	att, err := s.cbor.attest(AttestationFormat(b.Attestation), authData, req.ClientDataHash, key, s.opts.Batch)
	if err != nil {
		return CreateResult{}, err
	}

	if req.ResidentKey {
		b.Credentials = slices.DeleteFunc(b.Credentials, func(c credential) bool {
			return c.Discoverable && c.RPID == req.RPID && bytes.Equal(c.UserHandle, req.UserHandle)
		})
	}
	b.Credentials = append(b.Credentials, credential{
		ID:              id,
		RPID:            req.RPID,
		UserHandle:      slices.Clone(req.UserHandle),
		UserName:        req.UserName,
		UserDisplayName: req.UserDisplayName,
		Discoverable:    req.ResidentKey,
		PrivateKey:      priv,
		SignCount:       counter,
	})
	if err := s.save(b); err != nil {
		return CreateResult{}, err
	}
	return CreateResult{
		CredentialID:      id,
		AttestationObject: att,
		Transports:        slices.Clone(b.Transports),
		Discoverable:      req.ResidentKey,
	}, nil
}

// GetAssertion implements Authenticator. With an allow list it uses the first listed
// credential the badge holds for req.RPID; with an empty one, the most recently created
// resident credential for req.RPID. It increments that credential's sign counter and writes
// the badge file before returning; if the write fails no assertion is returned.
func (s *Soft) GetAssertion(ctx context.Context, req GetRequest) (GetResult, error) {
	if err := ctx.Err(); err != nil {
		return GetResult{}, err
	}
	if err := checkCommon(req.RPID, req.ClientDataHash); err != nil {
		return GetResult{}, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lock(ctx, false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // no directory: no badge file either
		return GetResult{}, err
	}
	if unlock != nil {
		defer unlock()
	}
	b, err := s.load()
	if errors.Is(err, fs.ErrNotExist) {
		if req.UserVerification == UVRequired && !s.opts.UserVerification {
			return GetResult{}, ErrUVUnavailable
		}
		return GetResult{}, ErrNoCredentials
	}
	if err != nil {
		return GetResult{}, err
	}
	uv, err := uvFlag(b.UserVerification, req.UserVerification)
	if err != nil {
		return GetResult{}, err
	}
	i := b.find(req.RPID, req.AllowCredentialIDs)
	if i < 0 {
		return GetResult{}, ErrNoCredentials
	}
	c := &b.Credentials[i]
	if c.SignCount == math.MaxUint32 {
		return GetResult{}, fmt.Errorf("%w: sign counter exhausted", ErrInvalidBadge)
	}
	key, err := c.key()
	if err != nil {
		return GetResult{}, err
	}
	if err := s.count(b, c); err != nil {
		return GetResult{}, err
	}
	counter := c.SignCount
	if b.NoCounter {
		counter = 0
	}
	authData := authenticatorData(req.RPID, flagUP|uv, counter, nil)
	sig, err := sign(key, authData, req.ClientDataHash)
	if err != nil {
		return GetResult{}, err
	}
	res := GetResult{CredentialID: slices.Clone(c.ID), AuthenticatorData: authData, Signature: sig}
	if c.Discoverable {
		res.UserHandle = slices.Clone(c.UserHandle)
	}
	return res, nil
}

// find returns the index of the credential answering a request for rpID with the given allow
// list, or -1.
func (b *badge) find(rpID string, allow [][]byte) int {
	if len(allow) > 0 {
		for _, id := range allow {
			for i, c := range b.Credentials {
				if c.RPID == rpID && bytes.Equal(c.ID, id) {
					return i
				}
			}
		}
		return -1
	}
	for i := len(b.Credentials) - 1; i >= 0; i-- {
		if c := b.Credentials[i]; c.Discoverable && c.RPID == rpID {
			return i
		}
	}
	return -1
}
