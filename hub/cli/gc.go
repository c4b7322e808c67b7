package cli

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// The hub's garbage collector settings. With Go's default (GOGC=100) a
// login storm collected eleven times a second, 25 µs of CPU per login in
// the collector's own phases (GODEBUG=gctrace=1 under shiftgate-sim
// logins), because the live heap of a hub with few kiosks is small and
// the heap may only double before the next collection. GOGC=400 lets it
// grow five times: 6 µs per login. With 10,000 kiosks connected the live
// heap is about 200 MB and five times that would be a gigabyte, so a soft
// memory limit caps the heap: collections come sooner as it nears.
// See hub/README.md, "Memory and the garbage collector".
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = "768MiB"
)

// gcSettings are what serve applied, for its start-up log line.
type gcSettings struct {
	Percent int
	Limit   int64
	FromEnv []string // GOGC, GOMEMLIMIT when the environment set them
}

// tuneGC applies percent and limit unless the environment (getenv is
// os.LookupEnv) has GOGC or GOMEMLIMIT, which the Go runtime applied at
// start: an operator's environment wins over the hub's defaults.
func tuneGC(percent int, limit string, getenv func(string) (string, bool)) (gcSettings, error) {
	var s gcSettings
	if percent < 10 {
		return s, fmt.Errorf("%w: --gc-percent %d: give 10 or more (Go's own default is 100)", errUsage, percent)
	}
	bytes, err := parseSize(limit)
	if err != nil {
		return s, fmt.Errorf("%w: --memory-limit %q: %v", errUsage, limit, err)
	}
	if bytes < 64<<20 {
		return s, fmt.Errorf("%w: --memory-limit %q: give at least 64MiB", errUsage, limit)
	}
	if _, ok := getenv("GOGC"); ok {
		s.FromEnv = append(s.FromEnv, "GOGC")
		s.Percent = debug.SetGCPercent(-1) // reads the setting; put back below
		debug.SetGCPercent(s.Percent)
	} else {
		debug.SetGCPercent(percent)
		s.Percent = percent
	}
	if _, ok := getenv("GOMEMLIMIT"); ok {
		s.FromEnv = append(s.FromEnv, "GOMEMLIMIT")
		s.Limit = debug.SetMemoryLimit(-1) // a negative limit reads without changing
	} else {
		debug.SetMemoryLimit(bytes)
		s.Limit = bytes
	}
	return s, nil
}

var errSize = errors.New("give a whole number and a unit, e.g. 768MiB or 2GiB")

// parseSize reads a byte count as GOMEMLIMIT writes it: digits, then B,
// KiB, MiB, GiB or TiB.
func parseSize(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}} {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		if num == "" || strings.TrimLeft(num, "0123456789") != "" {
			return 0, errSize
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64>>u.shift {
			return 0, fmt.Errorf("%s is too large", s)
		}
		return n << u.shift, nil
	}
	return 0, errSize
}
