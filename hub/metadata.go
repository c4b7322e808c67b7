package hub

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
	"github.com/shiftgate/shiftgate/hub/authn"
)

// FIDOMetadataFile is where a hub looks for the FIDO Metadata Service
// BLOB, unless given a file: DIR/fido-mds.jwt.
const FIDOMetadataFile = "fido-mds.jwt"

// DefaultFIDOMetadataPoll is how often the hub looks for a new BLOB in its
// file (Config.FIDOMetadataPoll).
const DefaultFIDOMetadataPoll = time.Minute

// fidoMetadata is the BLOB file the hub reads, and what it last read.
type fidoMetadata struct {
	path string
	root []byte // the BLOB signing root (PEM); nil: the FIDO Alliance's
	// The file as last read: a new BLOB is one with another size or
	// modification time.
	size    int64
	modTime time.Time
}

// loadFIDOMetadata reads the BLOB from path, or from DIR/fido-mds.jwt when
// path is empty and that file exists (nil, nil, nil when it does not),
// verified under the root in rootPath (empty: the FIDO Alliance's).
func loadFIDOMetadata(path, rootPath, dir string, now time.Time, log *slog.Logger) (*fidoMetadata, *authn.Metadata, error) {
	explicit := path != ""
	if !explicit {
		path = filepath.Join(dir, FIDOMetadataFile)
	}
	f := &fidoMetadata{path: path}
	if rootPath != "" {
		root, err := os.ReadFile(rootPath)
		if err != nil {
			return nil, nil, fmt.Errorf("FIDO metadata root: %w", err)
		}
		f.root = root
	}
	md, err := f.read()
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		if rootPath != "" {
			return nil, nil, fmt.Errorf("FIDO metadata root %s given, but there is no BLOB: put it in %s or pass --fido-mds FILE", rootPath, path)
		}
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	f.logLoaded(md, now, log, "FIDO metadata loaded: allow-listed models it lists must be proven by their makers' attestation roots and be in good standing")
	return f, md, nil
}

// read reads and verifies the BLOB file, noting its size and time.
func (f *fidoMetadata) read() (*authn.Metadata, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("FIDO metadata: %w", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("FIDO metadata: %w", err)
	}
	blob, err := io.ReadAll(io.LimitReader(file, authn.MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("FIDO metadata: %w", err)
	}
	md, err := authn.ParseMetadata(blob, f.root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	f.size, f.modTime = fi.Size(), fi.ModTime()
	return md, nil
}

// changed reports whether the file is not as last read.
func (f *fidoMetadata) changed() bool {
	fi, err := os.Stat(f.path)
	return err == nil && (fi.Size() != f.size || !fi.ModTime().Equal(f.modTime))
}

func (f *fidoMetadata) logLoaded(md *authn.Metadata, now time.Time, log *slog.Logger, msg string) {
	log.Info(msg, "file", f.path, "no", md.Number, "models", md.Entries, "next_update", md.NextUpdate.Format(time.DateOnly))
	if now.After(md.NextUpdate) {
		log.Warn("the FIDO metadata BLOB is past its next update date: download the current one from https://mds3.fidoalliance.org/ into "+f.path+" (the hub reads it within a minute)",
			"no", md.Number, "next_update", md.NextUpdate.Format(time.DateOnly))
	}
}

// watchFIDOMetadata reads the BLOB file again whenever it changes, so an
// operator's monthly download takes effect without a restart. A BLOB that
// does not verify is logged and the one in use stays.
func (s *Server) watchFIDOMetadata(ctx context.Context) {
	if s.metadata == nil {
		return
	}
	t := time.NewTicker(s.cfg.FIDOMetadataPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !s.metadata.changed() {
				continue
			}
			md, err := s.metadata.read()
			if err != nil {
				// Not again until the file changes once more.
				if fi, serr := os.Stat(s.metadata.path); serr == nil {
					s.metadata.size, s.metadata.modTime = fi.Size(), fi.ModTime()
				}
				s.cfg.Logger.Error("FIDO metadata not replaced: the new BLOB does not verify; the one read before stays in use", "err", err)
				continue
			}
			s.channel.rp.SetMetadata(md)
			s.metadata.logLoaded(md, s.cfg.Now(), s.cfg.Logger, "FIDO metadata replaced")
			s.warnRuledOut(ctx, md)
		}
	}
}

// modelRuledOut is governance.Config.ModelRuledOut: what the FIDO
// metadata in use says against the model aaguid, or "".
func (s *Server) modelRuledOut(aaguid []byte) string {
	md := s.channel.rp.Metadata()
	if md == nil {
		return ""
	}
	statuses := md.RuledOut(aaguid, s.cfg.Now())
	if len(statuses) == 0 {
		return ""
	}
	name := md.Describe(aaguid)
	if name == "" {
		name = "a model"
	}
	id, _ := uuid.FromBytes(aaguid) // RuledOut found it: 16 bytes
	return fmt.Sprintf("%s (AAGUID %s), which FIDO metadata BLOB %d reports %s", name, id, md.Number, strings.Join(statuses, ", "))
}

// warnRuledOut warns when active badges are of models md rules out:
// registration refuses those models, and the findings list the badges.
func (s *Server) warnRuledOut(ctx context.Context, md *authn.Metadata) {
	creds, err := s.st.ListActiveCredentials(ctx)
	if err != nil {
		s.cfg.Logger.Error("FIDO metadata: list active credentials", "err", err)
		return
	}
	n := 0
	for _, c := range creds {
		if len(md.RuledOut(c.AAGUID, s.cfg.Now())) > 0 {
			n++
		}
	}
	if n > 0 {
		s.cfg.Logger.Warn("active badges are of authenticator models the FIDO metadata rules out (revoked or compromised): review and revoke them with the findings (shiftgate-hub findings, the console's Findings, rule model_ruled_out)",
			"badges", n, "no", md.Number)
	}
}

// warnUnproven warns about the models kiosk profiles allow-list that
// nothing can prove: without attestation roots, those the FIDO metadata
// does not list. (Roots do not say which models they vouch for.)
func warnUnproven(profs map[string]*profiles.Profile, roots *x509.CertPool, md *authn.Metadata, dir string, log *slog.Logger) {
	if roots != nil {
		return
	}
	var listed []string
	for name, p := range profs {
		for _, a := range p.AllowedAAGUIDs {
			if md == nil || !md.Lists(a[:]) {
				listed = append(listed, name)
				break
			}
		}
	}
	if len(listed) == 0 {
		return
	}
	slices.Sort(listed)
	log.Warn("kiosk profiles allow authenticator models by the AAGUID a badge claims, which nothing proves: put the FIDO metadata BLOB in "+
		filepath.Join(dir, FIDOMetadataFile)+" or the makers' attestation roots (PEM) in "+filepath.Join(dir, AttestationRootsFile)+" to require a trusted attestation",
		"profiles", listed)
}
