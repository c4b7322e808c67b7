package authenticator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

func TestBadgeFileMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "badges")
	badge := newTestSoft(t, dir, "ana", SoftOptions{})
	if _, err := os.Stat(badge.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("badge file exists before the first registration: %v", err)
	}
	rp := newTestRP(t)
	if _, err := rp.register(rp.user("ana"), badge); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rp.login(badge); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{badge.Path(): 0o600, dir: 0o700 | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "ana.json" {
		t.Errorf("dir holds %v, want only ana.json (no temporary files)", entries)
	}
}

func TestCounterPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	rp := newTestRP(t)
	if _, err := rp.register(rp.user("ana"), newTestSoft(t, dir, "ana", SoftOptions{})); err != nil {
		t.Fatal(err)
	}
	for want := uint32(1); want <= 4; want++ {
		badge := newTestSoft(t, dir, "ana", SoftOptions{}) // a fresh Soft for every tap, as the agent does
		_, cred, err := rp.login(badge)
		if err != nil {
			t.Fatal(err)
		}
		if cred.Authenticator.SignCount != want || cred.Authenticator.CloneWarning {
			t.Fatalf("tap %d: counter %d clone warning %v", want, cred.Authenticator.SignCount, cred.Authenticator.CloneWarning)
		}
	}
	b, err := readBadge(filepath.Join(dir, "ana.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Credentials[0].SignCount; got != 4 {
		t.Errorf("file signCount = %d, want 4", got)
	}
}

// TestNoCounter: a badge made with NoCounter presents a sign counter of 0 in every assertion,
// also when opened again without the option (it is the badge's, kept in its file), and the
// relying party, seeing 0 stored and presented, raises no clone warning.
func TestNoCounter(t *testing.T) {
	dir := t.TempDir()
	rp := newTestRP(t)
	if _, err := rp.register(rp.user("ana"), newTestSoft(t, dir, "ana", SoftOptions{NoCounter: true})); err != nil {
		t.Fatal(err)
	}
	for tap := range 3 {
		_, cred, err := rp.login(newTestSoft(t, dir, "ana", SoftOptions{}))
		if err != nil {
			t.Fatal(err)
		}
		if cred.Authenticator.SignCount != 0 || cred.Authenticator.CloneWarning {
			t.Fatalf("tap %d: counter %d clone warning %v, want 0 and none", tap, cred.Authenticator.SignCount, cred.Authenticator.CloneWarning)
		}
	}
}

// TestCounterBlock: a badge with CounterBlock writes its file once per block, the file always
// holds a counter at or above every one signed, and a badge reopened after some taps (a
// restarted or crashed simulator) goes on above them, so the relying party never sees a
// counter go back.
func TestCounterBlock(t *testing.T) {
	dir := t.TempDir()
	rp := newTestRP(t)
	opts := SoftOptions{CounterBlock: 8}
	badge := newTestSoft(t, dir, "ana", opts)
	if _, err := rp.register(rp.user("ana"), badge); err != nil {
		t.Fatal(err)
	}
	fileCounter := func() uint32 {
		t.Helper()
		b, err := readBadge(badge.Path())
		if err != nil {
			t.Fatal(err)
		}
		return b.Credentials[0].SignCount
	}
	writes, last := 0, fileCounter()
	for want := uint32(1); want <= 20; want++ {
		_, cred, err := rp.login(badge)
		if err != nil {
			t.Fatal(err)
		}
		if cred.Authenticator.SignCount != want || cred.Authenticator.CloneWarning {
			t.Fatalf("tap %d: counter %d clone warning %v", want, cred.Authenticator.SignCount, cred.Authenticator.CloneWarning)
		}
		if got := fileCounter(); got != last {
			writes, last = writes+1, got
		}
		if last < want {
			t.Fatalf("tap %d: the file holds %d, below a counter already signed", want, last)
		}
	}
	if writes != 3 || last != 24 {
		t.Errorf("20 taps wrote the file %d times, leaving %d; want 3 writes (at 1, 9 and 17) leaving 24", writes, last)
	}

	// Reopen after the 20th tap: the next counter comes after the reserved block.
	reopened := newTestSoft(t, dir, "ana", opts)
	_, cred, err := rp.login(reopened)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Authenticator.SignCount != 25 || cred.Authenticator.CloneWarning {
		t.Fatalf("after reopening: counter %d clone warning %v, want 25 and no warning", cred.Authenticator.SignCount, cred.Authenticator.CloneWarning)
	}
	if got := fileCounter(); got != 32 {
		t.Errorf("after reopening the file holds %d, want 32", got)
	}
}

