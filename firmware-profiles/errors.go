package profiles

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrNotFound is returned (wrapped) by Get for a name that is not a built-in
// profile.
var ErrNotFound = errors.New("no such profile")

// Problem is one thing wrong with a profile file.
type Problem struct {
	File    string // the file, as given to Parse, Load or LoadDir
	Field   string // field path such as apps.Nurse[1].command; empty for the whole file
	Message string // what is wrong, and where it helps, what is expected
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists every problem found in one or more profile files.
// Parse, Load, LoadDir, Builtin, Get and Validate return it as a
// *ValidationError; use errors.As to get at the list.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems one per line, "file: field: message".
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// fieldOrder is the file format's top-level field order; problems are
// reported in it so that a list reads like the file.
var fieldOrder = []string{
	"version", "name", "description", "authenticator", "allowedAAGUIDs",
	"userVerification", "idleTimeout", "maxSession", "display", "apps", "teardown",
}

// topField returns the first segment of a field path.
func topField(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// sortProblems orders problems by file, then by top-level field in format
// order (whole-file problems, then unknown top-level fields, first), keeping
// the order they were found in otherwise.
func sortProblems(ps []Problem) {
	rank := func(p Problem) int {
		if p.Field == "" {
			return -2
		}
		return slices.Index(fieldOrder, topField(p.Field)) // -1 for unknown fields
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(rank(a), rank(b)))
	})
}

// problems collects problems for one file.
type problems struct {
	file string
	list []Problem
	bad  map[string]bool // fields already reported as malformed; skip checks inside them
}

func (ps *problems) add(field, msg string) {
	ps.list = append(ps.list, Problem{File: ps.file, Field: field, Message: msg})
}

// malformed records a problem with a field's syntax or type, after which its
// value is not checked further.
func (ps *problems) malformed(field, msg string) {
	ps.add(field, msg)
	if ps.bad == nil {
		ps.bad = make(map[string]bool)
	}
	ps.bad[field] = true
}

// addf adds a problem unless its field is inside one already reported as
// malformed.
func (ps *problems) addf(field, format string, args ...any) {
	if !ps.isBad(field) {
		ps.add(field, fmt.Sprintf(format, args...))
	}
}

// isBad reports whether field lies inside a malformed one; when the whole
// file is malformed (field ""), every field is.
// It looks up each enclosing path, so it costs the same however many fields
// are malformed.
func (ps *problems) isBad(field string) bool {
	if len(ps.bad) == 0 {
		return false
	}
	for i := 0; i <= len(field); i++ {
		if i == len(field) || field[i] == '.' || field[i] == '[' {
			if ps.bad[field[:i]] {
				return true
			}
		}
	}
	return ps.bad[""]
}
