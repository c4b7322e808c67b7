package governance

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// MaxRequestBytes caps a governance API request body.
const MaxRequestBytes = 64 << 10

// maxDormantDays bounds --dormant-days and ?dormant_days=.
const maxDormantDays = 3650

// ParseDue reads a due date: RFC 3339 (2026-12-01T17:00:00Z) or a plain
// date (2026-12-01), which means the whole of that day, UTC: its last
// instant (23:59:59.999999999), since decisions are timed to the
// nanosecond and one made at 23:59:59.4 is on time.
func ParseDue(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, invalid("give a due date, e.g. 2026-12-01 or 2026-12-01T17:00:00Z")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return checkYear(t.UTC())
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return checkYear(t.AddDate(0, 0, 1).Add(-time.Nanosecond))
	}
	return time.Time{}, invalid("due date %q: want 2026-12-01 or 2026-12-01T17:00:00Z", clipQuote(s))
}

func checkYear(t time.Time) (time.Time, error) {
	if t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, invalid("due date %s is out of range", t.Format(time.RFC3339))
	}
	return t, nil
}

// ParseDormantDays reads a number of days without a login (1 to 3650);
// "" means the configured default (0).
func ParseDormantDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxDormantDays {
		return 0, invalid("dormant days %q: want a whole number of days from 1 to %d", clipQuote(s), maxDormantDays)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

// ParseItemPage reads the paging of a campaign's items from a query's
// startIndex, count and decision ("" is a parameter not given), as the
// hub's SCIM lists read theirs: an integer of any length (one beyond an
// int is the largest of its sign, and then capped like any other), and
// out-of-range values normalized, not refused (a client that asks for
// "everything" with a huge count gets the first page). decision is
// pending, decided, keep or revoke, in any case.
func ParseItemPage(startIndex, count, decision string) (ItemPage, error) {
	p := FirstPage()
	for _, f := range []struct {
		name, s string
		to      *int
	}{{"startIndex", startIndex, &p.StartIndex}, {"count", count, &p.Count}} {
		if f.s == "" {
			continue
		}
		n, err := strconv.Atoi(f.s)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return ItemPage{}, invalid("%s %q: want an integer", f.name, clipQuote(f.s))
		}
		*f.to = n
	}
	p.Decision = strings.ToLower(strings.TrimSpace(decision))
	switch p.Decision {
	case "", FilterPending, FilterDecided, DecisionKeep, DecisionRevoke:
	default:
		return ItemPage{}, invalid("decision %q: want pending, decided, keep or revoke", clipQuote(decision))
	}
	return p.normalized(), nil
}

func clipQuote(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// decodeStrict decodes one JSON object, refusing unknown fields and
// trailing data, so a typo ("privilaged") is an error, not a wider scope.
// A name given twice (compared without case, as the decoder matches
// names, which keeps the last) is refused too: {"privileged":true,
// "Privileged":false} must not read as one scope and start another.
func decodeStrict(b []byte, v any) error {
	if name, dup := policy.DuplicateKey(b); dup {
		return invalid("the body names %q twice in one object (names are compared without case): give each once", clipQuote(name))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// Not Go's "EOF" for an empty or cut-off body, as PUT /policy
		// says it.
		msg := policy.JSONProblem(err)
		switch {
		case errors.Is(err, io.EOF):
			msg = "it is empty"
		case errors.Is(err, io.ErrUnexpectedEOF):
			msg = "it ends before its JSON object does"
		}
		return invalid("the body is not the expected JSON object: %s", clipQuote(msg))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("the body has data after its JSON object")
	}
	return nil
}

// DecodeCampaignRequest reads a campaign request body:
//
//	{"name": "Q4 north", "due": "2026-12-01",
//	 "scope": {"sites": ["north"], "roles": ["Nurse"], "privileged": false, "external": false}}
//
// Every scope field is optional. Checks that depend on the clock (the due
// date lies ahead) come when the campaign starts.
func DecodeCampaignRequest(b []byte) (CampaignRequest, error) {
	var in struct {
		Name  string            `json:"name"`
		Due   string            `json:"due"`
		Scope store.ReviewScope `json:"scope"`
	}
	if err := decodeStrict(b, &in); err != nil {
		return CampaignRequest{}, err
	}
	due, err := ParseDue(in.Due)
	if err != nil {
		return CampaignRequest{}, err
	}
	return CampaignRequest{Name: in.Name, Due: due, Scope: in.Scope}, nil
}

// Decision is a reviewer's decision body: {"decision": "keep"|"revoke"|"comment", "comment": TEXT}.
type Decision struct {
	Decision string `json:"decision"`
	Comment  string `json:"comment"`
}

// DecodeDecision reads a decision body; Decide checks its values.
func DecodeDecision(b []byte) (Decision, error) {
	var d Decision
	if err := decodeStrict(b, &d); err != nil {
		return Decision{}, err
	}
	return d, nil
}
