package certs

import (
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseHosts: the hub's certificate names come from flags
// (--hosts, --public-url's host). parseHosts either refuses one entry,
// naming it, or returns SANs that always include localhost, 127.0.0.1
// and ::1, with every name lowercase ASCII that checkDNSName takes and
// every address in its shortest form, each once, covering every entry
// given; and the SANs written back read as themselves.
func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{"", "Hub.Example.COM.,10.0.0.5,[fd00::1],,*.kiosks.example.com,localhost,::1",
		"https://hub.example.com", "hub.example.com:8443", "hub example", "-hub.example.com", "hub..example.com",
		"hub.example.com", "::ffff:10.0.0.5", "fe80::1%eth0", "xn--bcher-kva.example", "bücher.example", "*", "*.*.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		hosts := strings.Split(list, ",")
		s, err := parseHosts(hosts)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "host ") {
				t.Fatalf("parseHosts(%q) error does not name the host: %v", hosts, err)
			}
			return
		}
		if len(s.dns) == 0 || s.dns[0] != "localhost" || len(s.ips) < 2 || !s.ips[0].Equal(net.IPv4(127, 0, 0, 1)) || !s.ips[1].Equal(net.IPv6loopback) {
			t.Fatalf("parseHosts(%q) = %v: the loopback names are not first", hosts, s)
		}
		for i, name := range s.dns {
			if err := checkDNSName(name); err != nil || name != strings.ToLower(name) || slices.Contains(s.dns[:i], name) {
				t.Fatalf("parseHosts(%q): DNS SAN %q is not a lowercase host name listed once (%v)", hosts, name, err)
			}
		}
		for i, ip := range s.ips {
			if len(ip) != net.IPv4len && len(ip) != net.IPv6len || ip.To4() != nil && len(ip) != net.IPv4len ||
				slices.ContainsFunc(s.ips[:i], ip.Equal) {
				t.Fatalf("parseHosts(%q): IP SAN %v is not in its shortest form, once", hosts, ip)
			}
		}
		for _, h := range hosts {
			h = strings.TrimSpace(h)
			if h == "" {
				continue
			}
			if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
				h = h[1 : len(h)-1]
			}
			if ip := net.ParseIP(h); ip != nil && slices.ContainsFunc(s.ips, ip.Equal) {
				continue
			}
			if !slices.Contains(s.dns, strings.ToLower(strings.TrimSuffix(h, "."))) {
				t.Fatalf("parseHosts(%q) = %v: %q is not among the SANs", hosts, s, h)
			}
		}
		again := slices.Clone(s.dns)
		for _, ip := range s.ips {
			again = append(again, ip.String())
		}
		back, err := parseHosts(again)
		if err != nil {
			t.Fatalf("parseHosts(%q) = %v, written back as %q: %v", hosts, s, again, err)
		}
		if diff := cmp.Diff(s, back, cmp.AllowUnexported(hostSANs{})); diff != "" {
			t.Fatalf("parseHosts(%q) written back reads differently (-first +again):\n%s", hosts, diff)
		}
	})
}
