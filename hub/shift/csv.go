package shift

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zone names resolve on hosts without a zoneinfo database
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/store"
)

// Limits on an import file.
const (
	MaxImportBytes = 16 << 20
	MaxImportRows  = 100_000
)

// Import columns. Names are matched case-insensitively.
const (
	ColUserName = "userName"
	ColStart    = "start"
	ColEnd      = "end"
	ColZone     = "zone"
)

// LocalLayouts are the local-time forms accepted besides RFC 3339; they
// need a zone (a zone column, or the importer's default zone).
var LocalLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// ImportOptions tunes ParseCSV.
type ImportOptions struct {
	// Zone is used for local times on rows without a zone column value;
	// nil refuses local times there. With SiteZones it is only the
	// default that Import.Resolve's caller may choose (Import.Zone).
	Zone *time.Location
	// SiteZones keeps the rows with a local time and no zone column value
	// unresolved (UserShifts.Local): where they lie depends on the user,
	// whose sites the parser does not know. The caller places them with
	// Import.Resolve (lifecycle.Engine.ImportShifts does, in the zone of
	// the user's sites).
	SiteZones bool
}

// Import is a parsed, valid import file.
type Import struct {
	// Users in the order of their first row.
	Users []UserShifts
	Rows  int // data rows, header and comments not counted
	// Zone is, with ImportOptions.SiteZones, ImportOptions.Zone: the
	// importer's default zone (--zone) for the Local rows, nil for none.
	// Without SiteZones it is nil: every row is placed.
	Zone *time.Location
}

// UserShifts are one user's shifts from an import: they replace all of
// the user's shifts. Empty Shifts and Local clear them (a row with empty
// start and end).
type UserShifts struct {
	UserName string
	Shifts   []store.Shift // sorted by start, UTC
	Lines    []int         // the line of each shift, in Shifts order; the clearing row's line when Shifts is empty
	// Local are the rows left unresolved (ImportOptions.SiteZones), in
	// file order. A user with Local rows has had Shifts checked one by
	// one but not against each other: Import.Resolve does that.
	Local []LocalRow
	// Failed are the other lines that name the user, refused with a
	// problem, in file order; only ParseCSVPartial's Import of a file
	// with problems has them. With Lines and Local they are every line
	// naming the user, so that a check of the name counts them all.
	Failed []int
}

// LocalRow is an import row with a local time (no UTC offset) and no zone
// column value, kept as written until the user's zone is known. Its times
// have the form of a time; whether they exist in the zone is not known.
type LocalRow struct {
	Line       int
	Start, End string
}

// LineError is one problem in an import file.
type LineError struct {
	Line int // 1-based; 0 for the file as a whole
	Msg  string
}

func (e LineError) String() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// ImportError lists what is wrong with an import file. Nothing of a file
// with an ImportError is applied.
type ImportError struct {
	Problems []LineError
	// Truncated says that more problems were found than are listed.
	Truncated bool
	// More is how many problems were found beyond Problems (a parse that
	// stops early, at MaxImportRows, may have found fewer than there are).
	More int
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s); nothing was imported", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	switch {
	case e.More > 0:
		fmt.Fprintf(&b, "\n  … and %d more not listed: fix these first", e.More)
	case e.Truncated:
		b.WriteString("\n  … more problems not listed: fix these first")
	}
	return b.String()
}

// Unwrap lets callers test for ErrInvalid.
func (e *ImportError) Unwrap() error { return ErrInvalid }

// MaxProblems caps the problems an ImportError lists.
const MaxProblems = 100

type problems struct{ e ImportError }

