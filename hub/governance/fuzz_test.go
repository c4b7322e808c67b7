package governance_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		// The whole day: a decision at 23:59:59.4 is on time.
		{"2026-12-01", time.Date(2026, 12, 1, 23, 59, 59, 999999999, time.UTC)},
		{"2026-12-01T17:00:00+02:00", time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)},
	} {
		if got, err := governance.ParseDue(tc.in); err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("ParseDue(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "tomorrow", "1999-01-01", "9999-12-31", "2026-13-01"} {
		if _, err := governance.ParseDue(in); !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("ParseDue(%q): %v, want invalid", in, err)
		}
	}
	if d, err := governance.ParseDormantDays("45"); err != nil || d != 45*24*time.Hour {
		t.Errorf("ParseDormantDays(45) = %v, %v", d, err)
	}
	for _, in := range []string{"0", "-3", "1.5", "3651", "x"} {
		if _, err := governance.ParseDormantDays(in); !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("ParseDormantDays(%q): %v, want invalid", in, err)
		}
	}
	for _, body := range []string{
		`{"name":"x","due":"2026-12-01","scope":{"privilaged":true}}`, // a typo is not a wider scope
		`{"name":"x","due":"2026-12-01"} {}`,
		`{"name":"x","due":"2026-12-01","scope":{"privileged":true,"Privileged":false}}`, // which one?
		`{"name":"x","due":"2026-12-01","NAME":"y"}`,
		`{"name":"x"}`,
		`[]`,
	} {
		if _, err := governance.DecodeCampaignRequest([]byte(body)); !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("DecodeCampaignRequest(%s): %v, want invalid", body, err)
		}
	}
	req, err := governance.DecodeCampaignRequest([]byte(`{"name":"q","due":"2026-12-01","scope":{"sites":["north"],"external":true}}`))
	if err != nil || req.Name != "q" || len(req.Scope.Sites) != 1 || !req.Scope.External {
		t.Errorf("DecodeCampaignRequest = %+v, %v", req, err)
	}
}

// FuzzDecodeCampaignRequest: no body panics the decoder; what it refuses
// is an invalid-request error (a 400), what it accepts has a UTC due date.
func FuzzDecodeCampaignRequest(f *testing.F) {
	f.Add([]byte(`{"name":"q","due":"2026-12-01","scope":{"sites":["north"],"roles":["Nurse"],"privileged":true,"external":true}}`))
	f.Add([]byte(`{"name":"q","due":"2026-12-01T17:00:00Z"}`))
	f.Add([]byte(`{"due":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := governance.DecodeCampaignRequest(b)
		if err != nil {
			if !errors.Is(err, lifecycle.ErrInvalid) {
				t.Fatalf("error %v is not an invalid-request error", err)
			}
			return
		}
		if req.Due.IsZero() || req.Due.Location() != time.UTC {
			t.Fatalf("accepted %q with due %v", b, req.Due)
		}
	})
}

// FuzzDecodeDecision: likewise for decision bodies.
func FuzzDecodeDecision(f *testing.F) {
	f.Add([]byte(`{"decision":"keep","comment":"ok"}`))
	f.Add([]byte(`{"decision":"revoke"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := governance.DecodeDecision(b); err != nil && !errors.Is(err, lifecycle.ErrInvalid) {
			t.Fatalf("error %v is not an invalid-request error", err)
		}
	})
}

// FuzzParse: the due-date and dormant-days parsers never panic and keep
// their ranges.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-12-01", "2026-12-01T17:00:00Z", "30", " 7 ", "-1", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := governance.ParseDue(s); err == nil && (d.Year() < 2000 || d.Year() > 2200) {
			t.Fatalf("ParseDue(%q) = %v", s, d)
		}
		if d, err := governance.ParseDormantDays(s); err == nil && (d < 0 || d > 3650*24*time.Hour || d == 0 && strings.TrimSpace(s) != "") {
			t.Fatalf("ParseDormantDays(%q) = %v", s, d)
		}
	})
}
