package cli

import (
	"errors"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"768MiB", 768 << 20, true},
		{"2GiB", 2 << 30, true},
		{"1TiB", 1 << 40, true},
		{"64KiB", 64 << 10, true},
		{"4096B", 4096, true},
		{"0B", 0, true},
		{"768", 0, false},
		{"768MB", 0, false},
		{"MiB", 0, false},
		{"-1MiB", 0, false},
		{"1.5GiB", 0, false},
		{" 1GiB", 0, false},
		{"9999999999TiB", 0, false},
		{"", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseSize: a size is accepted exactly when it is digits and a unit,
// and then it is that many bytes, never negative or wrapped.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"768MiB", "2GiB", "0B", "9223372036854775807B", "8388608TiB", "8388607TiB", "1e3MiB", "+1MiB"} {
		f.Add(s)
	}
	form := regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)$`)
	shifts := map[string]uint{"B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		m := form.FindStringSubmatch(s)
		if m == nil {
			if err == nil {
				t.Fatalf("parseSize(%q) = %d, want an error", s, n)
			}
			return
		}
		digits, perr := strconv.ParseUint(m[1], 10, 64)
		fits := perr == nil && digits <= uint64(1<<63-1)>>shifts[m[2]]
		switch {
		case fits && (err != nil || n != int64(digits<<shifts[m[2]])):
			t.Fatalf("parseSize(%q) = %d, %v; want %d", s, n, err, digits<<shifts[m[2]])
		case !fits && err == nil:
			t.Fatalf("parseSize(%q) = %d, want an error: it does not fit", s, n)
		}
	})
}

// keepGC puts the process's collector settings back after a test.
func keepGC(t *testing.T) {
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// Without GOGC and GOMEMLIMIT in the environment the hub's settings
// apply.
func TestTuneGCDefaults(t *testing.T) {
	keepGC(t)
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 62)
	s, err := tuneGC(defaultGCPercent, defaultMemoryLimit, fakeEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Percent != 400 || s.Limit != 768<<20 || len(s.FromEnv) != 0 {
		t.Errorf("defaults: %+v", s)
	}
	if p, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); p != 400 || l != 768<<20 {
		t.Errorf("runtime after tuneGC: GOGC %d, memory limit %d", p, l)
	}
}

// GOGC and GOMEMLIMIT in the environment win: the runtime applied them at
// start and tuneGC keeps what the runtime has.
func TestTuneGCEnvironmentWins(t *testing.T) {
	keepGC(t)
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 30)
	s, err := tuneGC(400, "768MiB", fakeEnv(map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Percent != 150 || s.Limit != 1<<30 || !slices.Equal(s.FromEnv, []string{"GOGC", "GOMEMLIMIT"}) {
		t.Errorf("with GOGC and GOMEMLIMIT set: %+v, want the runtime's 150 and 1GiB kept", s)
	}
	if p, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); p != 150 || l != 1<<30 {
		t.Errorf("runtime after tuneGC: GOGC %d, memory limit %d; want 150 and 1GiB", p, l)
	}
}

func TestTuneGCRefusesBadFlags(t *testing.T) {
	keepGC(t)
	for _, bad := range []struct {
		percent int
		limit   string
	}{{5, "768MiB"}, {400, "768MB"}, {400, "1MiB"}, {400, ""}} {
		if _, err := tuneGC(bad.percent, bad.limit, fakeEnv(nil)); !errors.Is(err, errUsage) {
			t.Errorf("tuneGC(%d, %q) = %v, want a usage error", bad.percent, bad.limit, err)
		}
	}
}
