package authn

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/x/revoke"
	"github.com/google/uuid"
)

// revocationFetchTimeout bounds each fetch of a revocation list or OCSP
// answer while a BLOB's signing chain is checked. go-webauthn's revoke
// package uses http.DefaultClient, which waits for as long as the network
// does; a check that fails does not fail the BLOB (revoke.HardFail is
// false), it only goes without the revocation status.
const revocationFetchTimeout = 10 * time.Second

var setRevocationClient sync.Once

// MaxMetadataSize bounds a FIDO Metadata Service BLOB. The FIDO
// Alliance's BLOB of thousands of models is a few megabytes.
const MaxMetadataSize = 64 << 20

// Metadata is a FIDO Metadata Service (MDS3) BLOB, verified and parsed:
// for each authenticator model (by AAGUID), the attestation roots its
// maker registered, the attestation types it uses and its status reports
// (certified, revoked, a compromised attestation key, a user verification
// bypass). Config.Metadata uses it to prove the model of a badge that
// registers under an AAGUID allow list.
type Metadata struct {
	// Number is the BLOB's serial number ("no"); each new BLOB has a
	// higher one.
	Number int
	// NextUpdate is the date by which the FIDO Alliance publishes the next
	// BLOB; an operator fetches it then.
	NextUpdate time.Time
	// Entries counts the models listed by AAGUID.
	Entries int

	provider metadata.Provider
	byAAGUID map[uuid.UUID]*metadata.Entry
}

// ParseMetadata verifies blob, an MDS3 BLOB (a JWT as served by
// https://mds3.fidoalliance.org/), with go-webauthn's metadata decoder:
// its signature, and its signing certificate chain up to rootPEM (nil
// selects the FIDO Alliance's production root, GlobalSign Root R46). The
// decoder also checks the chain's certificates against the revocation
// lists and OCSP responders they name, which it asks (revocationFetchTimeout
// each). An entry that does not parse fails
// the whole BLOB: a model silently missing would read as "not listed".
func ParseMetadata(blob, rootPEM []byte) (*Metadata, error) {
	if len(blob) > MaxMetadataSize {
		return nil, fmt.Errorf("FIDO metadata BLOB of %d bytes is over the limit of %d", len(blob), MaxMetadataSize)
	}
	setRevocationClient.Do(func() {
		revoke.HTTPClient = &http.Client{Timeout: revocationFetchTimeout}
	})
	var opts []metadata.DecoderOption
	if rootPEM != nil {
		block, _ := pem.Decode(rootPEM)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, errors.New("FIDO metadata root: no PEM CERTIFICATE block")
		}
		opts = append(opts, metadata.WithRootCertificate(base64.StdEncoding.EncodeToString(block.Bytes)))
	}
	dec, err := metadata.NewDecoder(opts...)
	if err != nil {
		return nil, fmt.Errorf("FIDO metadata: %w", err)
	}
	payload, err := dec.DecodeBytes(blob)
	if err != nil {
		return nil, fmt.Errorf("FIDO metadata BLOB does not verify: %w", err)
	}
	md, err := dec.Parse(payload)
	if err != nil {
		// Parse returns nil when the BLOB's own nextUpdate does not
		// parse, and otherwise the metadata with the entries that did not.
		if md != nil {
			for _, u := range md.Unparsed {
				err = fmt.Errorf("%w; %w", err, u.Error)
			}
		}
		return nil, fmt.Errorf("FIDO metadata BLOB: %w", err)
	}
	byAAGUID := make(map[uuid.UUID]*metadata.Entry)
	for i := range md.Parsed.Entries {
		e := &md.Parsed.Entries[i]
		if e.AaGUID != uuid.Nil {
			byAAGUID[e.AaGUID] = e
		}
	}
	provider, err := memory.New(
		memory.WithMetadata(byAAGUID),
		memory.WithValidateEntry(true),
		memory.WithValidateEntryPermitZeroAAGUID(false),
		memory.WithValidateTrustAnchor(true),
		memory.WithValidateStatus(true),
		memory.WithStatusUndesired(metadata.DefaultUndesiredAuthenticatorStatuses()),
		memory.WithValidateAttestationTypes(true),
		memory.WithValidateAAGUID(true),
		memory.WithValidateAttestationFormats(true),
		memory.WithValidateAlgorithms(true),
		memory.WithValidateBackupEligibility(true),
	)
	if err != nil {
		return nil, fmt.Errorf("FIDO metadata: %w", err)
	}
	return &Metadata{
		Number:     md.Parsed.Number,
		NextUpdate: md.Parsed.NextUpdate,
		Entries:    len(byAAGUID),
		provider:   provider,
		byAAGUID:   byAAGUID,
	}, nil
}

// Lists reports whether the BLOB has an entry for the model aaguid.
func (m *Metadata) Lists(aaguid []byte) bool {
	id, err := uuid.FromBytes(aaguid)
	return err == nil && m.byAAGUID[id] != nil
}

// Describe names the model aaguid as its metadata statement does, or "".
func (m *Metadata) Describe(aaguid []byte) string {
	id, err := uuid.FromBytes(aaguid)
	if err != nil || m.byAAGUID[id] == nil {
		return ""
	}
	return m.byAAGUID[id].MetadataStatement.Description
}

// check validates att, an attestation go-webauthn has verified, against
// the model's entry with go-webauthn's metadata validation: the
// attestation type is one the model uses, its certificate chains to the
// model's attestation roots, and no status report in effect (revoked, a
// compromised attestation or user key, a user verification bypass) rules
// the model out. go-webauthn judges the chain and the statuses at the
// time of day, not at the RP's clock (Config.Now).
func (m *Metadata) check(att *protocol.AttestationObject, aaguid []byte) error {
	id, err := uuid.FromBytes(aaguid)
	if err != nil {
		return fmt.Errorf("AAGUID: %w", err)
	}
	x5c, _ := att.AttStatement["x5c"].([]any)
	if perr := protocol.ValidateMetadataWithAuthenticatorData(context.Background(), m.provider, id, att.Type, att.Format, x5c, &att.AuthData); perr != nil {
		if perr.DevInfo != "" {
			return fmt.Errorf("FIDO metadata: %s", perr.DevInfo)
		}
		return fmt.Errorf("FIDO metadata: %w", perr)
	}
	return nil
}

// RuledOut returns the statuses in effect at at that rule the model
// aaguid out (REVOKED, ATTESTATION_KEY_COMPROMISE and the others
// go-webauthn's metadata.DefaultUndesiredAuthenticatorStatuses lists), as
// registration judges them; none for a model the BLOB does not list.
func (m *Metadata) RuledOut(aaguid []byte, at time.Time) []string {
	id, err := uuid.FromBytes(aaguid)
	if err != nil || m.byAAGUID[id] == nil {
		return nil
	}
	var out []string
	for _, r := range metadata.EffectiveStatusReports(m.byAAGUID[id].StatusReports, at) {
		if metadata.IsUndesiredAuthenticatorStatus(r.Status) && !slices.Contains(out, string(r.Status)) {
			out = append(out, string(r.Status))
		}
	}
	return out
}
