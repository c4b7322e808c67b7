//go:build fido2

package authenticator

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/go-cmp/cmp"
	"github.com/keys-pub/go-libfido2"
	pkgerrors "github.com/pkg/errors"
)

// What these tests cover, and what they do not.
//
// No security key was attached where they were written, so nothing here proves that a real
// key's signatures or attestations come out right: that needs a key (see agent/README.md,
// "Hardware keys"). What is tested is Shiftgate's side of the binding: request → libfido2
// option mapping, libfido2 error → sentinel mapping, the "no device" path through the real
// libfido2, cancellation, and the rebuilding of WebAuthn structures from libfido2's parts.
// For the last, fakeKey plays libfido2 with a Soft badge behind it, and go-webauthn verifies
// the result; the signatures it checks are Soft's, not a key's.

var testCDH = bytes.Repeat([]byte{7}, 32)

func validCreate() CreateRequest {
	return CreateRequest{
		RPID: "shiftgate.example", ClientDataHash: testCDH, UserHandle: []byte("uid-ana"),
		UserName: "ana", ResidentKey: true,
	}
}

func TestFIDO2ErrorMapping(t *testing.T) {
	tests := []struct {
		name     string
		err      error // as go-libfido2 returns it: wrapped with github.com/pkg/errors
		sentinel error
		hint     string
	}{
		{name: "no credentials", err: libfido2.ErrNoCredentials, sentinel: ErrNoCredentials},
		{name: "invalid credential (CTAP2.0 unknown allow list)", err: libfido2.ErrInvalidCredential, sentinel: ErrNoCredentials},
		{name: "PIN required", err: libfido2.ErrPinRequired, sentinel: ErrUVUnavailable},
		{name: "PIN not set", err: libfido2.ErrPinNotSet, sentinel: ErrUVUnavailable},
		{name: "unsupported option", err: libfido2.ErrUnsupportedOption, sentinel: ErrUVUnavailable},
		{name: "PIN auth blocked", err: libfido2.ErrPinAuthBlocked, sentinel: ErrUVUnavailable},
		{name: "PIN blocked", err: libfido2.Error{Code: 0x32}, sentinel: ErrUVUnavailable},
		{name: "UV blocked", err: libfido2.Error{Code: 0x3c}, sentinel: ErrUVUnavailable},
		{name: "credential excluded", err: libfido2.Error{Code: 0x19}, sentinel: ErrCredentialExcluded},
		{name: "unsupported algorithm", err: libfido2.Error{Code: 0x26}, sentinel: ErrUnsupportedAlgorithm},
		{name: "invalid parameter", err: libfido2.Error{Code: 0x02}, sentinel: ErrInvalidRequest},
		{name: "invalid argument", err: libfido2.ErrInvalidArgument, sentinel: ErrInvalidRequest},
		{name: "missing parameter", err: libfido2.ErrMissingParameter, sentinel: ErrInvalidRequest},
		{name: "invalid option", err: libfido2.ErrInvalidOption, sentinel: ErrInvalidRequest},
		{name: "wrong PIN", err: libfido2.ErrPinInvalid, hint: "the key rejected the PIN"},
		{name: "UV invalid", err: libfido2.Error{Code: 0x3f}, hint: "did not verify the user"},
		{name: "operation denied", err: libfido2.ErrOperationDenied, hint: "did not verify the user"},
		{name: "user action timeout", err: libfido2.Error{Code: 0x2f}, sentinel: ErrTouchTimeout, hint: "timed out waiting for a touch"},
		{name: "action timeout", err: libfido2.ErrActionTimeout, sentinel: ErrTouchTimeout, hint: "timed out waiting for a touch"},
		{name: "user presence required (U2F)", err: libfido2.ErrUserPresenceRequired, sentinel: ErrTouchTimeout, hint: "timed out waiting for a touch"},
		{name: "keepalive cancel", err: libfido2.ErrKeepaliveCancel, hint: "cancelled"},
		{name: "tx", err: libfido2.ErrTX, hint: "lost contact with the key"},
		{name: "rx", err: libfido2.ErrRX, hint: "lost contact with the key"},
		{name: "key store full", err: libfido2.Error{Code: 0x28}, sentinel: ErrKeyStoreFull, hint: "no room"},
		{name: "unknown code", err: libfido2.Error{Code: 0x7e}},
		{name: "not a libfido2 error", err: errors.New("boom")},
	}
	sentinels := []error{ErrNoCredentials, ErrUVUnavailable, ErrCredentialExcluded, ErrUnsupportedAlgorithm, ErrInvalidRequest, ErrTouchTimeout, ErrKeyStoreFull}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := pkgerrors.Wrap(tt.err, "failed to get assertion")
			got := mapFIDO2Error(in)
			if !errors.Is(got, tt.err) {
				t.Errorf("mapped error %q lost the libfido2 error", got)
			}
			for _, s := range sentinels {
				if want := s == tt.sentinel; errors.Is(got, s) != want {
					t.Errorf("errors.Is(%q, %q) = %v, want %v", got, s, !want, want)
				}
			}
			if !strings.Contains(got.Error(), tt.hint) {
				t.Errorf("mapped error %q does not say %q", got, tt.hint)
			}
		})
	}
	if mapFIDO2Error(nil) != nil {
		t.Error("mapFIDO2Error(nil) != nil")
	}
}

