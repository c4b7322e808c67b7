// Command shiftgate-sim runs many virtual kiosks with software badges in one
// process against a hub, for load tests and benchmarks. See package
// agent/sim for what each scenario measures.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/shiftgate/shiftgate/agent/sim"
)

const usage = `usage: shiftgate-sim logins|leaver|mass-revoke --hub URL --ca FILE --admin-token T --scim-token T --state DIR [flags]
       shiftgate-sim floor [--kiosks 10000] [--rounds 5]
       shiftgate-sim targets RESULT.json...

  logins       --concurrency 64 --duration 5s --rounds 3: kiosks tap in closed loops
  leaver       --kiosks 10000 --sessions 2 --rounds 100: SCIM active=false → last ack
  mass-revoke  --kiosks 10000 --rounds 5: delete the role group of every session → last ack
  floor        --kiosks 10000 --rounds 5: no hub; the fastest a mass revoke can be on this
               machine: one TLS record out to every kiosk and one back, between this
               process and a child, with no WebSocket, JSON or database
  targets      RESULT.json...: issue 3's targets checked against results saved
               with --json-out (make bench-sim prints this table last)

Tokens may also come from SHIFTGATE_ADMIN_TOKEN and SHIFTGATE_SCIM_TOKEN.
Progress goes to stderr, the result table (or --json) to stdout.

flags:
`

// scenarios lists what the first argument may be.
const scenarios = "logins, leaver, mass-revoke, floor or targets"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg sim.Config
	var asJSON bool
	fs := flag.NewFlagSet("shiftgate-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&cfg.HubURL, "hub", "", "hub URL, https://localhost:PORT")
	fs.StringVar(&cfg.CAFile, "ca", "", "PEM file of the CA(s) the hub's HTTPS certificate chains to: the hub's ca.pem, or, for a hub serving an operator's certificate (serve --tls-cert), that CA's root and the hub's ca.pem")
	fs.StringVar(&cfg.AdminToken, "admin-token", os.Getenv("SHIFTGATE_ADMIN_TOKEN"), "admin API token")
	fs.StringVar(&cfg.SCIMToken, "scim-token", os.Getenv("SHIFTGATE_SCIM_TOKEN"), "SCIM token")
	fs.StringVar(&cfg.StateDir, "state", "", "state directory: enrolled kiosks and badges, reused across runs of the same hub")
	fs.StringVar(&cfg.Site, "site", "sim", "the kiosks' site")
	fs.IntVar(&cfg.HubPID, "hub-pid", 0, "hub process ID, for hub CPU and RSS from /proc")
	fs.IntVar(&cfg.Kiosks, "kiosks", 0, "kiosks to enroll and connect (default: --concurrency for logins, 10000 otherwise)")
	fs.IntVar(&cfg.Rounds, "rounds", 0, "rounds (default 3 logins, 100 leaver, 5 mass-revoke)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "kiosks tapping at once (default 64)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "length of a logins round (default 5s)")
	fs.IntVar(&cfg.Sessions, "sessions", 0, "kiosks holding a session of each leaver (default 2)")
	fs.IntVar(&cfg.Workers, "workers", 0, "parallel enrollments, SCIM calls and registrations during setup (default 32)")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", 0, "kiosk connections dialed at once (default 200)")
	fs.DurationVar(&cfg.SetupTimeout, "setup-timeout", 0, "bound on the setup (default 30m)")
	fs.DurationVar(&cfg.RoundTimeout, "round-timeout", 0, "bound on waiting for a round's acks (default 2m)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	jsonOut := fs.String("json-out", "", "also write the result as JSON to this file (for shiftgate-sim targets)")
	cpuProfile := fs.String("cpuprofile", "", "write the simulator's own CPU profile to this file")

	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cfg.Scenario, args = args[0], args[1:]
	}
	if cfg.Scenario == "targets" {
		return targets(args, stdout, stderr)
	}
	floorDir := fs.String("dir", "", "floor-hub only: the directory shiftgate-sim floor made")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfg.Scenario == "" && fs.NArg() > 0 {
		cfg.Scenario = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "shiftgate-sim: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg.Progress = stderr
	switch cfg.Scenario {
	case "":
		fmt.Fprintf(stderr, "shiftgate-sim: name a scenario first: %s (shiftgate-sim -h for each one's flags)\n", scenarios)
		return 2
	case sim.ScenarioLogins, sim.ScenarioLeaver, sim.ScenarioMassRevoke, sim.ScenarioFloor, "floor-hub":
	default:
		fmt.Fprintf(stderr, "shiftgate-sim: unknown scenario %q: use %s\n", cfg.Scenario, scenarios)
		return 2
	}
	switch cfg.Scenario {
	case "floor-hub": // the child of floor
		if err := sim.ServeFloor(ctx, *floorDir, cfg.Kiosks, os.Stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "shiftgate-sim floor-hub: %v\n", err)
			return 1
		}
		return 0
	case sim.ScenarioFloor:
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "shiftgate-sim: %v\n", err)
			return 2
		}
		res, err := sim.RunFloor(ctx, sim.FloorConfig{
			Kiosks: cfg.Kiosks, Rounds: cfg.Rounds, DialConcurrency: cfg.DialConcurrency,
			Progress: stderr, HubCommand: []string{self, "floor-hub"}, RoundTimeout: cfg.RoundTimeout,
		})
		return report(res, err, asJSON, *jsonOut, stdout, stderr)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "shiftgate-sim: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "shiftgate-sim: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	s, err := sim.New(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "shiftgate-sim: %v\n", err)
		return 2
	}
	res, err := s.Run(ctx)
	return report(res, err, asJSON, *jsonOut, stdout, stderr)
}

// report prints res (as a table or JSON) and err, writes res to jsonOut
// when set, and returns the exit code.
func report(res *sim.Result, err error, asJSON bool, jsonOut string, stdout, stderr io.Writer) int {
	if res != nil && jsonOut != "" {
		b, jerr := json.MarshalIndent(res, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(jsonOut, append(b, '\n'), 0o644)
		}
		if jerr != nil {
			fmt.Fprintf(stderr, "shiftgate-sim: --json-out: %v\n", jerr)
			return 1
		}
	}
	if res != nil {
		var werr error
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			werr = enc.Encode(res)
		} else {
			werr = res.WriteTable(stdout)
		}
		if werr != nil {
			fmt.Fprintf(stderr, "shiftgate-sim: write result: %v\n", werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "shiftgate-sim: %v\n", err)
		return 1
	}
	if res != nil && res.Errors > 0 {
		fmt.Fprintf(stderr, "shiftgate-sim: %d errors\n", res.Errors)
		return 1
	}
	return 0
}

// targets prints issue 3's targets checked against the result files. It
// fails only when a file cannot be read: a target missed is a finding,
// not an error.
func targets(files []string, stdout, stderr io.Writer) int {
	if len(files) == 0 || strings.HasPrefix(files[0], "-") {
		fmt.Fprintln(stderr, "usage: shiftgate-sim targets RESULT.json... (results written with --json-out, e.g. make bench-sim's var/bench-sim-*.json)")
		return 2
	}
	var results []*sim.Result
	for _, name := range files {
		r, err := sim.ReadResultFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "shiftgate-sim targets: %v\n", err)
			return 1
		}
		results = append(results, r)
	}
	if err := sim.WriteVerdicts(stdout, sim.Check(results)); err != nil {
		fmt.Fprintf(stderr, "shiftgate-sim targets: %v\n", err)
		return 1
	}
	return 0
}
