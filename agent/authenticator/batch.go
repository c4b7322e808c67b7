package authenticator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// oidFIDOAAGUID is id-fido-gen-ce-aaguid: the extension of an attestation certificate that
// names the authenticator model (WebAuthn §8.2.1).
var oidFIDOAAGUID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}

// NewModelAttestation makes what a key maker keeps and installs for one authenticator model:
// a self-signed attestation root (returned as PEM, for a relying party's trust store) and a
// batch attestation key with its certificate, which names the model's AAGUID as WebAuthn's
// packed format requires (subject C, O, OU "Authenticator Attestation", CN; the FIDO AAGUID
// extension, not critical; not a CA). vendor is the subject's organisation. For soft badges in
// tests, demos and the simulator (SoftOptions.Batch); both certificates are valid for 20
// years from a day ago.
func NewModelAttestation(aaguid, vendor string) (*BatchAttestation, []byte, error) {
	id, err := parseAAGUID(aaguid)
	if err != nil {
		return nil, nil, fmt.Errorf("model attestation: %w: %w", ErrInvalidRequest, err)
	}
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	batchKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	from := time.Now().Add(-24 * time.Hour)
	until := from.AddDate(20, 0, 0)
	root := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Country: []string{"US"}, Organization: []string{vendor}, CommonName: vendor + " Attestation Root"},
		NotBefore:             from,
		NotAfter:              until,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, fmt.Errorf("model attestation: root: %w", err)
	}
	if root, err = x509.ParseCertificate(rootDER); err != nil {
		return nil, nil, err
	}
	ext, err := asn1.Marshal(id[:]) // an OCTET STRING of the 16 bytes
	if err != nil {
		return nil, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject: pkix.Name{Country: []string{"US"}, Organization: []string{vendor},
			OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: vendor + " Batch " + aaguid},
		NotBefore:             from,
		NotAfter:              until,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  false,
		ExtraExtensions:       []pkix.Extension{{Id: oidFIDOAAGUID, Value: ext}},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, root, &batchKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, fmt.Errorf("model attestation: batch certificate: %w", err)
	}
	return &BatchAttestation{Key: batchKey, Chain: [][]byte{leafDER}}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // never fails
	return n
}