func TestFIDO2NoDevice(t *testing.T) {
	const want = "no FIDO2 device found: plug in a security key or check the reader"
	check := func(t *testing.T, f *FIDO2) {
		t.Helper()
		_, err := f.GetAssertion(t.Context(), GetRequest{RPID: "shiftgate.example", ClientDataHash: testCDH})
		if !errors.Is(err, ErrNoDevice) || err.Error() != want {
			t.Errorf("GetAssertion: %v, want %q", err, want)
		}
		_, err = f.MakeCredential(t.Context(), validCreate())
		if !errors.Is(err, ErrNoDevice) || err.Error() != want {
			t.Errorf("MakeCredential: %v, want %q", err, want)
		}
	}
	t.Run("empty device list", func(t *testing.T) {
		f := NewFIDO2(FIDO2Options{})
		f.locate = func() ([]string, error) { return nil, nil }
		check(t, f)
	})
	t.Run("real libfido2", func(t *testing.T) {
		// Goes through fido_dev_info_manifest on this machine: no USB key, no NFC reader.
		paths, err := deviceLocations()
		if err != nil {
			t.Fatalf("libfido2 device list: %v", err)
		}
		if len(paths) > 0 {
			t.Skipf("a FIDO2 device is present (%v); this test needs none", paths)
		}
		check(t, NewFIDO2(FIDO2Options{}))
	})
	t.Run("device list fails", func(t *testing.T) {
		f := NewFIDO2(FIDO2Options{})
		f.locate = func() ([]string, error) { return nil, pkgerrors.Errorf("fido_dev_info_manifest error -9") }
		if _, err := f.GetAssertion(t.Context(), GetRequest{RPID: "x", ClientDataHash: testCDH}); err == nil || errors.Is(err, ErrNoDevice) {
			t.Errorf("GetAssertion: %v, want a list error", err)
		}
	})
}

