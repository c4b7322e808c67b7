package sim

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Files in the state directory.
const (
	stateFile    = "state.json" // kiosks and users this simulator created on its hub
	badgeDir     = "badges"     // one soft badge file per user
	stateVersion = 2
)

// state is state.json. Kiosk i's own user is Users[i].
type state struct {
	Version int `json:"version"`
	// DeviceCA is the hub CA (DER) that issued the kiosks' certificates,
	// as the hub's enrollment answers name it (wire.EnrollResponse.DeviceCA);
	// empty until the first kiosk is enrolled. It ties the state to its
	// hub: --ca is what the hub's HTTPS certificate chains to, which may be
	// an operator's root several hubs share.
	DeviceCA []byte `json:"device_ca,omitempty"`
	Site     string `json:"site"`
	Prefix   string `json:"prefix"` // names every kiosk, user and group of this state
	// ShiftGroup is the SCIM id of the role group of the kiosks' users,
	// when this simulator last saw it.
	ShiftGroup string       `json:"shift_group,omitempty"`
	Kiosks     []kioskState `json:"kiosks"`
	Users      []userState  `json:"users"`

	deviceCA *x509.Certificate // DeviceCA, parsed
}

type kioskState struct {
	Name     string `json:"name"`
	DeviceID string `json:"device_id"`
	Key      []byte `json:"key"`  // PKCS #8 DER
	Cert     []byte `json:"cert"` // DER

	leaf *x509.Certificate // Cert, parsed and checked against the hub CA
}

type userState struct {
	Name       string `json:"name"`
	ID         string `json:"id"`
	Registered bool   `json:"registered"`
}