func (p *problems) add(line int, format string, args ...any) {
	if len(p.e.Problems) >= MaxProblems {
		p.e.Truncated = true
		p.e.More++
		return
	}
	p.e.Problems = append(p.e.Problems, LineError{Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.e.Problems) == 0 {
		return nil
	}
	e := p.e
	return &e
}

// ParseCSV reads an HR/WFM shift export:
//
//	userName,start,end[,zone]
//	ana,2026-12-01T06:00:00+01:00,2026-12-01T14:00:00+01:00
//	ben,2026-12-01 22:00,2026-12-02 06:00,Europe/Berlin
//	cleo,,
//
// The header names the columns, in any order (userName, start and end are
// required; zone is optional); lines starting with # are comments. Times
// are RFC 3339 with an offset, or a local time (LocalLayouts) in the row's
// zone (an IANA name) or opts.Zone. A local time that does not exist in
// its zone (clocks go forward) or exists twice (clocks go back) is refused:
// give it with an offset. A row with empty start and end clears that user's
// shifts and must be the user's only row.
//
// The file is UTF-8 (a byte order mark is skipped); a UTF-16 file and a
// line that is not UTF-8 (a spreadsheet's plain CSV, in the computer's
// code page) are refused with what to save instead. Lines end in a line
// feed (CRLF included), or, in a file without any, in a carriage return
// alone (Excel for Mac's "CSV (Macintosh)").
//
// Every problem is reported with its line number (up to a limit); on any
// problem the result is an *ImportError and nothing is returned.
func ParseCSV(r io.Reader, opts ImportOptions) (Import, error) {
	imp, err := ParseCSVPartial(r, opts)
	if err != nil {
		return Import{}, err
	}
	return imp, nil
}

// ParseCSVPartial is ParseCSV for an importer that reports every problem
// of a file in one run: with the *ImportError for problems on the file's
// lines it also returns the Import of the lines that did parse, so that
// the caller can check those further (that each userName names a user and
// the zone of each user's local times: lifecycle.Engine.ImportShifts in a
// dry run) and report those problems with the parser's (JoinImportErrors).
//
// That Import is for checking only and must never be applied: it lacks
// the lines that failed, so it would give users part of their schedule.
// Those lines are each user's Failed; a user all of whose lines failed is
// in it without shifts and with those lines as Lines, so that their name
// is checked too. So is the name on a line with the wrong number of
// fields, when the line reaches the userName column, and on a line with a
// field that is not UTF-8, when the name is. A problem with the
// file as a whole (its size, its header) gives an empty Import, as does a
// read error, which is returned as it is.
func ParseCSVPartial(r io.Reader, opts ImportOptions) (Import, error) {
	var ps problems
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return Import{}, fmt.Errorf("read shift import: %w", err)
	}
	if len(data) > MaxImportBytes {
		ps.add(0, "the file is larger than %d MiB: split it into several imports (each replaces the shifts of the users it lists)", MaxImportBytes>>20)
		return Import{}, ps.err()
	}
	if len(data) >= 2 && (data[0] == 0xff && data[1] == 0xfe || data[0] == 0xfe && data[1] == 0xff) {
		// A UTF-16 byte order mark: a spreadsheet's "Unicode text" export,
		// whose every other byte is a NUL the header would be refused
		// for, column by column.
		ps.add(0, "the file is UTF-16 text (a spreadsheet's \"Unicode text\" export): save it as \"CSV UTF-8\", comma-separated, and import that")
		return Import{}, ps.err()
	}
	text := strings.TrimPrefix(string(data), "\ufeff") // a spreadsheet's byte order mark
	if !strings.Contains(text, "\n") {
		// Lines that end in a carriage return alone (Excel for Mac's "CSV
		// (Macintosh)"): encoding/csv ends lines at line feeds only, and
		// would read the whole file as one header line. A file with no
		// line feed at all has no other line ends to keep.
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		ps.add(0, "the file is empty: it needs a header line %s,%s,%s[,%s] and one line per shift", ColUserName, ColStart, ColEnd, ColZone)
		return Import{}, ps.err()
	}
	if err != nil {
		ps.add(csvLine(err), "%s", csvProblem(err))
		return Import{}, ps.err()
	}
	// The reader reuses the record's storage (ReuseRecord): keep the
	// header, which problems quote, apart from the lines read after it.
	header = slices.Clone(header)
	headerLine, _ := cr.FieldPos(0) // comments and blank lines may come first
	cols, ok := parseHeader(header, headerLine, &ps)
	if !ok {
		return Import{}, ps.err()
	}

	type userRows struct {
		name   string
		shifts []store.Shift
		lines  []int
		local  []LocalRow
		clear  int   // line of a clearing row
		named  []int // every line naming the user, whether it parsed or not
	}
	byKey := map[string]*userRows{}
	var order []*userRows
	// userOn returns the user a line names, noting the line.
	userOn := func(name string, line int) *userRows {
		key := store.FoldName(name)
		u := byKey[key]
		if u == nil {
			u = &userRows{name: name}
			byKey[key] = u
			order = append(order, u)
		}
		u.named = append(u.named, line)
		return u
	}
	zones := map[string]*time.Location{}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The reader resumes after a malformed record: report it and
			// carry on, so one import run lists every problem.
			// Past MaxProblems it only counts them ("and N more").
			ps.add(csvLine(err), "%s", csvProblem(err))
			if csvLine(err) == 0 {
				break
			}
			continue
		}
		rows++
		line, _ := cr.FieldPos(0)
		if rows > MaxImportRows {
			ps.add(line, "more than %d shift lines: split the file into several imports", MaxImportRows)
			break
		}
		if i := slices.IndexFunc(rec, func(f string) bool { return !utf8.ValidString(f) }); i >= 0 {
			// A spreadsheet's plain CSV is in the computer's code page
			// (Windows-1252: é is the byte 0xE9). Such a name is no
			// user's, whose name is UTF-8, though it is spelled right:
			// say why, and do not report it as an unknown user.
			ps.add(line, "%q is not UTF-8 text: save the file as \"CSV UTF-8\" (a spreadsheet's plain CSV is in the computer's code page, such as Windows-1252) and import that", rec[i])
			if cols.user < len(rec) && utf8.ValidString(rec[cols.user]) && strings.TrimSpace(rec[cols.user]) != "" {
				userOn(strings.TrimSpace(rec[cols.user]), line) // a name that is text is checked too
			}
			continue
		}
		if len(rec) != len(header) {
			ps.add(line, "%d fields, the header has %d: every line needs %s", len(rec), len(header), strings.Join(header, ","))
			if cols.user < len(rec) && strings.TrimSpace(rec[cols.user]) != "" {
				userOn(strings.TrimSpace(rec[cols.user]), line) // its name is checked too
			}
			continue
		}
		name := strings.TrimSpace(rec[cols.user])
		startText, endText := strings.TrimSpace(rec[cols.start]), strings.TrimSpace(rec[cols.end])
		zoneText := ""
		if cols.zone >= 0 {
			zoneText = strings.TrimSpace(rec[cols.zone])
		}
		if name == "" {
			ps.add(line, "%s is empty: name the user whose shift this is", ColUserName)
			continue
		}
		u := userOn(name, line)
		if startText == "" && endText == "" {
			if u.clear != 0 || len(u.lines) > 0 || len(u.local) > 0 {
				ps.add(line, "a line with empty %s and %s clears %s's shifts, so it must be that user's only line", ColStart, ColEnd, name)
			}
			u.clear = line
			continue
		}
		if u.clear != 0 {
			ps.add(line, "line %d clears %s's shifts, so %s can have no other line", u.clear, name, name)
			continue
		}
		if zoneText == "" && opts.SiteZones && (isLocal(startText) || isLocal(endText)) {
			// The zone is the user's: check the form now, place it later.
			if _, msg := parseTime(startText, time.UTC, ""); msg != "" {
				ps.add(line, "%s: %s", ColStart, msg)
				continue
			}
			if _, msg := parseTime(endText, time.UTC, ""); msg != "" {
				ps.add(line, "%s: %s", ColEnd, msg)
				continue
			}
			u.local = append(u.local, LocalRow{Line: line, Start: startText, End: endText})
			continue
		}
		loc := opts.Zone
		if zoneText != "" {
			if l, ok := zones[zoneText]; ok {
				loc = l
			} else if l, err := time.LoadLocation(zoneText); err != nil || zoneText == "Local" {
				ps.add(line, "%s %q is not an IANA time zone name such as Europe/Berlin or America/Chicago", ColZone, zoneText)
				zones[zoneText] = nil
				continue
			} else {
				zones[zoneText], loc = l, l
			}
			if loc == nil {
				continue // reported on its first use
			}
		}
		s, p := rowShift(startText, endText, loc, zoneText)
		if p != "" {
			ps.add(line, "%s", p)
			continue
		}
		u.shifts = append(u.shifts, s)
		u.lines = append(u.lines, line)
	}

	out := Import{Rows: rows}
	if opts.SiteZones {
		out.Zone = opts.Zone
	}
	for _, u := range order {
		us := UserShifts{UserName: u.name}
		add := func() {
			us.Failed = failedLines(u.named, us)
			out.Users = append(out.Users, us)
		}
		if u.clear != 0 {
			us.Shifts, us.Lines = []store.Shift{}, []int{u.clear}
			add()
			continue
		}
		if len(u.local) > 0 {
			// Checked against each other once placed (Resolve).
			us.Shifts, us.Lines, us.Local = u.shifts, u.lines, u.local
			add()
			continue
		}
		us.Shifts, us.Lines = u.shifts, u.lines
		for _, p := range finish(&us) {
			ps.add(p.Line, "%s", p.Msg)
		}
		if len(us.Shifts) == 0 {
			// Every line naming the user failed (there are problems):
			// kept for the name check.
			us.Shifts, us.Lines = []store.Shift{}, u.named
		}
		add()
	}
	if err := ps.err(); err != nil {
		return out, err
	}
	if len(out.Users) == 0 {
		ps.add(0, "no shift lines after the header: nothing to import")
		return Import{}, ps.err()
	}
	return out, nil
}

