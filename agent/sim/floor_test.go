package sim

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// floorHubEnv makes the test binary the floor hub (see TestMain).
const floorHubEnv = "SHIFTGATE_SIM_TEST_FLOOR_HUB"

func TestMain(m *testing.M) {
	if os.Getenv(floorHubEnv) == "1" {
		fs := flag.NewFlagSet("floor-hub", flag.ExitOnError)
		dir := fs.String("dir", "", "")
		kiosks := fs.Int("kiosks", 0, "")
		_ = fs.Parse(os.Args[1:])
		if err := ServeFloor(context.Background(), *dir, *kiosks, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestFloor runs the floor between this process and a child: every round
// gets an ack from every kiosk, and the result reports the round's times.
func TestFloor(t *testing.T) {
	t.Setenv(floorHubEnv, "1") // inherited by the child
	var progress bytes.Buffer
	res, err := RunFloor(t.Context(), FloorConfig{
		Kiosks: 50, Rounds: 3, Progress: &progress,
		HubCommand: []string{os.Args[0]}, RoundTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatalf("RunFloor: %v\n%s", err, progress.String())
	}
	if res.Kiosks != 50 || len(res.PerRound) != 3 {
		t.Fatalf("%d kiosks, %d rounds; want 50 and 3", res.Kiosks, len(res.PerRound))
	}
	for i, r := range res.PerRound {
		if !(r["ack_p50_ms"] > 0 && r["ack_p50_ms"] <= r["ack_p99_ms"] && r["ack_p99_ms"] <= r["last_ack_ms"]) {
			t.Errorf("round %d: p50 %v, p99 %v, last %v: want 0 < p50 <= p99 <= last", i+1, r["ack_p50_ms"], r["ack_p99_ms"], r["last_ack_ms"])
		}
	}
	var tbl bytes.Buffer
	if err := res.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "floor: per-kiosk ack p99") {
		t.Errorf("table lacks the p99 line:\n%s", tbl.String())
	}
}

// TestFloorHubRefusesForeignDir: the floor hub never makes a PKI of its
// own in a directory it was pointed at by mistake.
func TestFloorHubRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	err := ServeFloor(t.Context(), dir, 1, strings.NewReader(""), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "not a directory made by shiftgate-sim floor") {
		t.Fatalf("ServeFloor in an empty dir: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("ServeFloor wrote %d files into a foreign dir", len(entries))
	}
}

// A round that times out ends the run at once, with its error, and the
// floor hub with it: the child must not go on waiting for acks that will
// never come (nor outlive the run).
func TestFloorRoundTimeoutReturns(t *testing.T) {
	t.Setenv(floorHubEnv, "1")
	var progress bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := RunFloor(t.Context(), FloorConfig{
			Kiosks: 300, Rounds: 1, Progress: &progress,
			HubCommand: []string{os.Args[0]}, RoundTimeout: time.Nanosecond,
		})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "acks within") {
			t.Errorf("RunFloor: %v, want the round's timeout", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("RunFloor did not return 15 s after its round timed out")
	}
}
