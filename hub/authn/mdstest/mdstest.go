// Package mdstest makes FIDO Metadata Service (MDS3) BLOBs for tests and
// demos: what the FIDO Alliance publishes at https://mds3.fidoalliance.org/,
// a JWT signed with ES256 under a certificate chain, listing authenticator
// models with the attestation roots their makers registered and their
// status reports. A Signer plays the Alliance: its root stands in for
// GlobalSign Root R46, which signs the real BLOB's chain.
package mdstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Model is one authenticator model's entry.
type Model struct {
	AAGUID      string // "ee882879-721c-4913-9775-3dfcce97072a"
	Description string // the statement's name of the model
	// RootPEM holds the model's attestation root certificates (PEM, as
	// authenticator.NewModelAttestation returns them).
	RootPEM []byte
	// Status is the latest status report ("" reads FIDO_CERTIFIED_L1):
	// REVOKED, ATTESTATION_KEY_COMPROMISE and the other statuses FIDO
	// defines for a model that must no longer be trusted.
	Status string
}

// Signer signs BLOBs under a root of its own.
type Signer struct {
	// RootPEM is the BLOB signing root, for the relying party's
	// configuration (in place of the FIDO Alliance's).
	RootPEM []byte

	key        *ecdsa.PrivateKey
	leaf, root []byte // DER
}

// NewSigner makes a signing root and a signing certificate under it, both
// valid from a day ago for ten years.
func NewSigner() (*Signer, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	from := time.Now().Add(-24 * time.Hour)
	root := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"Test Metadata Service"}, CommonName: "Test MDS Root"},
		NotBefore: from, NotAfter: from.AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("metadata signing root: %w", err)
	}
	if root, err = x509.ParseCertificate(rootDER); err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{Organization: []string{"Test Metadata Service"}, CommonName: "Test MDS BLOB Signer"},
		NotBefore: from, NotAfter: from.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, root, &key.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("metadata signing certificate: %w", err)
	}
	return &Signer{
		RootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}),
		key:     key, leaf: leafDER, root: rootDER,
	}, nil
}

// BLOB returns a signed BLOB with serial number no and next update date
// next, listing models.
func (s *Signer) BLOB(no int, next time.Time, models ...Model) ([]byte, error) {
	entries := make([]map[string]any, 0, len(models))
	for _, m := range models {
		e, err := entry(m)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	payload, err := json.Marshal(map[string]any{
		"legalHeader": "Test metadata: not for production use.",
		"no":          no,
		"nextUpdate":  next.UTC().Format(time.DateOnly),
		"entries":     entries,
	})
	if err != nil {
		return nil, err
	}
	header, err := json.Marshal(map[string]any{
		"alg": "ES256", "typ": "JWT",
		"x5c": []string{base64.StdEncoding.EncodeToString(s.leaf), base64.StdEncoding.EncodeToString(s.root)},
	})
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signed := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(signed))
	r, sig, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 64) // JWS ES256: r and s, 32 bytes each
	r.FillBytes(raw[:32])
	sig.FillBytes(raw[32:])
	return []byte(signed + "." + b64(raw)), nil
}

// entry is a model's MDS3 metadata BLOB payload entry: a FIDO2 security
// key with P-256 credentials, packed basic attestation and a status.
func entry(m Model) (map[string]any, error) {
	var roots []string
	for rest := m.RootPEM; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		roots = append(roots, base64.StdEncoding.EncodeToString(block.Bytes))
	}
	if len(roots) == 0 {
		return nil, errors.New("metadata entry " + m.AAGUID + ": no root certificate in RootPEM")
	}
	status := m.Status
	if status == "" {
		status = "FIDO_CERTIFIED_L1"
	}
	day := time.Now().AddDate(0, 0, -7).UTC().Format(time.DateOnly)
	return map[string]any{
		"aaguid": m.AAGUID,
		"metadataStatement": map[string]any{
			"legalHeader":                 "Test metadata: not for production use.",
			"aaguid":                      m.AAGUID,
			"description":                 m.Description,
			"authenticatorVersion":        1,
			"protocolFamily":              "fido2",
			"schema":                      3,
			"upv":                         []map[string]int{{"major": 1, "minor": 1}},
			"authenticationAlgorithms":    []string{"secp256r1_ecdsa_sha256_raw"},
			"publicKeyAlgAndEncodings":    []string{"cose"},
			"attestationTypes":            []string{"basic_full"},
			"userVerificationDetails":     [][]map[string]string{{{"userVerificationMethod": "presence_internal"}}},
			"keyProtection":               []string{"hardware", "secure_element"},
			"matcherProtection":           []string{"on_chip"},
			"cryptoStrength":              128,
			"attachmentHint":              []string{"external", "wired", "nfc"},
			"tcDisplay":                   []string{},
			"attestationRootCertificates": roots,
			"authenticatorGetInfo": map[string]any{
				"versions":   []string{"FIDO_2_0", "FIDO_2_1"},
				"aaguid":     strings.ReplaceAll(m.AAGUID, "-", ""),
				"options":    map[string]bool{"rk": true, "up": true, "uv": true},
				"algorithms": []map[string]any{{"type": "public-key", "alg": -7}},
			},
		},
		"statusReports":          []map[string]string{{"status": status, "effectiveDate": day}},
		"timeOfLastStatusChange": day,
	}, nil
}
