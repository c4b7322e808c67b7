package session

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzParsePidLine: a line of a session's pids file, read back after a
// crash to find the apps to stop, names a process group that kill(-pgid)
// can signal and that is not kill's "every process" (-1) or "my group"
// (0): a PGID from 2 to the largest pid_t. A group the agent wrote
// ("%d %d\n") reads back as written.
func FuzzParsePidLine(f *testing.F) {
	for _, s := range []string{"1234 5678", " 1234 5678\n", "1 5", "0 5", "-1 5", "1234", "1234 x", "1234 -5",
		"+1234 5678", "1234 18446744073709551615", "1234  5678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := parsePidLine(line)
		if !ok {
			if r != (pidRecord{}) {
				t.Fatalf("parsePidLine(%q) = %+v, refused", line, r)
			}
			return
		}
		if r.pgid <= 1 || r.pgid > math.MaxInt32 {
			t.Fatalf("parsePidLine(%q) = PGID %d: not a process group kill(-pgid) signals alone", line, r.pgid)
		}
		if back, ok := parsePidLine(fmt.Sprintf("%d %d\n", r.pgid, r.start)); !ok || back != r {
			t.Fatalf("parsePidLine(%q) = %+v, written back reads as %+v, %v", line, r, back, ok)
		}
	})
}

// FuzzParseStat: /proc/PID/stat holds the command name, which any
// process sets to what it likes (up to 15 bytes, parentheses and spaces
// included): whatever the name, the fields after it read as the kernel
// wrote them, so a session app cannot pass for another process group or
// start time by its name.
func FuzzParseStat(f *testing.F) {
	f.Add("a) (b c", byte('S'), int32(40), int32(1), uint64(12345))
	f.Add("bash", byte('Z'), int32(1), int32(3), uint64(0))
	f.Add(") 9 9 9", byte('R'), int32(2147483647), int32(1), uint64(18446744073709551615))
	f.Add("x\n", byte('X'), int32(7), int32(0), uint64(1))
	f.Fuzz(func(t *testing.T, comm string, state byte, pgrp, threads int32, start uint64) {
		if strings.ContainsRune(comm, 0) || len(comm) > 64 || !strings.ContainsRune("RSDZTtXxKWPI", rune(state)) {
			return // not a name or state the kernel writes
		}
		// Fields as the kernel writes them (proc_pid_stat(5)): pid (comm)
		// state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
		// cmajflt utime stime cutime cstime priority nice num_threads
		// itrealvalue starttime vsize ...
		head := fmt.Sprintf("42 (%s) %c 1 %d 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 %d 0", comm, state, pgrp, threads)
		line := head + " " + strconv.FormatUint(start, 10) + " 0 0\n"
		st, ok := parseStat([]byte(line))
		want := stat{state: state, pgrp: int(pgrp), threads: int(threads), start: start}
		if !ok || st != want {
			t.Fatalf("parseStat(%q) = %+v, %v; want %+v", line, st, ok, want)
		}
		// A line cut short anywhere after the name is refused, not read
		// with fields shifted.
		cut := head
		if st, ok := parseStat([]byte(cut)); ok {
			t.Fatalf("parseStat(%q) of a cut line = %+v", cut, st)
		}
	})
}

// TestParsePidLineBeyondPidT: FuzzParsePidLine found that a PGID past
// 32 bits was taken. kill(2) reads its pid_t from the low 32 bits, so the
// line "4294967297 5" asked for kill(-1): every process the agent may
// signal (only the check that the group is the session's, groupOurs,
// stood in the way).
func TestParsePidLineBeyondPidT(t *testing.T) {
	for _, line := range []string{"4294967297 5", "4294967296 5", "7000000000 0", "2147483648 5"} {
		if r, ok := parsePidLine(line); ok {
			t.Errorf("parsePidLine(%q) = %+v; want refused", line, r)
		}
	}
	if r, ok := parsePidLine("2147483647 5"); !ok || r.pgid != math.MaxInt32 {
		t.Errorf("parsePidLine of the largest pid_t = %+v, %v", r, ok)
	}
}
