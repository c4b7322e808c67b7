package sim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files in the state directory.
const (
	stateFile    = "state.json" // kiosks and users this simulator created on its hub
	badgeDir     = "badges"     // one soft badge file per user
	stateVersion = 1
)

// state is state.json. Kiosk i's own user is Users[i].
type state struct {
	Version int `json:"version"`
	// CA is the SHA-256 of the hub CA certificate: state from another hub
	// is refused rather than half reused.
	CA     string `json:"ca_sha256"`
	Site   string `json:"site"`
	Prefix string `json:"prefix"` // names every kiosk, user and group of this state
	// ShiftGroup is the SCIM id of the role group of the kiosks' users,
	// when this simulator last saw it.
	ShiftGroup string       `json:"shift_group,omitempty"`
	Kiosks     []kioskState `json:"kiosks"`
	Users      []userState  `json:"users"`
}

type kioskState struct {
	Name     string `json:"name"`
	DeviceID string `json:"device_id"`
	Key      []byte `json:"key"`  // PKCS #8 DER
	Cert     []byte `json:"cert"` // DER
}

type userState struct {
	Name       string `json:"name"`
	ID         string `json:"id"`
	Registered bool   `json:"registered"`
}

func caFingerprint(ca *x509.Certificate) string {
	sum := sha256.Sum256(ca.Raw)
	return hex.EncodeToString(sum[:])
}

// loadState reads dir's state, or starts a new one for this hub and site.
func loadState(dir string, ca *x509.Certificate, site string) (*state, error) {
	if err := os.MkdirAll(filepath.Join(dir, badgeDir), 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	path := filepath.Join(dir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var p [4]byte
		_, _ = rand.Read(p[:])
		return &state{Version: stateVersion, CA: caFingerprint(ca), Site: site, Prefix: "sim" + hex.EncodeToString(p[:])}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	switch {
	case st.Version != stateVersion:
		return nil, fmt.Errorf("state %s: version %d, want %d; use a fresh --state directory", path, st.Version, stateVersion)
	case st.CA != caFingerprint(ca):
		return nil, fmt.Errorf("state %s belongs to another hub (CA differs); use a fresh --state directory", path)
	case st.Site != site:
		return nil, fmt.Errorf("state %s holds kiosks of site %q, not %q; use another --state directory", path, st.Site, site)
	case !validNamePart(st.Prefix):
		return nil, fmt.Errorf("state %s: bad prefix %q", path, st.Prefix)
	}
	return &st, nil
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
