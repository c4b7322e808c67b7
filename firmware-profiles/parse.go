package profiles

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

//go:embed *.json
var builtin embed.FS

// fileV1 is the on-disk format, version 1. Durations and AAGUIDs are strings
// here so that a bad one is a reported problem, not a decoding failure that
// hides every later one.
type fileV1 struct {
	Version          *int                 `json:"version"`
	Name             string               `json:"name"`
	Description      string               `json:"description"`
	Authenticator    fileAuthenticator    `json:"authenticator"`
	AllowedAAGUIDs   []string             `json:"allowedAAGUIDs"`
	UserVerification fileUV               `json:"userVerification"`
	IdleTimeout      string               `json:"idleTimeout"`
	MaxSession       string               `json:"maxSession"`
	OfflineGrace     string               `json:"offlineGrace"`
	Display          fileDisplay          `json:"display"`
	Apps             map[string][]fileApp `json:"apps"`
	Teardown         []fileStep           `json:"teardown"`
}

type fileAuthenticator struct {
	Transports []string `json:"transports"`
	Reader     string   `json:"reader"`
}

type fileUV struct {
	Default string            `json:"default"`
	Roles   map[string]string `json:"roles"`
}

type fileDisplay struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Scale  float64 `json:"scale"`
}

type fileApp struct {
	ID      string   `json:"id"`
	Label   string   `json:"label"`
	Command []string `json:"command"`
}

type fileStep struct {
	Action string `json:"action"`
	Grace  string `json:"grace"`
}

// Parse decodes and validates one profile. file names where data came from
// (a path or a base name such as "rpi5-touch.json"); problems name it, and the
// profile's name must equal its base name without ".json". On any problem
// Parse returns a *ValidationError listing all of them and no profile.
func Parse(file string, data []byte) (*Profile, error) {
	ps := &problems{file: file}
	if err := scan(data, ps); err != nil {
		return nil, &ValidationError{Problems: []Problem{{File: file, Message: syntaxProblem(data, err)}}}
	}
	var f fileV1
	dec := json.NewDecoder(bytes.NewReader(data))
	if len(ps.list) == 0 {
		// The scan found nothing, so the strict decoder must agree.
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			ps.add("", "decode: "+strings.TrimPrefix(err.Error(), "json: "))
			return nil, &ValidationError{Problems: ps.list}
		}
	} else {
		// Unknown fields and wrong types are already reported with their
		// paths; decode the rest to report its problems too. The decoder
		// skips mistyped values and returns the first of them, which the
		// scan has reported.
		var te *json.UnmarshalTypeError
		if err := dec.Decode(&f); err != nil && !errors.As(err, &te) {
			ps.add("", "decode: "+strings.TrimPrefix(err.Error(), "json: "))
			sortProblems(ps.list)
			return nil, &ValidationError{Problems: ps.list}
		}
	}
	p := convert(&f, ps)
	p.check(ps)
	if len(ps.list) > 0 {
		sortProblems(ps.list)
		return nil, &ValidationError{Problems: ps.list}
	}
	return p, nil
}

// convert turns the file form into a Profile, reporting values that do not
// parse (durations, AAGUIDs) and a missing version.
func convert(f *fileV1, ps *problems) *Profile {
	p := &Profile{
		File:        ps.file,
		Name:        f.Name,
		Description: f.Description,
		Authenticator: Authenticator{
			Reader: Reader(f.Authenticator.Reader),
		},
		UserVerification: UserVerification{Default: UV(f.UserVerification.Default)},
		Display:          Display(f.Display),
	}
	if f.Version == nil {
		if !ps.isBad("version") {
			ps.malformed("version", fmt.Sprintf("missing; must be %d", Version))
		}
	} else {
		p.Version = *f.Version
	}
	for _, t := range f.Authenticator.Transports {
		p.Authenticator.Transports = append(p.Authenticator.Transports, Transport(t))
	}
	if f.AllowedAAGUIDs == nil && !ps.isBad("allowedAAGUIDs") {
		// Only an explicit [] means any model: a file without the field
		// must not open the kiosk to every authenticator.
		ps.malformed("allowedAAGUIDs", "missing; list the AAGUIDs of the authenticator models allowed, or [] for any model")
	}
	for i, s := range f.AllowedAAGUIDs {
		field := index("allowedAAGUIDs", i)
		id, err := uuid.Parse(s)
		if err != nil || len(s) != 36 {
			ps.malformed(field, fmt.Sprintf("%q is not a UUID like 2fc0579f-8113-47ea-b116-bb5a8db9202a", s))
			id = uuid.Nil // a placeholder keeps later indexes equal to the file's
		}
		p.AllowedAAGUIDs = append(p.AllowedAAGUIDs, id)
	}
	if f.UserVerification.Roles != nil {
		p.UserVerification.Roles = make(map[string]UV, len(f.UserVerification.Roles))
		for role, uv := range f.UserVerification.Roles {
			p.UserVerification.Roles[role] = UV(uv)
		}
	}
	p.IdleTimeout = duration(ps, "idleTimeout", f.IdleTimeout)
	p.MaxSession = duration(ps, "maxSession", f.MaxSession)
	switch {
	case f.OfflineGrace != "":
		p.OfflineGrace = duration(ps, "offlineGrace", f.OfflineGrace)
	case p.MaxSession > 0:
		p.OfflineGrace = min(DefaultOfflineGrace, p.MaxSession)
	default:
		p.OfflineGrace = DefaultOfflineGrace
	}
	if f.Apps != nil {
		p.Apps = make(map[string][]App, len(f.Apps))
		for role, apps := range f.Apps {
			list := make([]App, 0, len(apps))
			for _, a := range apps {
				list = append(list, App{ID: a.ID, Label: a.Label, Command: a.Command})
			}
			p.Apps[role] = list
		}
	}
	for i, s := range f.Teardown {
		st := Step{Action: Action(s.Action)}
		switch {
		case s.Grace != "":
			st.Grace = duration(ps, index("teardown", i)+".grace", s.Grace)
		case st.Action == ActionTerminate:
			st.Grace = DefaultGrace
		}
		p.Teardown = append(p.Teardown, st)
	}
	return p
}