// failedLines are the lines of named that are in neither us.Lines nor
// us.Local, in file order.
func failedLines(named []int, us UserShifts) []int {
	used := make(map[int]bool, len(us.Lines)+len(us.Local))
	for _, l := range us.Lines {
		used[l] = true
	}
	for _, r := range us.Local {
		used[r.Line] = true
	}
	var out []int
	for _, l := range named {
		if !used[l] {
			out = append(out, l)
		}
	}
	return out
}

// Resolve places the Local rows of imp's users (ImportOptions.SiteZones):
// each user's in the zone zoneFor returns for it, or, when zoneFor
// returns a problem instead, none of them (the problem is reported on the
// user's first Local line). A nil zone refuses local times, as ParseCSV
// without a zone does. The placed rows are checked as ParseCSV checks
// rows, and each such user's shifts against each other; zoneFor is not
// called for users without Local rows. The result has no Local rows.
//
// The problems are returned in line order and not capped, so that the
// caller can add its own before it builds the error (NewImportError); on
// any problem the Import returned is not to be applied.
func (imp Import) Resolve(zoneFor func(UserShifts) (*time.Location, string)) (Import, []LineError) {
	out := Import{Rows: imp.Rows, Zone: imp.Zone, Users: make([]UserShifts, 0, len(imp.Users))}
	var bad []LineError
	for _, us := range imp.Users {
		if len(us.Local) == 0 {
			out.Users = append(out.Users, us)
			continue
		}
		loc, msg := zoneFor(us)
		if msg != "" {
			bad = append(bad, LineError{Line: us.Local[0].Line, Msg: msg})
			continue
		}
		placed := UserShifts{UserName: us.UserName, Shifts: slices.Clone(us.Shifts), Lines: slices.Clone(us.Lines)}
		ok := true
		for _, r := range us.Local {
			s, p := rowShift(r.Start, r.End, loc, "")
			if p != "" {
				bad, ok = append(bad, LineError{Line: r.Line, Msg: p}), false
				continue
			}
			placed.Shifts = append(placed.Shifts, s)
			placed.Lines = append(placed.Lines, r.Line)
		}
		if !ok {
			continue
		}
		bad = append(bad, finish(&placed)...)
		out.Users = append(out.Users, placed)
	}
	slices.SortStableFunc(bad, func(a, b LineError) int { return a.Line - b.Line })
	return out, bad
}

