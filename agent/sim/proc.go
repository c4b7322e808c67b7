package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// procCPU returns the user+system CPU time of pid from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are
	// counted from the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// memory is a process's resident memory, in bytes.
type memory struct {
	RSS, HWM int64
}

// procMemory returns VmRSS and VmHWM of pid from /proc/PID/status.
func procMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &m.RSS
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &m.HWM
		default:
			continue
		}
		fs := strings.Fields(line)
		if len(fs) >= 2 {
			kb, err := strconv.ParseInt(fs[1], 10, 64)
			if err == nil {
				*dst = kb << 10
			}
		}
	}
	return m, sc.Err()
}

// hubMemory is the hub's memory at the moments the result reports.
type hubMemory struct {
	connected, end memory
}

func (s *Sim) readHubMemory() memory {
	if s.cfg.HubPID <= 0 {
		return memory{}
	}
	m, err := procMemory(s.cfg.HubPID)
	if err != nil {
		s.cfg.Logger.Warn("read hub memory", "pid", s.cfg.HubPID, "err", err)
	}
	return m
}

func (s *Sim) hubCPU() (time.Duration, bool) {
	if s.cfg.HubPID <= 0 {
		return 0, false
	}
	d, err := procCPU(s.cfg.HubPID)
	if err != nil {
		s.cfg.Logger.Warn("read hub CPU", "pid", s.cfg.HubPID, "err", err)
		return 0, false
	}
	return d, true
}

func (h hubMemory) report() *HubMemory {
	if h.connected.RSS == 0 && h.end.RSS == 0 {
		return nil
	}
	return &HubMemory{ConnectedRSSMiB: mib(h.connected.RSS), EndRSSMiB: mib(h.end.RSS), PeakRSSMiB: mib(max(h.end.HWM, h.connected.HWM))}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
