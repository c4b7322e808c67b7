package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// demoKiosk is a shiftgate-agent process the demo drives like a worker at
// the badge reader.
type demoKiosk struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan map[string]any
	say    func(string, ...any)
}

// agentBinary finds shiftgate-agent next to this binary.
func agentBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(self), "shiftgate-agent")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no shiftgate-agent next to %s (make build puts both in bin/)", self)
	}
	return p, nil
}

// startDemoKiosk enrolls a kiosk with code and runs its agent.
func startDemoKiosk(ctx context.Context, agent, hubURL, caFile, code, dir, name string, say func(string, ...any)) (*demoKiosk, error) {
	state := filepath.Join(dir, "kiosks", name)
	if out, err := exec.CommandContext(ctx, agent, "enroll", "--hub", hubURL, "--ca", caFile, "--code", code, "--state", state, "--profile", "generic-x86").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("enroll kiosk %s: %v: %s", name, err, out)
	}
	k := &demoKiosk{name: name, events: make(chan map[string]any, 32), say: say}
	k.cmd = exec.Command(agent, "run", "--state", state, "--authenticator", "soft:"+filepath.Join(dir, "badges"))
	k.cmd.Stderr = io.Discard
	var err error
	if k.stdin, err = k.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := k.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := k.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				k.events <- ev
			}
		}
		close(k.events)
	}()
	if _, err := k.wait("connected", 15*time.Second); err != nil {
		k.stop()
		return nil, err
	}
	return k, nil
}

// tap is a worker tapping badge at the kiosk.
func (k *demoKiosk) tap(badge string) {
	k.say("    [%s] tap %s", k.name, badge)
	fmt.Fprintf(k.stdin, "tap %s\n", badge)
}

// wait returns the kiosk's next event named name, printing what it sees.
func (k *demoKiosk) wait(name string, timeout time.Duration) (map[string]any, error) {
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-k.events:
			if !ok {
				return nil, fmt.Errorf("kiosk %s stopped", k.name)
			}
			k.say("    [%s] %s", k.name, brief(mustJSON(ev)))
			if ev["event"] == name {
				return ev, nil
			}
			if e, _ := ev["event"].(string); strings.HasSuffix(e, ".refused") {
				return nil, fmt.Errorf("kiosk %s: %s (%v) while waiting for %s", k.name, e, ev["reason"], name)
			}
		case <-deadline:
			return nil, fmt.Errorf("kiosk %s: no %s within %v", k.name, name, timeout)
		}
	}
}

func (k *demoKiosk) stop() {
	if k.cmd.Process != nil {
		k.cmd.Process.Signal(syscall.SIGTERM)
		k.cmd.Wait()
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
