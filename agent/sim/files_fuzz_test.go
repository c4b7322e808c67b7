package sim

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
)

// resultFiles are results as --json-out writes them, one per scenario.
func resultFiles(f *testing.F) [][]byte {
	var out [][]byte
	for _, r := range results() {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzReadResultFile: `shiftgate-sim targets` reads result files that may
// be another run's, another program's, cut short or edited. Whatever the
// bytes, ReadResultFile refuses them with an error that names the file, or
// gives a result that is written back (--json-out) as one it reads the
// same, whose verdicts are one per target, and whose targets hold only
// for a figure measured in a run without errors, lost channels or
// unexpected messages and with as many kiosks as the target is for.
func FuzzReadResultFile(f *testing.F) {
	files := resultFiles(f)
	for _, b := range files {
		f.Add(b)
	}
	f.Add(files[0][:len(files[0])/2])
	f.Add(bytes.Replace(files[0], []byte(`"errors": 0`), []byte(`"errors": -1`), 1))
	f.Add(bytes.Replace(bytes.Replace(files[0], []byte(`"errors": 0`), []byte(`"errors": 5`), 1), []byte(`"lost_channels": 0`), []byte(`"lost_channels": -5`), 1))
	f.Add(bytes.Replace(bytes.Replace(files[0], []byte(`"errors": 0`), []byte(`"errors": 4611686018427387904`), 1), []byte(`"stray_messages": 0`), []byte(`"stray_messages": 4611686018427387904`), 1))
	f.Add([]byte(`{"scenario":"logins","metrics":[{"name":"logins per second","value":1e308}],"per_round":[null,{"last_ack_ms":1}]}`))
	f.Add([]byte(`{"scenario":"mass-revoke","kiosks":-10000,"hub_memory":{"peak_rss_mib":-1}}`))
	f.Add([]byte("shiftgate-sim logins: hub …"))
	f.Add([]byte("{}"))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, data []byte) {
		name := filepath.Join(t.TempDir(), "result.json")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := ReadResultFile(name)
		if err != nil {
			if r != nil {
				t.Fatalf("ReadResultFile returned a result with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Fatalf("ReadResultFile error does not name the file: %v", err)
			}
			return
		}
		if r.Scenario == "" {
			t.Fatalf("ReadResultFile took a result of no scenario: %q", data)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("result read from %q does not write back: %v", data, err)
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := ReadResultFile(name)
		if err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("result written back reads as %+v, %v; want %+v", back, err, r)
		}
		vs := Check([]*Result{r})
		if len(vs) != len(targets) {
			t.Fatalf("%d verdicts for %d targets", len(vs), len(targets))
		}
		for _, v := range vs {
			if !v.Holds {
				continue
			}
			switch {
			case math.IsNaN(v.Measured):
				t.Fatalf("%s holds without a figure: %q", v.Name, data)
			case r.Errors != 0 || r.Lost != 0 || r.Stray != 0:
				t.Fatalf("%s holds for a run with %d errors, %d lost channels, %d unexpected messages: %q", v.Name, r.Errors, r.Lost, r.Stray, data)
			case r.Kiosks < v.Kiosks:
				t.Fatalf("%s holds for a run with %d kiosks: %q", v.Name, r.Kiosks, data)
			}
		}
		var out strings.Builder
		if err := WriteVerdicts(&out, vs); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteTable(&out); err != nil {
			t.Fatal(err)
		}
	})
}

// TestResultFileNegativeCounts: a result file whose counts no run writes
// (errors, lost channels, kiosks below zero) is refused, and counts that
// cancel out or wrap around never make a run with errors hold a target.
func TestResultFileNegativeCounts(t *testing.T) {
	good, err := json.Marshal(results()[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct{ name, from, to string }{
		{"errors", `"errors":0`, `"errors":-1`},
		{"lost channels", `"lost_channels":0`, `"lost_channels":-3`},
		{"unexpected messages", `"stray_messages":0`, `"stray_messages":-3`},
		{"kiosks", `"kiosks":64`, `"kiosks":-64`},
		{"rounds", `"rounds":0`, `"rounds":-2`},
	} {
		name := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
		if err := os.WriteFile(name, bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadResultFile(name); err == nil || !strings.Contains(err.Error(), "negative "+tc.name) || !strings.Contains(err.Error(), "--json-out") {
			t.Errorf("%s below zero: err %v, want a refusal naming it", tc.name, err)
		}
	}

	for _, bad := range [][3]int64{{5, -5, 0}, {math.MaxInt64, 1, 0}, {1 << 62, 1 << 62, 1 << 62}} {
		r := results()[0]
		r.Errors, r.Lost, r.Stray = bad[0], bad[1], bad[2]
		for _, v := range Check([]*Result{r}) {
			if v.Holds {
				t.Errorf("%d errors, %d lost channels, %d unexpected messages: %s holds", bad[0], bad[1], bad[2], v.Name)
			}
		}
	}
}

// stateSeed is a state.json of two enrolled kiosks of hub, and the names
// the hub takes device certificates from.
func stateSeed(f *testing.F, hub *certs.CA) []byte {
	st := state{Version: stateVersion, DeviceCA: hub.Cert.Raw, Site: "north", Prefix: "simabcd", ShiftGroup: "g1",
		Users: []userState{{Name: "simabcd-north-u00001", ID: "u1", Registered: true}, {Name: "simabcd-north-u00002"}}}
	for i := range 2 {
		key, err := certs.NewDeviceKey()
		if err != nil {
			f.Fatal(err)
		}
		name := st.kioskName(i)
		csr, err := certs.NewCSR(key, name)
		if err != nil {
			f.Fatal(err)
		}
		cert, err := hub.SignDeviceCSR(csr, "dev-"+name, 24*time.Hour, time.Now())
		if err != nil {
			f.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			f.Fatal(err)
		}
		st.Kiosks = append(st.Kiosks, kioskState{Name: name, DeviceID: "dev-" + name, Key: der, Cert: cert})
	}
	st.Kiosks = append(st.Kiosks, kioskState{Name: st.kioskName(2)}) // not enrolled yet
	b, err := json.Marshal(&st)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzLoadState: state.json is the simulator's own, but it outlives runs,
// hubs and crashes (save does not sync). Whatever it holds, loadState
// refuses it with an error that names it and says to use another --state
// directory, or gives a state of this version and site, whose every
// enrolled kiosk has a certificate issued by the state's hub CA, that CA
// one the hub takes, and which saves as a state that loads the same.
func FuzzLoadState(f *testing.F) {
	hub, err := certs.NewCA("Shiftgate Hub CA 0a0b0c0d", time.Now())
	if err != nil {
		f.Fatal(err)
	}
	other, err := certs.NewCA("Shiftgate Hub CA 01020304", time.Now())
	if err != nil {
		f.Fatal(err)
	}
	seed := stateSeed(f, hub)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add(stateSeed(f, other))
	f.Add(bytes.Replace(seed, []byte(`"version":2`), []byte(`"version":1`), 1))
	f.Add(bytes.Replace(seed, []byte(`"site":"north"`), []byte(`"site":"south"`), 1))
	f.Add(bytes.Replace(seed, []byte(`"prefix":"simabcd"`), []byte(`"prefix":"../x"`), 1))
	f.Add(bytes.Replace(seed, []byte(`"device_ca":`), []byte(`"device_cb":`), 1))
	f.Add([]byte(`{"version":2,"site":"north","prefix":"sim0","kiosks":[{"name":"k","device_id":"d"}]}`))
	f.Add([]byte(`{"version":2,"site":"north","prefix":"sim0","device_ca":"eA=="}`))
	f.Add([]byte{})
	f.Add([]byte("null"))
	hubCAs := [][]byte{hub.Cert.RawSubject}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, stateFile)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := loadState(dir, "north", hubCAs)
		if err != nil {
			if st != nil {
				t.Fatalf("loadState returned a state with error %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "--state directory") {
				t.Fatalf("loadState(%q) error does not name the file and say what to do: %v", data, err)
			}
			return
		}
		switch {
		case st.Version != stateVersion || st.Site != "north" || !validNamePart(st.Prefix):
			t.Fatalf("loadState took version %d, site %q, prefix %q", st.Version, st.Site, st.Prefix)
		case st.deviceCA != nil && !slices.ContainsFunc(hubCAs, func(n []byte) bool { return bytes.Equal(n, st.deviceCA.RawSubject) }):
			t.Fatalf("loadState took the state of a hub CA %q this hub does not take", st.deviceCA.Subject)
		}
		for _, k := range st.Kiosks {
			if k.DeviceID == "" {
				continue
			}
			if st.deviceCA == nil || k.leaf == nil || !bytes.Equal(k.leaf.Raw, k.Cert) {
				t.Fatalf("loadState took enrolled kiosk %q without its certificate checked", k.Name)
			}
			if err := checkIssued(k.leaf, st.deviceCA, false); err != nil {
				t.Fatalf("loadState took kiosk %q: %v", k.Name, err)
			}
		}
		if err := st.save(dir); err != nil {
			t.Fatal(err)
		}
		again, err := loadState(dir, "north", hubCAs)
		if err != nil {
			t.Fatalf("a state loaded and saved does not load again: %v", err)
		}
		a, _ := json.Marshal(st)
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("a state loaded and saved loads as\n%s\nwant\n%s", b, a)
		}
	})
}

// TestLoadStateDamaged: a state.json cut short (save does not sync it) or
// edited to a prefix the simulator never makes is refused with what to
// do, as the other refusals are.
func TestLoadStateDamaged(t *testing.T) {
	for name, content := range map[string]string{
		"cut short":  `{"version":2,"site":"north","pre`,
		"empty":      "",
		"bad prefix": `{"version":2,"site":"north","prefix":"../x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, stateFile)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadState(dir, "north", nil)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "use a fresh --state directory") {
				t.Fatalf("err %v, want one naming %s and saying to use a fresh --state directory", err, path)
			}
		})
	}
}