// loadState reads dir's state, or starts a new one for this hub and site.
// hubCAs are the names of the CAs the hub
// takes device certificates from (see probeHub), nil when unknown. A state
// is refused when its kiosks' certificates were not all issued by its
// DeviceCA, or when that CA is not one of hubCAs (the state of another
// hub).
func loadState(dir, site string, hubCAs [][]byte) (*state, error) {
	if err := os.MkdirAll(filepath.Join(dir, badgeDir), 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	path := filepath.Join(dir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var p [4]byte
		_, _ = rand.Read(p[:])
		return &state{Version: stateVersion, Site: site, Prefix: "sim" + hex.EncodeToString(p[:])}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		// Cut short, perhaps: save does not sync it.
		return nil, fmt.Errorf("read state %s: %w; use a fresh --state directory", path, err)
	}
	switch {
	case st.Version != stateVersion:
		// Version 1 took the first certificate of --ca for the hub CA.
		return nil, fmt.Errorf("state %s: version %d, want %d; use a fresh --state directory", path, st.Version, stateVersion)
	case st.Site != site:
		return nil, fmt.Errorf("state %s holds kiosks of site %q, not %q; use another --state directory", path, st.Site, site)
	case !validNamePart(st.Prefix):
		return nil, fmt.Errorf("state %s: bad prefix %q; use a fresh --state directory", path, st.Prefix)
	}
	if err := st.checkKiosks(); err != nil {
		return nil, fmt.Errorf("state %s: %w; use a fresh --state directory", path, err)
	}
	if err := st.checkHub(hubCAs); err != nil {
		return nil, fmt.Errorf("state %s %w; use a fresh --state directory", path, err)
	}
	return &st, nil
}

// issuerIn returns the certificate of cas that signed leaf, or nil.
func issuerIn(leaf *x509.Certificate, cas []*x509.Certificate) *x509.Certificate {
	for _, ca := range cas {
		if bytes.Equal(leaf.RawIssuer, ca.RawSubject) && leaf.CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	return nil
}

// checkKiosks parses DeviceCA and checks every enrolled kiosk's
// certificate against it, keeping the parsed certificates. Each one's
// signature was checked when its enrollment answer came (enrollKiosk);
// here, issuer name and key ID tell a certificate of another CA for next
// to nothing, where a signature check per kiosk (0.1 ms or more) would add
// over a second to every run's setup with 10,000 kiosks.
func (st *state) checkKiosks() error {
	if len(st.DeviceCA) > 0 {
		ca, err := x509.ParseCertificate(st.DeviceCA)
		if err != nil {
			return fmt.Errorf("hub CA: %w", err)
		}
		st.deviceCA = ca
	}
	for i := range st.Kiosks {
		k := &st.Kiosks[i]
		if k.DeviceID == "" {
			continue
		}
		if st.deviceCA == nil {
			return fmt.Errorf("kiosk %s enrolled, but no hub CA recorded", k.Name)
		}
		leaf, err := x509.ParseCertificate(k.Cert)
		if err != nil {
			return fmt.Errorf("kiosk %s certificate: %w", k.Name, err)
		}
		if err := checkIssued(leaf, st.deviceCA, len(st.deviceCA.SubjectKeyId) == 0); err != nil {
			return fmt.Errorf("kiosk %s certificate: %w", k.Name, err)
		}
		k.leaf = leaf
	}
	return nil
}

// checkIssued checks that leaf is a device certificate of ca: issued by
// it (issuer name, and authority key ID when ca has a subject key ID, as
// every hub CA has), for client authentication and, with signature, signed
// by it. Validity is checked where the kiosk is built, and the hub checks
// everything when the kiosk connects.
func checkIssued(leaf, ca *x509.Certificate, signature bool) error {
	if !bytes.Equal(leaf.RawIssuer, ca.RawSubject) {
		return fmt.Errorf("issued by %q, not by the hub CA %q", leaf.Issuer, ca.Subject)
	}
	if len(ca.SubjectKeyId) > 0 && !bytes.Equal(leaf.AuthorityKeyId, ca.SubjectKeyId) {
		return fmt.Errorf("issued by another CA named %q than the hub CA (authority key ID %x, not %x)", ca.Subject, leaf.AuthorityKeyId, ca.SubjectKeyId)
	}
	if signature {
		if err := leaf.CheckSignatureFrom(ca); err != nil {
			return fmt.Errorf("not signed by the hub CA %q: %w", ca.Subject, err)
		}
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return errors.New("not for client authentication")
	}
	return nil
}

// checkHub refuses the state of another hub: its hub CA must be one of
// hubCAs, the distinguished names of the CAs the hub asks client
// certificates of. With none known (nil), or no kiosk enrolled yet, it
// cannot tell. Hub CAs have names of their own ("Shiftgate Hub CA" and a
// random suffix): a mistake is caught here, before the simulator changes
// anything on the hub; the hub's mTLS check is the real one.
func (st *state) checkHub(hubCAs [][]byte) error {
	if st.deviceCA == nil || len(hubCAs) == 0 {
		return nil
	}
	if slices.ContainsFunc(hubCAs, func(n []byte) bool { return bytes.Equal(n, st.deviceCA.RawSubject) }) {
		return nil
	}
	names := make([]string, len(hubCAs))
	for i, n := range hubCAs {
		names[i] = fmt.Sprintf("%q", dnString(n))
	}
	return fmt.Errorf("belongs to another hub, or one whose CA was replaced: its kiosks' certificates are from %q, and this hub takes them from %s",
		st.deviceCA.Subject, strings.Join(names, ", "))
}

// dnString renders a DER distinguished name, for messages.
func dnString(der []byte) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) > 0 {
		return hex.EncodeToString(der)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&seq)
	return n.String()
}

// setDeviceCA records ca, the hub CA an enrollment answer named. Every
// kiosk of a state is of one hub CA: another one is refused.
func (st *state) setDeviceCA(ca *x509.Certificate) error {
	if st.deviceCA == nil {
		st.DeviceCA, st.deviceCA = ca.Raw, ca
		return nil
	}
	if !st.deviceCA.Equal(ca) {
		return fmt.Errorf("the hub names the CA %q for device certificates, but the state's kiosks are from %q: it belongs to another hub, or the hub's CA was replaced; use a fresh --state directory",
			ca.Subject, st.deviceCA.Subject)
	}
	return nil
}

// save writes the state atomically.
func (st *state) save(dir string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

func (st *state) kioskName(i int) string { return fmt.Sprintf("%s-%s-k%05d", st.Prefix, st.Site, i+1) }
func (st *state) userName(i int) string  { return fmt.Sprintf("%s-%s-u%05d", st.Prefix, st.Site, i+1) }
func (st *state) shiftGroupName() string { return "SimShift-" + st.Prefix }
