package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/store"
)

// trust makes the env's RP trust the attestation roots in pems (none:
// no roots).
func (e *env) trust(pems ...[]byte) {
	e.t.Helper()
	var pool *x509.CertPool
	if len(pems) > 0 {
		pool = x509.NewCertPool()
	}
	for _, p := range pems {
		if !pool.AppendCertsFromPEM(p) {
			e.t.Fatal("no certificate in root PEM")
		}
	}
	rp, err := New(Config{RPID: testRPID, RPDisplayName: "Shiftgate", Origin: testOrigin, Store: e.st, Audit: e.rp.log,
		Now: e.clock.Now, AttestationRoots: pool})
	if err != nil {
		e.t.Fatal(err)
	}
	e.rp = rp
}

// auditedRegistration decodes into detail the detail of the one
// credential.registered record, and returns it as stored.
func (e *env) auditedRegistration(detail any) json.RawMessage {
	e.t.Helper()
	recs, err := e.st.ListAudit(context.Background(), store.AuditQuery{Action: ActionCredentialRegistered})
	if err != nil || len(recs) != 1 {
		e.t.Fatalf("audit %v, %v", recs, err)
	}
	if err := json.Unmarshal(recs[0].Detail, detail); err != nil {
		e.t.Fatal(err)
	}
	return recs[0].Detail
}

func model(t testing.TB, aaguid, vendor string) (*authenticator.BatchAttestation, []byte) {
	t.Helper()
	batch, root, err := authenticator.NewModelAttestation(aaguid, vendor)
	if err != nil {
		t.Fatal(err)
	}
	return batch, root
}

// batchWithoutAAGUID is a batch whose certificate meets the packed
// format's requirements but names no model, as one certificate shared by
// several models does, signed by a root of its own.
func batchWithoutAAGUID(t *testing.T) (*authenticator.BatchAttestation, []byte) {
	t.Helper()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	from := time.Now().Add(-time.Hour)
	root := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Shared Root"}, NotBefore: from, NotAfter: from.AddDate(20, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ = x509.ParseCertificate(rootDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{Country: []string{"US"}, Organization: []string{"Shared"},
		OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: "Shared Batch"},
		NotBefore: from, NotAfter: from.AddDate(20, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, root, &key.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return &authenticator.BatchAttestation{Key: key, Chain: [][]byte{leafDER}}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
}

// TestAttestedAllowList: with trusted attestation roots, a registration
// with an AAGUID allow list takes only a badge whose model a certificate
// chaining to one of them proves; the AAGUID a badge merely claims is not
// enough. Registrations without a list are unchanged.
func TestAttestedAllowList(t *testing.T) {
	const acme = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	const other = "7d1351a6-e097-4852-9b3b-8f9a1c2e4d6b"
	acmeBatch, acmeRoot := model(t, acme, "Acme Keys")
	forgedBatch, _ := model(t, acme, "Forger")            // the same AAGUID, from a root nobody trusts
	otherBatch, otherRoot := model(t, other, "Acme Keys") // a trusted root, another model's certificate
	sharedBatch, sharedRoot := batchWithoutAAGUID(t)      // trusted, names no model
	allowed := [][]byte{mustAAGUID(t, acme)}

	tests := []struct {
		name    string
		opts    authenticator.SoftOptions
		allowed [][]byte
		want    error // nil: registered
	}{
		{"model proven", authenticator.SoftOptions{AAGUID: acme, Batch: acmeBatch}, allowed, nil},
		{"self attestation", authenticator.SoftOptions{AAGUID: acme}, allowed, ErrAttestationUntrusted},
		{"no attestation", authenticator.SoftOptions{AAGUID: acme, Attestation: authenticator.AttestationNone}, allowed, ErrAttestationUntrusted},
		{"untrusted root", authenticator.SoftOptions{AAGUID: acme, Batch: forgedBatch}, allowed, ErrAttestationUntrusted},
		{"certificate names no model", authenticator.SoftOptions{AAGUID: acme, Batch: sharedBatch}, allowed, ErrAttestationUntrusted},
		// go-webauthn refuses a certificate naming another AAGUID than
		// the authenticator data's.
		{"certificate of another model", authenticator.SoftOptions{AAGUID: acme, Batch: otherBatch}, allowed, ErrInvalid},
		{"model not allowed, though proven", authenticator.SoftOptions{AAGUID: other, Batch: otherBatch}, allowed, ErrAAGUIDNotAllowed},
		{"no allow list: self attestation", authenticator.SoftOptions{AAGUID: acme}, nil, nil},
		{"no allow list: model proven", authenticator.SoftOptions{AAGUID: acme, Batch: acmeBatch}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.trust(acmeRoot, otherRoot, sharedRoot)
			ana := e.user("ana")
			start, err := e.rp.BeginRegistration(t.Context(), kioskA, ana, tc.allowed)
			if err != nil {
				t.Fatal(err)
			}
			var opts struct {
				PublicKey struct {
					Attestation string `json:"attestation"`
				} `json:"publicKey"`
			}
			if err := json.Unmarshal(start.Options, &opts); err != nil {
				t.Fatal(err)
			}
			// With trusted roots every registration asks: a badge
			// registered where no model is listed may be used where one is.
			if want := "direct"; opts.PublicKey.Attestation != want {
				t.Errorf("options ask for attestation %q, want %q", opts.PublicKey.Attestation, want)
			}
			body, err := authenticator.Register(t.Context(), e.badge("b", tc.opts), start.Origin, start.Options)
			if err != nil {
				t.Fatalf("client register: %v", err)
			}
			c, err := e.rp.FinishRegistration(t.Context(), kioskA, body)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("finish registration: %v, want %v", err, tc.want)
			}
			if err != nil {
				t.Log(err)
				if RefusalCode(err) == "" {
					t.Errorf("%v is no refusal", err)
				}
				return
			}
			var detail struct {
				Attested    bool   `json:"model_attested"`
				Certificate string `json:"attestation_certificate"`
			}
			raw := e.auditedRegistration(&detail)
			proven := tc.opts.Batch != nil
			if detail.Attested != proven || proven != strings.Contains(detail.Certificate, "Acme Keys Batch") {
				t.Errorf("audit detail %s: want model_attested %v", raw, proven)
			}
			if len(c.ID) == 0 {
				t.Error("no credential ID")
			}
			if c.ModelUnproven == proven {
				t.Errorf("ModelUnproven = %v for a model proven %v", c.ModelUnproven, proven)
			}
		})
	}
}

// TestAllowListWithoutRoots: without trusted roots the list is checked
// against the AAGUID the badge claims, as before, and nothing asks for
// attestation.
func TestAllowListWithoutRoots(t *testing.T) {
	const acme = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	e := newEnv(t)
	ana := e.user("ana")
	body, err := e.attest(kioskA, ana, e.badge("b", authenticator.SoftOptions{AAGUID: acme}), mustAAGUID(t, acme))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rp.FinishRegistration(t.Context(), kioskA, body); err != nil {
		t.Fatalf("claimed model on the list: %v", err)
	}
}