// duration parses a Go duration string; a missing one is reported by check.
func duration(ps *problems, field, s string) time.Duration {
	if s == "" || ps.isBad(field) {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		ps.malformed(field, fmt.Sprintf("%q is not a duration like \"90s\", \"5m\" or \"12h\"", s))
		return 0
	}
	return d
}

// maxFileBytes bounds a profile file: Load and LoadDir refuse a larger one
// (a *ValidationError naming it) before reading it whole. A profile is a
// few kilobytes of JSON.
const maxFileBytes = 1 << 20

// Load reads and validates the profile file at path.
func Load(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load profile: %w", err)
	}
	defer f.Close()
	data, err := readLimited(f, path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// readLimited reads r, the profile file called file, refusing one larger
// than maxFileBytes with a *ValidationError.
func readLimited(r io.Reader, file string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load profile %s: %w", file, err)
	}
	if len(data) > maxFileBytes {
		return nil, &ValidationError{Problems: []Problem{{File: file, Message: fmt.Sprintf("the file is larger than %d bytes: a profile is a few kilobytes of JSON", maxFileBytes)}}}
	}
	return data, nil
}

// LoadDir reads and validates every *.json file directly inside dir and
// returns them by name. If any file has problems, it returns no profiles and
// one *ValidationError with the problems of every file.
func LoadDir(dir string) (map[string]*Profile, error) {
	return loadFS(os.DirFS(dir), func(name string) string { return filepath.Join(dir, name) })
}

// Builtin returns the profiles shipped in this package, by name.
func Builtin() (map[string]*Profile, error) {
	return loadFS(builtin, func(name string) string { return name })
}

// Get returns the built-in profile called name. For an unknown name the error
// wraps ErrNotFound and lists the built-in names.
func Get(name string) (*Profile, error) {
	data, err := builtin.ReadFile(name + ".json")
	if err != nil || !validName.MatchString(name) {
		names, _ := fs.Glob(builtin, "*.json")
		for i, n := range names {
			names[i] = strings.TrimSuffix(n, ".json")
		}
		return nil, fmt.Errorf("get profile %q: %w (built-in: %s)", name, ErrNotFound, strings.Join(names, ", "))
	}
	return Parse(name+".json", data)
}

func loadFS(fsys fs.FS, display func(name string) string) (map[string]*Profile, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("load profiles: %w", err)
	}
	out := make(map[string]*Profile)
	var all []Problem
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p, err := loadFile(fsys, e.Name(), display(e.Name()))
		var ve *ValidationError
		switch {
		case errors.As(err, &ve):
			all = append(all, ve.Problems...)
		case err != nil:
			return nil, err
		default:
			out[p.Name] = p
		}
	}
	if len(all) > 0 {
		slices.SortStableFunc(all, func(a, b Problem) int { return strings.Compare(a.File, b.File) })
		return nil, &ValidationError{Problems: all}
	}
	return out, nil
}

// loadFile reads and parses the profile file name of fsys, called file in
// problems.
func loadFile(fsys fs.FS, name, file string) (*Profile, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("load profile %s: %w", file, err)
	}
	defer f.Close()
	data, err := readLimited(f, file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}