// NewImportError is the error for problems (nil for none): in line order,
// at most MaxProblems of them, the rest counted (ImportError.More).
func NewImportError(problems []LineError) error {
	if e := JoinImportErrors(&ImportError{Problems: problems}); e != nil {
		return e
	}
	return nil
}

// JoinImportErrors is one ImportError listing the problems of errs (nil
// ones are skipped) in line order, the parser's before others on the same
// line when given first; at most MaxProblems are listed and the rest,
// with those errs had already left off, counted in More. It is nil when
// there is no problem.
func JoinImportErrors(errs ...*ImportError) *ImportError {
	out := &ImportError{}
	for _, e := range errs {
		if e == nil {
			continue
		}
		out.Problems = append(out.Problems, e.Problems...)
		out.More += e.More
		out.Truncated = out.Truncated || e.Truncated
	}
	if len(out.Problems) == 0 && out.More == 0 {
		return nil
	}
	slices.SortStableFunc(out.Problems, func(a, b LineError) int { return a.Line - b.Line })
	if n := len(out.Problems) - MaxProblems; n > 0 {
		out.Problems, out.More = out.Problems[:MaxProblems], out.More+n
	}
	out.Truncated = out.Truncated || out.More > 0
	return out
}

// rowShift is the shift of one row, its times read in loc (named
// zoneName, "" for loc's own name), or what to fix about the row.
func rowShift(startText, endText string, loc *time.Location, zoneName string) (store.Shift, string) {
	start, msg := parseTime(startText, loc, zoneName)
	if msg != "" {
		return store.Shift{}, ColStart + ": " + msg
	}
	end, msg := parseTime(endText, loc, zoneName)
	if msg != "" {
		return store.Shift{}, ColEnd + ": " + msg
	}
	s := store.Shift{Start: start.UTC(), End: end.UTC()}
	if p := check(s); p != "" {
		if s.End.Before(s.Start) && s.Start.Sub(s.End) < MaxLength {
			p += "; a night shift ends on the next day: give its end with that day's date"
		}
		return store.Shift{}, fmt.Sprintf("the shift %s %s", Format(s), p)
	}
	return s, ""
}

