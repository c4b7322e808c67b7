package authn

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/authn/mdstest"
)

func signer(t testing.TB) *mdstest.Signer {
	t.Helper()
	s, err := mdstest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func blob(t testing.TB, s *mdstest.Signer, no int, models ...mdstest.Model) []byte {
	t.Helper()
	b, err := s.BLOB(no, time.Now().AddDate(0, 1, 0), models...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseMetadata: a BLOB is taken only whole and only with a valid
// signature under the configured root.
func TestParseMetadata(t *testing.T) {
	const acme = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	_, root := model(t, acme, "Acme Keys")
	s := signer(t)
	good := blob(t, s, 41, mdstest.Model{AAGUID: acme, Description: "Acme Key 5", RootPEM: root})

	md, err := ParseMetadata(good, s.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	if md.Number != 41 || md.Entries != 1 || !md.Lists(mustAAGUID(t, acme)) || md.Describe(mustAAGUID(t, acme)) != "Acme Key 5" {
		t.Errorf("parsed no %d, %d entries, lists acme %v, %q", md.Number, md.Entries, md.Lists(mustAAGUID(t, acme)), md.Describe(mustAAGUID(t, acme)))
	}
	if md.Lists(mustAAGUID(t, "7d1351a6-e097-4852-9b3b-8f9a1c2e4d6b")) || md.Lists([]byte{1, 2}) {
		t.Error("lists a model it does not have")
	}

	parts := strings.Split(string(good), ".")
	var payload map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	payload["no"] = 42
	raw, _ = json.Marshal(payload)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]

	bad := []struct {
		name string
		blob []byte
		root []byte
	}{
		{"another signer's root", good, signer(t).RootPEM},
		{"the FIDO Alliance's root", good, nil},
		{"payload changed", []byte(tampered), s.RootPEM},
		{"not a JWT", []byte("{}"), s.RootPEM},
		{"root not PEM", good, []byte("MIIB")},
		{"over the size limit", make([]byte, MaxMetadataSize+1), s.RootPEM},
		{"an entry that does not parse", blob(t, s, 1, mdstest.Model{AAGUID: "not-a-uuid", RootPEM: root}), s.RootPEM},
	}
	for _, tc := range bad {
		if md, err := ParseMetadata(tc.blob, tc.root); err == nil {
			t.Errorf("%s: parsed, no %d", tc.name, md.Number)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
}

// TestMetadataAllowList: with FIDO metadata, a registration under an
// AAGUID allow list takes a badge of a listed model only when its
// attestation chains to the roots the metadata lists for that model and
// no status report rules the model out; a model the metadata does not
// list needs the trusted roots.
func TestMetadataAllowList(t *testing.T) {
	const acme = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	const other = "7d1351a6-e097-4852-9b3b-8f9a1c2e4d6b"
	acmeBatch, acmeRoot := model(t, acme, "Acme Keys")
	forgedBatch, forgedRoot := model(t, acme, "Forger") // the same AAGUID under another root
	otherBatch, otherRoot := model(t, other, "Other Keys")
	allowed := [][]byte{mustAAGUID(t, acme), mustAAGUID(t, other)}
	s := signer(t)
	listed := func(status string) *Metadata {
		md, err := ParseMetadata(blob(t, s, 7, mdstest.Model{AAGUID: acme, Description: "Acme Key 5", RootPEM: acmeRoot, Status: status}), s.RootPEM)
		if err != nil {
			t.Fatal(err)
		}
		return md
	}

	tests := []struct {
		name  string
		md    *Metadata
		roots [][]byte
		opts  authenticator.SoftOptions
		want  error  // nil: registered
		by    string // model_proven_by when registered
	}{
		{"listed and certified", listed(""), nil, authenticator.SoftOptions{AAGUID: acme, Batch: acmeBatch}, nil, provenByMetadata},
		{"listed, revoked", listed("REVOKED"), nil, authenticator.SoftOptions{AAGUID: acme, Batch: acmeBatch}, ErrAttestationUntrusted, ""},
		{"listed, attestation key compromised", listed("ATTESTATION_KEY_COMPROMISE"), nil, authenticator.SoftOptions{AAGUID: acme, Batch: acmeBatch}, ErrAttestationUntrusted, ""},
		// The metadata decides for a model it lists, over a trusted root.
		{"listed, another root", listed(""), [][]byte{forgedRoot}, authenticator.SoftOptions{AAGUID: acme, Batch: forgedBatch}, ErrAttestationUntrusted, ""},
		{"listed, self attestation", listed(""), nil, authenticator.SoftOptions{AAGUID: acme}, ErrAttestationUntrusted, ""},
		{"not listed, no roots", listed(""), nil, authenticator.SoftOptions{AAGUID: other, Batch: otherBatch}, ErrAttestationUntrusted, ""},
		{"not listed, trusted root", listed(""), [][]byte{otherRoot}, authenticator.SoftOptions{AAGUID: other, Batch: otherBatch}, nil, provenByRoots},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.trust(tc.roots...)
			e.rp.SetMetadata(tc.md)
			ana := e.user("ana")
			body, err := e.attest(kioskA, ana, e.badge("b", tc.opts), allowed...)
			if err != nil {
				t.Fatalf("client register: %v", err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("finish registration: %v, want %v", err, tc.want)
			}
			if err != nil {
				t.Log(err)
				return
			}
			var detail struct {
				Attested bool   `json:"model_attested"`
				By       string `json:"model_proven_by"`
				Model    string `json:"model"`
				No       int    `json:"fido_metadata_no"`
			}
			raw := e.auditedRegistration(&detail)
			if !detail.Attested || detail.By != tc.by || (tc.by == provenByMetadata) != (detail.Model == "Acme Key 5" && detail.No == 7) {
				t.Errorf("audit detail %s", raw)
			}
		})
	}
}

// TestMetadataAsksForAttestation: metadata alone (no roots) makes an
// allow-listed registration ask for direct attestation.
func TestMetadataAsksForAttestation(t *testing.T) {
	const acme = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	_, root := model(t, acme, "Acme Keys")
	s := signer(t)
	md, err := ParseMetadata(blob(t, s, 1, mdstest.Model{AAGUID: acme, RootPEM: root}), s.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.rp.SetMetadata(md)
	start, err := e.rp.BeginRegistration(t.Context(), kioskA, e.user("ana"), [][]byte{mustAAGUID(t, acme)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(start.Options), `"attestation":"direct"`) {
		t.Errorf("options %s do not ask for direct attestation", start.Options)
	}
}

// TestRuledOut: the statuses that rule a listed model out, as registration
// judges them; none for a model in good standing or not listed.
func TestRuledOut(t *testing.T) {
	const acme, other, gone = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11", "7d1351a6-e097-4852-9b3b-8f9a1c2e4d6b", "5b8f0c1e-2d3a-4e5f-8a9b-0c1d2e3f4a5b"
	_, root := model(t, acme, "Acme Keys")
	s := signer(t)
	md, err := ParseMetadata(blob(t, s, 1,
		mdstest.Model{AAGUID: acme, RootPEM: root},
		mdstest.Model{AAGUID: other, RootPEM: root, Status: "USER_VERIFICATION_BYPASS"}), s.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if got := md.RuledOut(mustAAGUID(t, acme), now); got != nil {
		t.Errorf("certified model ruled out by %v", got)
	}
	if got := md.RuledOut(mustAAGUID(t, other), now); len(got) != 1 || got[0] != "USER_VERIFICATION_BYPASS" {
		t.Errorf("bypassable model: %v", got)
	}
	if got := md.RuledOut(mustAAGUID(t, gone), now); got != nil {
		t.Errorf("unlisted model ruled out by %v", got)
	}
}

// TestParseMetadataBadNextUpdate: a signed BLOB whose nextUpdate is not a
// date (here year 10000, which formats as five digits) is refused with an
// error; go-webauthn's Parse returns no metadata for it, and reading its
// unparsed entries then must not panic.
func TestParseMetadataBadNextUpdate(t *testing.T) {
	s := signer(t)
	b, err := s.BLOB(7, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	md, err := ParseMetadata(b, s.RootPEM)
	if err == nil || md != nil {
		t.Fatalf("ParseMetadata = %v, %v; want an error", md, err)
	}
	if !strings.Contains(err.Error(), "next update") {
		t.Errorf("error %q does not name the next update date", err)
	}
}