func TestClonedBadgeIsDetected(t *testing.T) {
	dir := t.TempDir()
	rp := newTestRP(t)
	orig := newTestSoft(t, dir, "ana", SoftOptions{})
	if _, err := rp.register(rp.user("ana"), orig); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rp.login(orig); err != nil {
		t.Fatal(err)
	}

	// Clone: copy the badge file, then use both copies.
	data, err := os.ReadFile(orig.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ana-clone.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	clone := newTestSoft(t, dir, "ana-clone", SoftOptions{})

	_, cred, err := rp.login(orig)
	if err != nil || cred.Authenticator.CloneWarning || cred.Authenticator.SignCount != 2 {
		t.Fatalf("original: %v, counter %d, clone warning %v", err, cred.Authenticator.SignCount, cred.Authenticator.CloneWarning)
	}
	who, cred, err := rp.login(clone)
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	if who.name != "ana" || !cred.Authenticator.CloneWarning {
		t.Fatalf("clone: user %s, clone warning %v; want ana with a clone warning", who.name, cred.Authenticator.CloneWarning)
	}
}

// TestManyRegistrations guards against unpadded COSE coordinates: about 1 key in 128 has an x
// or y whose top byte is zero, which go-webauthn rejects unless it is encoded as 32 bytes.
func TestManyRegistrations(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	rp := newTestRP(t)
	ana := rp.user("ana")
	badge := newTestSoft(t, t.TempDir(), "ana", SoftOptions{NoSync: true})
	padded := 0
	for i := range n {
		cred, err := rp.register(ana, badge)
		if err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
		key, err := webauthncose.ParsePublicKey(cred.PublicKey)
		if err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
		ec := key.(webauthncose.EC2PublicKeyData)
		if ec.XCoord[0] == 0 || ec.YCoord[0] == 0 {
			padded++
			// The padded key must sign too.
			if _, got, err := rp.login(badge); err != nil || !bytes.Equal(got.ID, cred.ID) {
				t.Fatalf("login with padded key %d: %v", i, err)
			}
		}
		ana.creds = ana.creds[len(ana.creds)-1:] // the badge replaced its resident credential
	}
	t.Logf("%d registrations, %d with a leading zero coordinate byte", n, padded)
}

func TestCOSEKeyEncoding(t *testing.T) {
	enc, err := newEncoder()
	if err != nil {
		t.Fatal(err)
	}
	// Scalar 40393: its public key's x begins with two zero bytes (x = 00003f5f…), which an
	// encoder dropping leading zeros would shorten to 30 bytes.
	c := credential{PrivateKey: mustB64(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAnck")}
	key, err := c.key()
	if err != nil {
		t.Fatal(err)
	}
	cose, err := enc.coseKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// CTAP2 canonical order 1, 3, -1, -2, -3; x and y as 32-byte strings (0x58 0x20).
	wantPrefix := []byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20}
	if !bytes.HasPrefix(cose, wantPrefix) || len(cose) != len(wantPrefix)+32+3+32 || cose[10+32] != 0x22 || cose[10+32+1] != 0x58 || cose[10+32+2] != 0x20 {
		t.Fatalf("COSE key = %x", cose)
	}
	if cose[10] != 0 || cose[11] != 0 {
		t.Fatalf("x = %x, want leading zeros kept", cose[10:42])
	}
	if _, err := webauthncose.ParsePublicKey(cose); err != nil {
		t.Fatalf("go-webauthn rejects the key: %v", err)
	}

	att, err := enc.attest(AttestationNone, []byte{1, 2, 3}, make([]byte, 32), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	// {"fmt": "none", "attStmt": {}, "authData": h'010203'}
	want := []byte{0xa3, 0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e', 0x67, 'a', 't', 't', 'S', 't', 'm', 't', 0xa0, 0x68, 'a', 'u', 't', 'h', 'D', 'a', 't', 'a', 0x43, 1, 2, 3}
	if !bytes.Equal(att, want) {
		t.Fatalf("attestation object = %x, want %x", att, want)
	}
}

func mustB64(t *testing.T, s string) b64u {
	t.Helper()
	var b b64u
	if err := b.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSoftErrors(t *testing.T) {
	hash := make([]byte, 32)
	ctx := t.Context()
	dir := t.TempDir()
	badge := newTestSoft(t, dir, "ana", SoftOptions{})
	create := CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u1"), ResidentKey: true}

	if _, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash}); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("fresh badge: %v, want ErrNoCredentials", err)
	}
	res, err := badge.MakeCredential(ctx, create)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := newEncoder()
	if err != nil {
		t.Fatal(err)
	}
	att, err := enc.parseAttestation(res.AttestationObject)
	if err != nil {
		t.Fatal(err)
	}
	if flags := att.authData[32]; flags != flagUP|flagAT || flags&(flagBE|flagBS|flagED|flagUV) != 0 {
		t.Errorf("registration flags = %08b, want UP|AT only", flags)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"other rp", func() error {
			_, err := badge.GetAssertion(ctx, GetRequest{RPID: "other.example", ClientDataHash: hash})
			return err
		}, ErrNoCredentials},
		{"unknown allow list", func() error {
			_, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash, AllowCredentialIDs: [][]byte{[]byte("nope")}})
			return err
		}, ErrNoCredentials},
		{"excluded", func() error {
			req := create
			req.ExcludeCredentialIDs = [][]byte{[]byte("x"), res.CredentialID}
			_, err := badge.MakeCredential(ctx, req)
			return err
		}, ErrCredentialExcluded},
		{"unsupported algorithm", func() error {
			req := create
			req.Algorithms = []COSEAlgorithm{-257, -8}
			_, err := badge.MakeCredential(ctx, req)
			return err
		}, ErrUnsupportedAlgorithm},
		{"short client data hash", func() error {
			_, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash[:31]})
			return err
		}, ErrInvalidRequest},
		{"long user handle", func() error {
			req := create
			req.UserHandle = make([]byte, 65)
			_, err := badge.MakeCredential(ctx, req)
			return err
		}, ErrInvalidRequest},
		{"uv required", func() error {
			_, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash, UserVerification: UVRequired})
			return err
		}, ErrUVUnavailable},
		{"canceled", func() error {
			_, err := badge.GetAssertion(canceled, GetRequest{RPID: testRPID, ClientDataHash: hash})
			return err
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCredentialSelection(t *testing.T) {
	ctx := t.Context()
	hash := make([]byte, 32)
	badge := newTestSoft(t, t.TempDir(), "shared", SoftOptions{})
	mk := func(user string, rk bool) []byte {
		res, err := badge.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte(user), ResidentKey: rk})
		if err != nil {
			t.Fatal(err)
		}
		return res.CredentialID
	}
	a1 := mk("a", true)
	b := mk("b", true)
	c := mk("c", false) // not discoverable
	a2 := mk("a", true) // replaces a1

	get := func(allow ...[]byte) GetResult {
		res, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash, AllowCredentialIDs: allow})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := get(); !bytes.Equal(res.CredentialID, a2) || string(res.UserHandle) != "a" {
		t.Errorf("discoverable: got %x/%q, want the newest resident credential %x", res.CredentialID, res.UserHandle, a2)
	}
	if res := get(c); !bytes.Equal(res.CredentialID, c) || len(res.UserHandle) != 0 {
		t.Errorf("allow [c]: got %x/%q, want %x without user handle", res.CredentialID, res.UserHandle, c)
	}
	if res := get([]byte("unknown"), b, c); !bytes.Equal(res.CredentialID, b) {
		t.Errorf("allow [unknown b c]: got %x, want %x", res.CredentialID, b)
	}
	if _, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash, AllowCredentialIDs: [][]byte{a1}}); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("replaced credential: %v, want ErrNoCredentials", err)
	}
}