// finish sorts us's shifts (with their lines) by start and returns what
// is wrong with them together: too many, or overlapping.
func finish(us *UserShifts) []LineError {
	idx := make([]int, len(us.Shifts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return us.Shifts[a].Start.Compare(us.Shifts[b].Start) })
	shifts, lines := make([]store.Shift, 0, len(idx)), make([]int, 0, len(idx))
	for _, i := range idx {
		shifts = append(shifts, us.Shifts[i])
		lines = append(lines, us.Lines[i])
	}
	us.Shifts, us.Lines = shifts, lines
	if len(shifts) == 0 {
		us.Shifts, us.Lines = nil, nil
	}
	var bad []LineError
	if len(shifts) > MaxShifts {
		bad = append(bad, LineError{Line: lines[0], Msg: fmt.Sprintf("%s has %d shifts in this file; at most %d per user: leave out shifts that are over", us.UserName, len(shifts), MaxShifts)})
	}
	for i := 1; i < len(shifts); i++ {
		if shifts[i].Start.Before(shifts[i-1].End) {
			bad = append(bad, LineError{Line: lines[i], Msg: fmt.Sprintf("%s's shift %s overlaps the shift on line %d (%s): a worker is in one shift at a time", us.UserName, Format(shifts[i]), lines[i-1], Format(shifts[i-1]))})
		}
	}
	return bad
}

