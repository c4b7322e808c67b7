package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	uidKeyringRevoked = 64134
	uidKeyringExpired = 64135
	uidKeyringHidden  = 64136
	uidKeyringOwner   = 64137
	uidKeyringNoWrite = 64139
	// spoilTestEnv selects the role of the test binary in
	// TestTeardownWithUnusableUserKeyring: "revoke", "expire", "hide",
	// "owner" and "nowrite" (worker A's app), "get" (worker B's).
	spoilTestEnv     = "SHIFTGATE_TEST_KEYRING_SPOIL"
	keyctlRevoke     = 3
	keyctlSetperm    = 5
	keyctlSetTimeout = 15
	keyUsrAll        = 0x003f0000 // the owner's permissions, no possessor's
	keyAll           = 0x3f3f0000 // the possessor's and the owner's
	// keyNoWrite: the possessor may view, search, link and set
	// attributes, the owner view, search and link; nobody may write
	// (clear) or read (list) the keyring.
	keyNoWrite = 0x39190000
)

// TestTeardownWithUnusableUserKeyring: an app has every permission on the
// session user's user keyring. It may revoke it, let it expire, or take
// away every permission on it (hide), and the kernel then answers every
// use of it with ENOKEY, for five minutes until its garbage collector
// removes a revoked or expired one (/proc/sys/kernel/keys/gc_delay), for
// good a hidden one. Nobody can use it then, the next worker's apps
// neither, and revoking emptied it: there is nothing to clear, and the
// teardown, which the kiosk stays locked for until it succeeds,
// succeeds. An app may also leave the permissions to the owner alone
// (owner), which the agent is not: that keyring is emptied all the same.
// Or it may take away only the permission to write (clear) and read (list)
// the keyring (nowrite): the next worker's apps still find and read its
// keys, and the teardown makes them unreachable (invalidates them) instead.
// Whatever the app did, what it stored there is not the next worker's.
func TestTeardownWithUnusableUserKeyring(t *testing.T) {
	switch os.Getenv(spoilTestEnv) {
	case "revoke", "expire", "hide", "owner", "nowrite":
		spoilUserKeyring(os.Getenv(spoilTestEnv))
		return
	case "get":
		keyringGet()
		return
	}
	needRoot(t)
	bin := filepath.Join(reachableDir(t), "session.test")
	copyExecutable(t, os.Args[0], bin)
	app := func(role string) App {
		return App{ID: role, Command: []string{bin, "-test.run=^TestTeardownWithUnusableUserKeyring$", "-test.count=1"},
			Env: []string{spoilTestEnv + "=" + role}}
	}
	for _, tc := range []struct {
		role string
		uid  uint32
	}{
		{"revoke", uidKeyringRevoked},
		{"expire", uidKeyringExpired},
		{"hide", uidKeyringHidden},
		{"owner", uidKeyringOwner},
		{"nowrite", uidKeyringNoWrite},
	} {
		t.Run(tc.role, func(t *testing.T) {
			freeUID(t, tc.uid)
			cfg := runAsConfig(t, tc.uid)
			cfg.Cgroup = NoCgroup
			a := startReady(t, mustNew(t, cfg), "worker-a", app(tc.role))
			if log := waitFor(t, filepath.Join(a.Dir(), "apps.log"), "ready"); !strings.Contains(log, "spoiled") {
				t.Fatalf("worker A's app could not do what the test needs; the test proves nothing:\n%s", log)
			}
			if err := a.Teardown(t.Context()); err != nil {
				t.Errorf("teardown: %v", err)
			}
			b := startReady(t, mustNew(t, cfg), "worker-b", app("get"))
			if log := waitFor(t, filepath.Join(b.Dir(), "apps.log"), "ready"); strings.Contains(log, "found") {
				t.Errorf("worker B's app found worker A's key:\n%s", log)
			}
			if err := b.Teardown(t.Context()); err != nil {
				t.Errorf("teardown of the next session: %v", err)
			}
		})
	}
}

// spoilUserKeyring is worker A's app: it stores a key in its user
// keyring, then does how to that keyring, says "spoiled" once it has,
// and waits to be ended.
func spoilUserKeyring(how string) {
	runtime.LockOSThread()
	unusable := func(err error) bool {
		return errors.Is(err, syscall.ENOKEY) || errors.Is(err, syscall.EKEYREVOKED) || errors.Is(err, syscall.EKEYEXPIRED)
	}
	if how == "nowrite" {
		// An earlier run's keyring: its owner may still set its
		// permissions (keyNoWrite keeps that), so the key can be put.
		if _, err := keyctl(keyctlSetperm, special(keySpecUserKeyring), keyAll); err != nil {
			fmt.Printf("nowrite: setperm back: %v\n", err)
		}
	}
	err := addKey(keySpecUserKeyring)
	switch {
	case unusable(err) && how != "owner":
		// An earlier run's: a revoked or expired keyring waits for the
		// garbage collector, a hidden one stays.
		fmt.Println("user keyring unusable already: spoiled")
		err = nil
	case err != nil:
		err = fmt.Errorf("put user: %w", err)
	case how == "revoke":
		_, err = keyctl(keyctlRevoke, special(keySpecUserKeyring), 0)
	case how == "expire":
		if _, err = keyctl(keyctlSetTimeout, special(keySpecUserKeyring), 1); err == nil {
			time.Sleep(1500 * time.Millisecond)
		}
	case how == "hide":
		_, err = keyctl(keyctlSetperm, special(keySpecUserKeyring), 0)
	case how == "nowrite":
		if _, err = keyctl(keyctlSetperm, special(keySpecUserKeyring), keyNoWrite); err == nil && findKey(keySpecUserKeyring) == "" {
			err = errors.New("the key is not found in the keyring after setperm")
		}
	case how == "owner":
		if _, err = keyctl(keyctlSetperm, special(keySpecUserKeyring), keyUsrAll); err == nil && findKey(keySpecUserKeyring) == "" {
			err = errors.New("the key is not found in the keyring after setperm")
		}
	}
	if err != nil {
		fmt.Printf("%s: %v\n", how, err)
	} else {
		fmt.Println(how, "spoiled")
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
}
