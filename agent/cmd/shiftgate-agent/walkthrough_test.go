package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnrollNamesMissingFlags: enroll without some of its flags names the
// flags to add, as typed on the command line, and contacts nobody.
func TestEnrollNamesMissingFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"enroll", "--hub", "https://localhost:1", "--code", "ABCD", "--profile", "generic-x86"},
		strings.NewReader(""), &stdout, &stderr)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (a usage mistake); stderr %q", code, stderr.String())
	}
	if want := "enroll needs --ca, --state (see shiftgate-agent enroll -h)"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q does not contain %q", stderr.String(), want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
}

// TestEnrollSaysWhatNext: a successful enroll tells the installer the run
// command for the state directory it just wrote; stdout keeps only the
// result line.
func TestEnrollSaysWhatNext(t *testing.T) {
	hub := newCodeHub(t)
	state := filepath.Join(t.TempDir(), "state")
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"enroll", "--hub", hub.url, "--ca", hub.ca, "--code", "c0de", "--state", state, "--profile", "generic-x86"},
		strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, stderr.String())
	}
	if got := strings.Count(stdout.String(), "\n"); got != 1 || !strings.HasPrefix(stdout.String(), "enrolled as device dev-1") {
		t.Errorf("stdout %q, want the one result line", stdout.String())
	}
	if want := "next: shiftgate-agent run --state " + state + " --authenticator"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q does not contain %q", stderr.String(), want)
	}
}

// TestUsageShowsSessionUser: the overview lists run's --session-user and
// --session-homes, which production kiosks need (the agent warns without).
func TestUsageShowsSessionUser(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"help"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	if want := "run --state DIR --authenticator soft:DIR|fido2 [--warning 5m] [--session-user USER --session-homes DIR]"; !strings.Contains(stdout.String(), want) {
		t.Errorf("usage does not contain %q:\n%s", want, stdout.String())
	}
}