// isLocal reports whether s has the form of a local time (LocalLayouts).
func isLocal(s string) bool {
	for _, layout := range LocalLayouts {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

type columns struct{ user, start, end, zone int }

func parseHeader(header []string, line int, ps *problems) (columns, bool) {
	cols := columns{-1, -1, -1, -1}
	ok := true
	// A spreadsheet writes a header cell with no name (and an empty field
	// on every line) for each column to the right of the table that ever
	// had a cell formatted. Those columns are refused once, saying what to
	// delete, instead of as an unknown column "" each. They are not
	// ignored: a value typed under no name would be dropped without a word.
	named := len(header)
	for named > 0 && strings.TrimSpace(header[named-1]) == "" {
		named--
	}
	if named == 0 {
		// A line of empty cells only is no header with empty columns at
		// its right (deleting those would delete every column): a
		// spreadsheet writes it for an empty row above the table.
		ps.add(line, "the header line names no column, its cells are all empty (a spreadsheet writes such a line for an empty row above the table): the first line must name the columns, e.g. %s,%s,%s; delete the empty rows above it", ColUserName, ColStart, ColEnd)
		return cols, false
	}
	if n := len(header) - named; n > 0 {
		plural := "s"
		if n == 1 {
			plural = ""
		}
		ps.add(line, "the header ends in %d column%s without a name (a spreadsheet writes them when cells to the right of the table were ever formatted): delete the empty columns at the right of the header, save and import again", n, plural)
		ok = false
	}
	for i, h := range header[:named] {
		h = strings.TrimSpace(h)
		var slot *int
		switch {
		case strings.EqualFold(h, ColUserName):
			slot = &cols.user
		case strings.EqualFold(h, ColStart):
			slot = &cols.start
		case strings.EqualFold(h, ColEnd):
			slot = &cols.end
		case strings.EqualFold(h, ColZone):
			slot = &cols.zone
		case h == "":
			ps.add(line, "column %d of the header has no name: name it (%s, %s, %s or %s) or delete it", i+1, ColUserName, ColStart, ColEnd, ColZone)
			ok = false
			continue
		default:
			sep := ""
			if len(header) == 1 && strings.ContainsAny(h, ";\t") {
				sep = " separated by commas" // a spreadsheet's semicolon or tab export
			}
			ps.add(line, "unknown column %q: the columns are %s, %s, %s and optionally %s%s", h, ColUserName, ColStart, ColEnd, ColZone, sep)
			ok = false
			continue
		}
		if *slot >= 0 {
			ps.add(line, "column %q appears twice", h)
			ok = false
		}
		*slot = i
	}
	for _, c := range []struct {
		name string
		at   int
	}{{ColUserName, cols.user}, {ColStart, cols.start}, {ColEnd, cols.end}} {
		if c.at < 0 && ok {
			ps.add(line, "the header lacks the %s column: the first line must name the columns, e.g. %s,%s,%s", c.name, ColUserName, ColStart, ColEnd)
			ok = false
		}
	}
	return cols, ok
}

// parseTime reads an RFC 3339 time, or a local time in loc. It returns a
// message saying what to fix when it cannot.
func parseTime(s string, loc *time.Location, zoneName string) (time.Time, string) {
	if s == "" {
		return time.Time{}, "is empty: give a time, e.g. 2026-12-01T06:00:00+01:00 (only a clearing line has empty start and end)"
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, ""
	}
	for _, layout := range LocalLayouts {
		wall, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if loc == nil {
			return time.Time{}, fmt.Sprintf("%q has no UTC offset: write it as RFC 3339 (e.g. %s+01:00), add a %s column, or pass a default zone (--zone Europe/Berlin)", s, wall.Format("2006-01-02T15:04:05"), ColZone)
		}
		if zoneName == "" {
			zoneName = loc.String()
		}
		return inZone(s, wall, loc, zoneName)
	}
	return time.Time{}, fmt.Sprintf("%q is not a time: use RFC 3339 (2026-12-01T06:00:00+01:00 or …Z) or a local time like 2026-12-01 06:00 with a zone", s)
}

// inZone places a wall-clock time in loc, refusing times that a daylight
// saving change skips or repeats.
func inZone(s string, wall time.Time, loc *time.Location, zoneName string) (time.Time, string) {
	var found []time.Time
	naive := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), time.UTC)
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := naive.Add(probe).In(loc).Zone()
		t := naive.Add(-time.Duration(off) * time.Second).In(loc)
		if t.Year() == wall.Year() && t.Month() == wall.Month() && t.Day() == wall.Day() &&
			t.Hour() == wall.Hour() && t.Minute() == wall.Minute() && t.Second() == wall.Second() &&
			!slices.ContainsFunc(found, t.Equal) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return time.Time{}, fmt.Sprintf("%q does not exist in %s (the clocks skip it): give the time with its UTC offset", s, zoneName)
	case 1:
		return found[0], ""
	}
	return time.Time{}, fmt.Sprintf("%q happens twice in %s (the clocks go back): give the time with its UTC offset, e.g. %s or %s",
		s, zoneName, found[0].Format(time.RFC3339), found[1].Format(time.RFC3339))
}

// csvLine is the line a csv error is on: the line its record starts on,
// where a quote left open was opened (the reader reports the line it gave
// up on, which for an unclosed quote is the end of the file).
func csvLine(err error) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.StartLine
	}
	return 0
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case pe.StartLine != pe.Line:
			return fmt.Sprintf("a quote opened on this line is not closed on it, so lines %d to %d were read as one line: quote whole fields (\"…\") and double quotes inside them", pe.StartLine, pe.Line)
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			return "a quote is misplaced: quote whole fields (\"…\") and double quotes inside them"
		}
		return pe.Err.Error()
	}
	return err.Error()
}