func TestConcurrentAssertions(t *testing.T) {
	ctx := t.Context()
	hash := make([]byte, 32)
	badge := newTestSoft(t, t.TempDir(), "ana", SoftOptions{NoSync: true})
	if _, err := badge.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	counters := make(chan uint32, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if n, ok := assertedCounter(t, badge, hash); ok {
				counters <- n
			}
		})
	}
	wg.Wait()
	close(counters)
	seen := map[uint32]bool{}
	for c := range counters {
		if seen[c] || c < 1 || c > n {
			t.Fatalf("counter %d repeated or out of range", c)
		}
		seen[c] = true
	}
}

func TestClientRefuses(t *testing.T) {
	rp := newTestRP(t)
	badge := newTestSoft(t, t.TempDir(), "ana", SoftOptions{})
	j, _ := rp.beginRegistration(rp.user("ana"))
	tests := []struct {
		name, origin string
		options      []byte
		want         error
	}{
		{"origin of another site", "https://example.com", j, ErrSecurity},
		{"plain http", "http://kiosk.example", j, ErrSecurity},
		{"origin with path", "https://localhost:8443/login", j, ErrSecurity},
		{"not json", testOrigin, []byte("{"), ErrInvalidOptions},
		{"no user id", testOrigin, []byte(`{"publicKey":{"rp":{"id":"localhost"},"challenge":"AAAAAAAAAAAAAAAAAAAAAA"}}`), ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Register(t.Context(), badge, tt.origin, tt.options); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(badge.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused request reached the badge: %v", err)
	}
}

func TestClientJSON(t *testing.T) {
	rp := newTestRP(t)
	badge := newTestSoft(t, t.TempDir(), "ana", SoftOptions{})
	// Bare options (no "publicKey" wrapper) with credProps, as some hubs send them.
	creation, _, err := rp.wa.BeginRegistration(rp.user("ana"), webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		t.Fatal(err)
	}
	creation.Response.Extensions.CredProps = true
	j, err := json.Marshal(creation.Response)
	if err != nil {
		t.Fatal(err)
	}
	body, err := Register(t.Context(), badge, testOrigin, j)
	if err != nil {
		t.Fatal(err)
	}
	var resp registrationResponseJSON
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(resp.ClientExtensionResults); string(got) != `{"credProps":{"rk":true}}` {
		t.Errorf("clientExtensionResults = %s", got)
	}
	want := `{"type":"webauthn.create","challenge":"` + creation.Response.Challenge.String() + `","origin":"https://localhost:8443","crossOrigin":false}`
	if string(resp.Response.ClientDataJSON) != want {
		t.Errorf("clientDataJSON = %s\nwant %s", resp.Response.ClientDataJSON, want)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Response.CollectedClientData.CrossOrigin || parsed.AuthenticatorAttachment != protocol.CrossPlatform {
		t.Errorf("parsed = %+v", parsed.Response.CollectedClientData)
	}
	if h := sha256.Sum256([]byte(testRPID)); !bytes.Equal(parsed.Response.AttestationObject.AuthData.RPIDHash, h[:]) {
		t.Errorf("rpIdHash = %x", parsed.Response.AttestationObject.AuthData.RPIDHash)
	}
}

func BenchmarkGetAssertion(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts SoftOptions
	}{{"fsync", SoftOptions{}}, {"nosync", SoftOptions{NoSync: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			hash := make([]byte, 32)
			badge := newTestSoft(b, b.TempDir(), "ana", bc.opts)
			if _, err := badge.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
				b.Fatal(err)
			}
			req := GetRequest{RPID: testRPID, ClientDataHash: hash}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := badge.GetAssertion(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBatchAttestation: a badge with a model's batch key attests with it
// and sends the certificate chain; a batch without a key or chain is an
// error, and so is a model attestation for a malformed AAGUID.
func TestBatchAttestation(t *testing.T) {
	const aaguid = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	batch, root, err := NewModelAttestation(aaguid, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(root, []byte("BEGIN CERTIFICATE")) {
		t.Fatalf("root is not PEM: %q", root)
	}
	hash := make([]byte, 32)
	create := CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u1"), ResidentKey: true}
	res, err := newTestSoft(t, t.TempDir(), "ana", SoftOptions{AAGUID: aaguid, Batch: batch}).MakeCredential(t.Context(), create)
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Fmt     string `cbor:"fmt"`
		AttStmt struct {
			Alg int64    `cbor:"alg"`
			Sig []byte   `cbor:"sig"`
			X5c [][]byte `cbor:"x5c"`
		} `cbor:"attStmt"`
	}
	if err := cbor.Unmarshal(res.AttestationObject, &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Fmt != "packed" || len(obj.AttStmt.X5c) != 1 || !bytes.Equal(obj.AttStmt.X5c[0], batch.Chain[0]) || len(obj.AttStmt.Sig) == 0 {
		t.Errorf("attestation = fmt %q, %d certificates; want packed with the batch's chain", obj.Fmt, len(obj.AttStmt.X5c))
	}
	for _, b := range []*BatchAttestation{{Chain: batch.Chain}, {Key: batch.Key}} {
		_, err := newTestSoft(t, t.TempDir(), "bo", SoftOptions{Batch: b}).MakeCredential(t.Context(), create)
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("batch %+v: %v, want ErrInvalidRequest", b, err)
		}
	}
	if _, _, err := NewModelAttestation("not-a-uuid", "Acme"); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("malformed AAGUID: %v, want ErrInvalidRequest", err)
	}
}

// assertedCounter signs hash with badge and returns the sign counter of the
// assertion; on failure it reports the error (t.Error, so it may run on any
// goroutine) and returns false.
func assertedCounter(t *testing.T, badge *Soft, hash []byte) (uint32, bool) {
	res, err := badge.GetAssertion(t.Context(), GetRequest{RPID: testRPID, ClientDataHash: hash})
	if err != nil {
		t.Error(err)
		return 0, false
	}
	var ad protocol.AuthenticatorData
	if err := ad.Unmarshal(res.AuthenticatorData); err != nil {
		t.Error(err)
		return 0, false
	}
	return ad.Counter, true
}
