package hub

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// deployUnit reads deploy/shiftgate-hub.service as section.Key → values
// (a key may be given more than once).
func deployUnit(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("deploy/shiftgate-hub.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string][]string{}
	section := ""
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("unit line %q is not KEY=VALUE", line)
			}
			unit[section+"."+k] = append(unit[section+"."+k], v)
		}
	}
	return unit
}

// TestDeployUnitLimits: the unit gives the hub what its sandbox and the
// design's scale need.
//
//   - Descriptors for 10,000 connected kiosks (one socket each) and the
//     rest (console, SCIM, SQLite): the hub runs with the limit the unit
//     sets, and systemd's default hard limit is 4096 before v240 (and
//     whatever the distribution or DefaultLimitNOFILE makes it); past
//     it, accept fails and kiosks cannot connect.
//   - A listen port below 1024 needs CAP_NET_BIND_SERVICE, which the
//     empty CapabilityBoundingSet takes away: the hub would not start.
func TestDeployUnitLimits(t *testing.T) {
	unit := deployUnit(t)

	nofile := unit["Service.LimitNOFILE"]
	if len(nofile) != 1 {
		t.Errorf("LimitNOFILE %q: want it set once", nofile)
	} else {
		soft, _, _ := strings.Cut(nofile[0], ":") // SOFT[:HARD]
		if n, err := strconv.Atoi(soft); err != nil || n < 20000 {
			t.Errorf("LimitNOFILE=%s: want at least 20000 (10,000 kiosks, one descriptor each, and headroom)", nofile[0])
		}
	}

	exec := unit["Service.ExecStart"]
	if len(exec) != 1 {
		t.Fatalf("ExecStart %q: want one", exec)
	}
	args := strings.Fields(exec[0])
	listen := ""
	for i, a := range args {
		if a == "--listen" && i+1 < len(args) {
			listen = args[i+1]
		}
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("ExecStart --listen %q: %v", listen, err)
	}
	if p, _ := strconv.Atoi(port); p < 1024 {
		caps := strings.Join(unit["Service.AmbientCapabilities"], " ") + "|" + strings.Join(unit["Service.CapabilityBoundingSet"], " ")
		if strings.Count(caps, "CAP_NET_BIND_SERVICE") != 2 {
			t.Errorf("--listen %s: a port below 1024 needs CAP_NET_BIND_SERVICE in AmbientCapabilities and CapabilityBoundingSet", listen)
		}
	}
}
