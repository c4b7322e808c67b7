package hub

import (
	"context"
	"crypto/x509"
	"encoding/json"
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
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shiftgate/shiftgate/certs"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
	"github.com/shiftgate/shiftgate/hub/authn"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// FIDOMetadataFile is where a hub looks for the FIDO Metadata Service
// BLOB, unless given a file: DIR/fido-mds.jwt.
const FIDOMetadataFile = "fido-mds.jwt"

// ActionFIDOMetadataLoaded is audited when the hub takes a BLOB it has not
// taken before (subject "fido-metadata"; detail no, next_update, models,
// file): the record of which BLOB judged the registrations from then on.
const ActionFIDOMetadataLoaded = "fido_metadata.loaded"

const fidoMetadataSubject = "fido-metadata"

// errOlderBLOB: a BLOB with a lower number than one the hub took before.
var errOlderBLOB = errors.New("older than a BLOB this hub took before")

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
	// staleWarned is when the hub last warned that the BLOB in use is past
	// its next update date.
	staleWarned time.Time
	// readDone, in tests, runs between reading the file and verifying it.
	readDone func()
}

// loadFIDOMetadata reads the BLOB from path, or from DIR/fido-mds.jwt when
// path is empty and that file exists (nil, nil, nil when it does not),
// verified under the root in rootPath (empty: the FIDO Alliance's).
func loadFIDOMetadata(path, rootPath, dir string) (*fidoMetadata, *authn.Metadata, error) {
	explicit := path != ""
	if !explicit {
		path = filepath.Join(dir, FIDOMetadataFile)
	}
	f := &fidoMetadata{path: path}
	if rootPath != "" {
		root, err := certs.ReadPEMFile(rootPath)
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
	return f, md, nil
}

// read reads and verifies the BLOB file, noting its size and time as they
// were before the read, also when it does not verify: a file still being
// written when it was read (a copy in place) has changed again by the next
// look, and is read again then. Its size and time after a failed read
// would be those of the finished file, which would then never be read.
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
	f.size, f.modTime = fi.Size(), fi.ModTime()
	blob, err := io.ReadAll(io.LimitReader(file, authn.MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("FIDO metadata: %w", err)
	}
	if f.readDone != nil {
		f.readDone()
	}
	md, err := authn.ParseMetadata(blob, f.root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	return md, nil
}

// takeFIDOMetadata audits md as the BLOB in use unless the hub took it
// before. It refuses a BLOB older than the last one taken (its number is
// lower): MDS3 processing ignores a BLOB that is not newer, because an old
// one may still show a model in good standing that has since been revoked,
// and replacing the file is all a rollback would take. The same BLOB again
// (a restart) is taken without a record.
func (s *Server) takeFIDOMetadata(ctx context.Context, md *authn.Metadata) (taken bool, err error) {
	err = s.st.InTx(ctx, func(tx store.Ops) error {
		recs, err := tx.ListAudit(ctx, store.AuditQuery{Subject: fidoMetadataSubject, Action: ActionFIDOMetadataLoaded})
		if err != nil {
			return err
		}
		if n := len(recs); n > 0 {
			var last struct {
				No int `json:"no"`
			}
			if err := json.Unmarshal(recs[n-1].Detail, &last); err != nil {
				return fmt.Errorf("audit record %d: %w", recs[n-1].Seq, err)
			}
			switch {
			case md.Number < last.No:
				return fmt.Errorf("FIDO metadata BLOB no %d is %w (no %d, audit record %d): only a newer BLOB replaces it; put the current one from https://mds3.fidoalliance.org/ in %s",
					md.Number, errOlderBLOB, last.No, recs[n-1].Seq, s.metadata.path)
			case md.Number == last.No:
				return nil
			}
		}
		taken = true
		_, err = s.audit.Append(ctx, tx, auditEntry(lifecycle.Actor{Name: "hub", System: "config"}, ActionFIDOMetadataLoaded, fidoMetadataSubject, map[string]any{
			"no": md.Number, "next_update": md.NextUpdate.Format(time.DateOnly), "models": md.Entries, "file": s.metadata.path,
		}))
		return err
	})
	return taken, err
}

// changed reports whether the file is not as last read.
func (f *fidoMetadata) changed() bool {
	fi, err := os.Stat(f.path)
	return err == nil && (fi.Size() != f.size || !fi.ModTime().Equal(f.modTime))
}

func (f *fidoMetadata) logLoaded(md *authn.Metadata, now time.Time, log *slog.Logger, msg string) {
	log.Info(msg, "file", f.path, "no", md.Number, "models", md.Entries, "next_update", md.NextUpdate.Format(time.DateOnly))
	f.staleWarned = time.Time{}
	f.warnStale(md, now, log)
}

// warnStale warns, once a day, while md is past its next update date.
func (f *fidoMetadata) warnStale(md *authn.Metadata, now time.Time, log *slog.Logger) {
	if !now.After(md.NextUpdate) || now.Sub(f.staleWarned) < 24*time.Hour {
		return
	}
	f.staleWarned = now
	log.Warn("the FIDO metadata BLOB is past its next update date: download the current one from https://mds3.fidoalliance.org/ into "+f.path+" (the hub reads it when the file changes)",
		"no", md.Number, "next_update", md.NextUpdate.Format(time.DateOnly))
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
				if md := s.channel.rp.Metadata(); md != nil {
					s.metadata.warnStale(md, s.cfg.Now(), s.cfg.Logger)
				}
				continue
			}
			md, err := s.metadata.read()
			if err != nil {
				// Not again until the file changes once more (read noted
				// it as it was when read).
				s.cfg.Logger.Error("FIDO metadata not replaced: the new BLOB does not verify; the one read before stays in use", "err", err)
				continue
			}
			if taken, err := s.takeFIDOMetadata(ctx, md); err != nil {
				s.cfg.Logger.Error("FIDO metadata not replaced; the one read before stays in use", "err", err)
				continue
			} else if !taken {
				continue // the same BLOB, written again
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

// metadataCollector exports the FIDO metadata BLOB in use, so that
// monitoring can alert on a BLOB left past its next update date. It
// exports nothing when the hub has none.
type metadataCollector struct{ rp *authn.RP }

var (
	metadataNumberDesc = prometheus.NewDesc("shiftgate_fido_metadata_number",
		"The number (no) of the FIDO Metadata Service BLOB in use.", nil, nil)
	metadataNextDesc = prometheus.NewDesc("shiftgate_fido_metadata_next_update_timestamp_seconds",
		"The next update date of the FIDO Metadata Service BLOB in use, as a Unix time: past it, fetch the current BLOB.", nil, nil)
)

func (metadataCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- metadataNumberDesc
	ch <- metadataNextDesc
}

func (c metadataCollector) Collect(ch chan<- prometheus.Metric) {
	md := c.rp.Metadata()
	if md == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(metadataNumberDesc, prometheus.GaugeValue, float64(md.Number))
	ch <- prometheus.MustNewConstMetric(metadataNextDesc, prometheus.GaugeValue, float64(md.NextUpdate.Unix()))
}