func TestFIDO2RequestChecksComeFirst(t *testing.T) {
	f := NewFIDO2(FIDO2Options{})
	f.locate = func() ([]string, error) { t.Error("device looked up for an invalid request"); return nil, nil }
	for _, tt := range []struct {
		name   string
		mutate func(*CreateRequest)
		want   error
	}{
		{name: "no rp id", mutate: func(r *CreateRequest) { r.RPID = "" }, want: ErrInvalidRequest},
		{name: "short hash", mutate: func(r *CreateRequest) { r.ClientDataHash = testCDH[:31] }, want: ErrInvalidRequest},
		{name: "no user handle", mutate: func(r *CreateRequest) { r.UserHandle = nil }, want: ErrInvalidRequest},
		{name: "long user handle", mutate: func(r *CreateRequest) { r.UserHandle = make([]byte, 65) }, want: ErrInvalidRequest},
		{name: "no user name", mutate: func(r *CreateRequest) { r.UserName = "" }, want: ErrInvalidRequest},
		{name: "RS256 only", mutate: func(r *CreateRequest) { r.Algorithms = []COSEAlgorithm{-257} }, want: ErrUnsupportedAlgorithm},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := validCreate()
			tt.mutate(&req)
			if _, err := f.MakeCredential(t.Context(), req); !errors.Is(err, tt.want) {
				t.Errorf("MakeCredential: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := f.GetAssertion(t.Context(), GetRequest{RPID: "x", ClientDataHash: nil}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("GetAssertion without hash: %v", err)
	}
}

func TestCapsFromInfo(t *testing.T) {
	info := &libfido2.DeviceInfo{Options: []libfido2.Option{
		{Name: "rk", Value: libfido2.True}, {Name: "up", Value: libfido2.True},
		{Name: "clientPin", Value: libfido2.False}, {Name: "uv", Value: libfido2.True},
		{Name: "makeCredUvNotRqd", Value: libfido2.True},
	}}
	got := capsFromInfo(info)
	want := deviceCaps{fido2: true, rk: true, uv: true, makeCredUVNotRqd: true}
	if got != want {
		t.Errorf("capsFromInfo = %+v, want %+v", got, want)
	}
	if got := capsFromInfo(nil); got != (deviceCaps{}) {
		t.Errorf("capsFromInfo(nil) = %+v", got)
	}
}

func TestPlanUV(t *testing.T) {
	var (
		u2f      = deviceCaps{}
		bare     = deviceCaps{fido2: true, rk: true}
		pinKey   = deviceCaps{fido2: true, rk: true, clientPIN: true}
		bioKey   = deviceCaps{fido2: true, rk: true, clientPIN: true, uv: true}
		alwaysUV = deviceCaps{fido2: true, rk: true, clientPIN: true, alwaysUV: true}
	)
	tests := []struct {
		name    string
		caps    deviceCaps
		uv      UserVerification
		must    bool
		want    uvPlan
		wantErr error
	}{
		{name: "bare key, preferred: presence only", caps: bare, uv: UVPreferred, want: uvPlan{}},
		{name: "bare key, required", caps: bare, uv: UVRequired, wantErr: ErrUVUnavailable},
		{name: "U2F key, required", caps: u2f, uv: UVRequired, wantErr: ErrUVUnavailable},
		{name: "PIN key, required", caps: pinKey, uv: UVRequired, want: uvPlan{needPIN: true}},
		{name: "PIN key, preferred", caps: pinKey, uv: UVPreferred, want: uvPlan{needPIN: true}},
		{name: "PIN key, discouraged", caps: pinKey, uv: UVDiscouraged, want: uvPlan{}},
		{name: "PIN key, discouraged but the key insists", caps: pinKey, uv: UVDiscouraged, must: true, want: uvPlan{needPIN: true}},
		{name: "alwaysUv key, discouraged", caps: alwaysUV, uv: UVDiscouraged, want: uvPlan{needPIN: true}},
		{name: "fingerprint key, required: built-in UV, no PIN", caps: bioKey, uv: UVRequired, want: uvPlan{uv: libfido2.True}},
		{name: "fingerprint key, discouraged", caps: bioKey, uv: UVDiscouraged, want: uvPlan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planUV(tt.caps, tt.uv, tt.must)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("plan = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPlanCreateOptions(t *testing.T) {
	pinKey := deviceCaps{fido2: true, rk: true, clientPIN: true}
	tests := []struct {
		name      string
		caps      deviceCaps
		resident  bool
		preferred bool
		uv        UserVerification
		want      *libfido2.MakeCredentialOpts
		needPIN   bool
		wantErr   error
	}{
		{name: "resident, bare key", caps: deviceCaps{fido2: true, rk: true}, resident: true,
			want: &libfido2.MakeCredentialOpts{RK: libfido2.True}},
		{name: "non-resident, bare key", caps: deviceCaps{fido2: true, rk: true},
			want: &libfido2.MakeCredentialOpts{}},
		{name: "resident, PIN key, discouraged: the key still wants its PIN", caps: pinKey, resident: true, uv: UVDiscouraged,
			want: &libfido2.MakeCredentialOpts{RK: libfido2.True}, needPIN: true},
		{name: "non-resident, PIN key with makeCredUvNotRqd, discouraged", caps: deviceCaps{fido2: true, clientPIN: true, makeCredUVNotRqd: true}, uv: UVDiscouraged,
			want: &libfido2.MakeCredentialOpts{}},
		{name: "resident, fingerprint key, required", caps: deviceCaps{fido2: true, rk: true, uv: true}, resident: true, uv: UVRequired,
			want: &libfido2.MakeCredentialOpts{RK: libfido2.True, UV: libfido2.True}},
		{name: "resident on a key without rk", caps: deviceCaps{fido2: true}, resident: true, wantErr: ErrResidentKeyUnsupported},
		{name: "resident on a U2F key", caps: deviceCaps{}, resident: true, wantErr: ErrResidentKeyUnsupported},
		{name: "preferred resident on a key without rk: a non-resident one", caps: deviceCaps{fido2: true}, resident: true, preferred: true,
			want: &libfido2.MakeCredentialOpts{}},
		{name: "preferred resident on a PIN key without rk, makeCredUvNotRqd: no PIN needed", caps: deviceCaps{fido2: true, clientPIN: true, makeCredUVNotRqd: true}, resident: true, preferred: true, uv: UVDiscouraged,
			want: &libfido2.MakeCredentialOpts{}},
		{name: "preferred resident on a key with rk", caps: deviceCaps{fido2: true, rk: true}, resident: true, preferred: true,
			want: &libfido2.MakeCredentialOpts{RK: libfido2.True}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validCreate()
			req.ResidentKey, req.ResidentKeyPreferred, req.UserVerification = tt.resident, tt.preferred, tt.uv
			p, err := planCreate(tt.caps, req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, p.makeCredentialOpts()); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if p.needPIN != tt.needPIN {
				t.Errorf("needPIN = %v, want %v", p.needPIN, tt.needPIN)
			}
		})
	}
}

func TestAssertionAndProbeOptions(t *testing.T) {
	if diff := cmp.Diff(&libfido2.AssertionOpts{UV: libfido2.True}, (uvPlan{uv: libfido2.True}).assertionOpts()); diff != "" {
		t.Errorf("assertion options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&libfido2.AssertionOpts{UP: libfido2.False}, excludeProbeOptions()); diff != "" {
		t.Errorf("probe options (-want +got):\n%s", diff)
	}
}

func TestExcludeProbeResult(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		excluded bool
		wantErr  bool
	}{
		{name: "CTAP2 key signed", err: nil, excluded: true},
		{name: "U2F key found it", err: libfido2.ErrUserPresenceRequired, excluded: true},
		{name: "not on this key", err: libfido2.ErrNoCredentials},
		{name: "not on this CTAP2.0 key", err: libfido2.ErrInvalidCredential},
		{name: "up=false unsupported", err: libfido2.ErrUnsupportedOption},
		{name: "up=false invalid", err: libfido2.ErrInvalidOption},
		{name: "alwaysUv key wants a PIN", err: libfido2.ErrPinRequired},
		{name: "key lost", err: libfido2.ErrRX, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.err
			if in != nil {
				in = pkgerrors.Wrap(in, "failed to get assertion")
			}
			excluded, err := excludeProbeResult(in)
			if excluded != tt.excluded || (err != nil) != tt.wantErr {
				t.Errorf("excludeProbeResult = %v, %v; want %v, error %v", excluded, err, tt.excluded, tt.wantErr)
			}
		})
	}
}

func TestCredentialType(t *testing.T) {
	for _, algs := range [][]COSEAlgorithm{nil, {ES256}, {-8, -257, ES256}} {
		if typ, err := credentialType(algs); err != nil || typ != libfido2.ES256 {
			t.Errorf("credentialType(%v) = %v, %v", algs, typ, err)
		}
	}
	if _, err := credentialType([]COSEAlgorithm{-8, -257}); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("EdDSA/RS256 only: %v", err)
	}
}

func TestTransportsForPath(t *testing.T) {
	for path, want := range map[string]string{
		"/dev/hidraw3":                 "usb",
		"nfc:/sys/devices/virtual/nfc": "nfc",
		"pcsc://slot0":                 "nfc",
		`\\?\hid#vid_1050`:             "usb",
	} {
		if got := transportsForPath(path); !slices.Equal(got, []string{want}) {
			t.Errorf("transportsForPath(%q) = %v, want [%s]", path, got, want)
		}
	}
}

func TestDecodeAuthData(t *testing.T) {
	enc, err := newEncoder()
	if err != nil {
		t.Fatal(err)
	}
	raw := authenticatorData("shiftgate.example", flagUP, 5, nil)
	wrapped, _ := cbor.Marshal(raw)
	if got, err := enc.decodeAuthData(wrapped); err != nil || !bytes.Equal(got, raw) {
		t.Errorf("decodeAuthData = %x, %v; want %x", got, err, raw)
	}
	short, _ := cbor.Marshal(raw[:36])
	for name, in := range map[string][]byte{
		"raw, not CBOR": raw,
		"trailing":      append(slices.Clone(wrapped), 0),
		"too short":     short,
		"empty":         nil,
		"a map":         {0xa0},
	} {
		if _, err := enc.decodeAuthData(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecodeAuthData(f *testing.F) {
	enc, err := newEncoder()
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := cbor.Marshal(authenticatorData("shiftgate.example", flagUP, 5, nil))
	f.Add(seed)
	f.Add([]byte{0x58, 0x25})
	f.Fuzz(func(t *testing.T, b []byte) {
		ad, err := enc.decodeAuthData(b)
		if err == nil && len(ad) < 37 {
			t.Fatalf("accepted %d bytes of authenticator data", len(ad))
		}
	})
}

func TestAttestationFromLibfido2(t *testing.T) {
	enc, err := newEncoder()
	if err != nil {
		t.Fatal(err)
	}
	authData := authenticatorData("shiftgate.example", flagUP|flagAT, 0, []byte{1, 2, 3})
	wrapped, _ := cbor.Marshal(authData)
	type stmt struct {
		Alg *int64   `cbor:"alg"`
		Sig []byte   `cbor:"sig"`
		X5c [][]byte `cbor:"x5c"`
	}
	es256 := int64(ES256)
	tests := []struct {
		name    string
		att     libfido2.Attestation
		want    stmt
		wantErr bool
	}{
		{name: "packed self", att: libfido2.Attestation{Format: "packed", Sig: []byte("sig")},
			want: stmt{Alg: &es256, Sig: []byte("sig")}},
		{name: "packed with certificate", att: libfido2.Attestation{Format: "packed", Sig: []byte("sig"), Cert: []byte("cert")},
			want: stmt{Alg: &es256, Sig: []byte("sig"), X5c: [][]byte{[]byte("cert")}}},
		{name: "fido-u2f", att: libfido2.Attestation{Format: "fido-u2f", Sig: []byte("sig"), Cert: []byte("cert")},
			want: stmt{Sig: []byte("sig"), X5c: [][]byte{[]byte("cert")}}},
		{name: "none", att: libfido2.Attestation{Format: "none"}},
		{name: "fido-u2f without certificate", att: libfido2.Attestation{Format: "fido-u2f", Sig: []byte("sig")}, wantErr: true},
		{name: "tpm", att: libfido2.Attestation{Format: "tpm", Sig: []byte("sig")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.att.AuthData = wrapped
			obj, err := enc.attestationFromLibfido2(&tt.att)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var got struct {
				Fmt      string `cbor:"fmt"`
				AttStmt  stmt   `cbor:"attStmt"`
				AuthData []byte `cbor:"authData"`
			}
			if err := enc.dec.Unmarshal(obj, &got); err != nil {
				t.Fatal(err)
			}
			if got.Fmt != tt.att.Format || !bytes.Equal(got.AuthData, authData) {
				t.Errorf("fmt %q authData %x", got.Fmt, got.AuthData)
			}
			if diff := cmp.Diff(tt.want, got.AttStmt); diff != "" {
				t.Errorf("attStmt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssertionFromLibfido2(t *testing.T) {
	enc, err := newEncoder()
	if err != nil {
		t.Fatal(err)
	}
	authData := authenticatorData("shiftgate.example", flagUP, 9, nil)
	wrapped, _ := cbor.Marshal(authData)
	got, err := enc.assertionFromLibfido2(&libfido2.Assertion{AuthDataCBOR: wrapped, Sig: []byte("sig"), User: libfido2.User{ID: []byte("uid")}, CredentialID: []byte("id")}, nil)
	want := GetResult{CredentialID: []byte("id"), AuthenticatorData: authData, Signature: []byte("sig"), UserHandle: []byte("uid")}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
	got, err = enc.assertionFromLibfido2(&libfido2.Assertion{AuthDataCBOR: wrapped, Sig: []byte("sig")}, [][]byte{[]byte("only")})
	if err != nil || !bytes.Equal(got.CredentialID, []byte("only")) || got.UserHandle != nil {
		t.Errorf("omitted credential ID: %+v, %v", got, err)
	}
	if _, err := enc.assertionFromLibfido2(&libfido2.Assertion{AuthDataCBOR: wrapped, Sig: []byte("sig")}, nil); err == nil {
		t.Error("no credential ID and no allow list: no error")
	}
}

// fakeKey stands in for *libfido2.Device: a Soft badge answers, and its output is taken apart
// into libfido2's structures (CBOR-wrapped authData, attStmt split into fmt/sig/x5c), so that
// FIDO2 has to put it back together byte for byte for go-webauthn to accept it. It records what
// FIDO2 asked for.
type fakeKey struct {
	t    *testing.T
	soft *Soft
	info *libfido2.DeviceInfo

	retries int // the PIN retry counter; 0: full

	mu    sync.Mutex
	pins  []string
	mopts []libfido2.MakeCredentialOpts
	aopts []libfido2.AssertionOpts
}

func (k *fakeKey) Info() (*libfido2.DeviceInfo, error) { return k.info, nil }
func (k *fakeKey) Cancel() error                       { return nil }

// RetryCount is the key's PIN retry counter: full unless the test set retries.
func (k *fakeKey) RetryCount() (int, error) {
	if k.retries == 0 {
		return fullPINRetries, nil
	}
	return k.retries, nil
}

func (k *fakeKey) uv(pin string, opt libfido2.OptionValue) UserVerification {
	if pin != "" || opt == libfido2.True {
		return UVRequired
	}
	return UVDiscouraged
}

func (k *fakeKey) MakeCredential(cdh []byte, rp libfido2.RelyingParty, user libfido2.User, typ libfido2.CredentialType, pin string, opts *libfido2.MakeCredentialOpts) (*libfido2.Attestation, error) {
	k.mu.Lock()
	k.pins, k.mopts = append(k.pins, pin), append(k.mopts, *opts)
	k.mu.Unlock()
	if typ != libfido2.ES256 {
		return nil, pkgerrors.Wrap(libfido2.Error{Code: 0x26}, "failed to make credential")
	}
	res, err := k.soft.MakeCredential(k.t.Context(), CreateRequest{
		RPID: rp.ID, RPName: rp.Name, ClientDataHash: cdh, UserHandle: user.ID, UserName: user.Name,
		UserDisplayName: user.DisplayName, ResidentKey: opts.RK == libfido2.True, UserVerification: k.uv(pin, opts.UV),
	})
	if err != nil {
		return nil, err
	}
	var obj struct {
		Fmt      string  `cbor:"fmt"`
		AttStmt  attStmt `cbor:"attStmt"`
		AuthData []byte  `cbor:"authData"`
	}
	if err := cbor.Unmarshal(res.AttestationObject, &obj); err != nil {
		return nil, err
	}
	ad, _ := cbor.Marshal(obj.AuthData)
	return &libfido2.Attestation{AuthData: ad, CredentialID: res.CredentialID, Format: obj.Fmt, Sig: obj.AttStmt.Sig, CredentialType: typ}, nil
}

func (k *fakeKey) Assertion(rpID string, cdh []byte, allow [][]byte, pin string, opts *libfido2.AssertionOpts) (*libfido2.Assertion, error) {
	k.mu.Lock()
	k.pins, k.aopts = append(k.pins, pin), append(k.aopts, *opts)
	k.mu.Unlock()
	res, err := k.soft.GetAssertion(k.t.Context(), GetRequest{RPID: rpID, ClientDataHash: cdh, AllowCredentialIDs: allow, UserVerification: k.uv(pin, opts.UV)})
	if errors.Is(err, ErrNoCredentials) {
		return nil, pkgerrors.Wrap(libfido2.ErrNoCredentials, "failed to get assertion")
	}
	if err != nil {
		return nil, err
	}
	ad, _ := cbor.Marshal(res.AuthenticatorData)
	return &libfido2.Assertion{AuthDataCBOR: ad, Sig: res.Signature, CredentialID: res.CredentialID, User: libfido2.User{ID: res.UserHandle}}, nil
}

func newFakeFIDO2(t *testing.T, opts FIDO2Options, options ...libfido2.Option) (*FIDO2, *fakeKey) {
	t.Helper()
	caps := capsFromInfo(&libfido2.DeviceInfo{Options: options})
	key := &fakeKey{
		t:    t,
		soft: newTestSoft(t, t.TempDir(), "key", SoftOptions{UserVerification: caps.uv || caps.clientPIN}),
		info: &libfido2.DeviceInfo{Options: options},
	}
	f := NewFIDO2(opts)
	f.locate = func() ([]string, error) { return []string{"/dev/hidraw9", "nfc:/second"}, nil }
	f.open = func(path string) (fido2Device, error) {
		if path != "/dev/hidraw9" {
			t.Errorf("opened %s, want the first device", path)
		}
		return key, nil
	}
	return f, key
}

func TestFIDO2ThroughWebAuthn(t *testing.T) {
	rk := libfido2.Option{Name: "rk", Value: libfido2.True}
	pinSet := libfido2.Option{Name: "clientPin", Value: libfido2.True}
	required := webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
		ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
		UserVerification: protocol.VerificationRequired,
	})

	t.Run("register, exclude, discoverable login", func(t *testing.T) {
		f, key := newFakeFIDO2(t, FIDO2Options{}, rk)
		rp := newTestRP(t)
		ana := rp.user("ana")
		cred, err := rp.register(ana, f)
		if err != nil {
			t.Fatal(err)
		}
		if cred.AttestationFormat != "packed" || !slices.Equal(cred.Transport, []protocol.AuthenticatorTransport{"usb"}) {
			t.Errorf("attestation %q transports %v", cred.AttestationFormat, cred.Transport)
		}
		if who, _, err := rp.login(f); err != nil || who != ana {
			t.Fatalf("login: %v as %v", err, who)
		}
		exclude := webauthn.WithExclusions(webauthn.Credentials(ana.creds).CredentialDescriptors())
		if _, err := rp.register(ana, f, exclude); !errors.Is(err, ErrCredentialExcluded) {
			t.Errorf("same key again: %v, want ErrCredentialExcluded", err)
		}
		if diff := cmp.Diff([]libfido2.MakeCredentialOpts{{RK: libfido2.True}}, key.mopts); diff != "" {
			t.Errorf("makeCredential options (-want +got):\n%s", diff)
		}
		// login (preferred UV, nothing to verify with), then the silent exclude probe.
		if diff := cmp.Diff([]libfido2.AssertionOpts{{}, {UP: libfido2.False}}, key.aopts); diff != "" {
			t.Errorf("assertion options (-want +got):\n%s", diff)
		}
	})
	t.Run("no credential for the relying party", func(t *testing.T) {
		f, _ := newFakeFIDO2(t, FIDO2Options{}, rk)
		if _, _, err := newTestRP(t).login(f); !errors.Is(err, ErrNoCredentials) {
			t.Errorf("login: %v, want ErrNoCredentials", err)
		}
	})
	t.Run("PIN key, UV required, PIN supplied", func(t *testing.T) {
		f, key := newFakeFIDO2(t, FIDO2Options{PIN: StaticPIN("4711")}, rk, pinSet)
		rp := newTestRP(t)
		cred, err := rp.register(rp.user("ana"), f, required)
		if err != nil || !cred.Flags.UserVerified {
			t.Fatalf("register: %v, flags %+v", err, cred.Flags)
		}
		if _, _, err := rp.login(f, webauthn.WithUserVerification(protocol.VerificationRequired)); err != nil || !rp.lastFlags.HasUserVerified() {
			t.Fatalf("login: %v, flags %08b", err, rp.lastFlags)
		}
		if !slices.Equal(key.pins, []string{"4711", "4711"}) {
			t.Errorf("PINs sent %q", key.pins)
		}
	})
	t.Run("PIN key, UV required, no PIN", func(t *testing.T) {
		f, key := newFakeFIDO2(t, FIDO2Options{}, rk, pinSet)
		rp := newTestRP(t)
		if _, err := rp.register(rp.user("ana"), f, required); !errors.Is(err, ErrUVUnavailable) {
			t.Errorf("register: %v, want ErrUVUnavailable", err)
		}
		if _, _, err := rp.login(f, webauthn.WithUserVerification(protocol.VerificationRequired)); !errors.Is(err, ErrUVUnavailable) {
			t.Errorf("login: %v, want ErrUVUnavailable", err)
		}
		if len(key.pins) != 0 {
			t.Errorf("the key was asked %d times; want none", len(key.pins))
		}
	})
	t.Run("PIN key with a wrong PIN tried since its last right one", func(t *testing.T) {
		f, key := newFakeFIDO2(t, FIDO2Options{PIN: StaticPIN("4711")}, rk, pinSet)
		rp := newTestRP(t)
		if _, err := rp.register(rp.user("ana"), f, required); err != nil {
			t.Fatal(err)
		}
		key.retries = fullPINRetries - 1
		if _, _, err := rp.login(f, webauthn.WithUserVerification(protocol.VerificationRequired)); !errors.Is(err, ErrUVUnavailable) {
			t.Errorf("login: %v, want ErrUVUnavailable", err)
		}
		if !slices.Equal(key.pins, []string{"4711"}) { // the registration's only
			t.Errorf("PINs sent %q; the shared PIN must not be tried again", key.pins)
		}
	})
	t.Run("PIN source fails", func(t *testing.T) {
		boom := errors.New("prompt dismissed")
		f, _ := newFakeFIDO2(t, FIDO2Options{PIN: func(context.Context) (string, error) { return "", boom }}, rk, pinSet)
		rp := newTestRP(t)
		if _, err := rp.register(rp.user("ana"), f); !errors.Is(err, boom) {
			t.Errorf("register: %v, want the PIN source's error", err)
		}
	})
}

// blockingKey waits for a touch that never comes; Cancel ends the wait as libfido2 does, with
// FIDO_ERR_KEEPALIVE_CANCEL, unless ignoreCancel.
type blockingKey struct {
	fakeKey
	ignoreCancel bool
	once         sync.Once
	cancelled    chan struct{}
}

func (k *blockingKey) Cancel() error {
	if !k.ignoreCancel {
		k.once.Do(func() { close(k.cancelled) })
	}
	return nil
}

func (k *blockingKey) wait() error {
	select {
	case <-k.cancelled:
		return pkgerrors.Wrap(libfido2.ErrKeepaliveCancel, "failed to get assertion")
	case <-time.After(3 * time.Second):
		return libfido2.ErrActionTimeout
	}
}

func (k *blockingKey) Assertion(string, []byte, [][]byte, string, *libfido2.AssertionOpts) (*libfido2.Assertion, error) {
	return nil, k.wait()
}

func TestFIDO2Cancel(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		name := map[bool]string{false: "key acknowledges", true: "key ignores the cancel"}[ignore]
		t.Run(name, func(t *testing.T) {
			key := &blockingKey{ignoreCancel: ignore, cancelled: make(chan struct{})}
			f := NewFIDO2(FIDO2Options{})
			f.cancelGrace = 100 * time.Millisecond
			f.locate = func() ([]string, error) { return []string{"/dev/hidraw0"}, nil }
			f.open = func(string) (fido2Device, error) { return key, nil }
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := f.GetAssertion(ctx, GetRequest{RPID: "shiftgate.example", ClientDataHash: testCDH})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("returned after %v", d)
			}
		})
	}
}

// FIDO2Options.Path picks the presented device rather than the first one, and a device no
// longer listed is ErrNoDevice.
func TestFIDO2Path(t *testing.T) {
	var opened []string
	f := NewFIDO2(FIDO2Options{Path: "nfc:/second"})
	f.locate = func() ([]string, error) { return []string{"/dev/hidraw9", "nfc:/second"}, nil }
	f.open = func(path string) (fido2Device, error) {
		opened = append(opened, path)
		return nil, errors.New("not opened in this test")
	}
	if _, err := f.GetAssertion(t.Context(), GetRequest{RPID: "shiftgate.example", ClientDataHash: testCDH}); err == nil {
		t.Fatal("GetAssertion succeeded without a device")
	}
	if len(opened) != 1 || opened[0] != "nfc:/second" {
		t.Errorf("opened %q, want [nfc:/second]", opened)
	}

	f.opts.Path = "/dev/hidraw2"
	_, err := f.GetAssertion(t.Context(), GetRequest{RPID: "shiftgate.example", ClientDataHash: testCDH})
	if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "/dev/hidraw2 is gone") {
		t.Errorf("GetAssertion on a device that is gone: %v, want ErrNoDevice naming it", err)
	}
	if len(opened) != 1 {
		t.Errorf("opened %q; a device that is gone must not be opened", opened)
	}
}
