package hub_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
)

// A kiosk's hardware profile narrows a login role by role, as the policy
// does: a role whose user verification the profile requires is withheld
// from a tap without it, and the others still sign in; a role the profile
// lists apps for gets those, and one it does not keeps its policy apps.
func TestProfileAppliesRoleByRole(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "firmware-profiles", "generic-x86.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	p["name"] = "ward-pc"
	p["userVerification"] = map[string]any{"default": "preferred", "roles": map[string]string{"Nurse": "required"}}
	p["apps"] = map[string]any{"Picker": []map[string]any{{"id": "pick-lists", "label": "Pick lists", "command": []string{"/usr/bin/chromium", "--kiosk"}}}}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "profiles"), 0o700); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(p)
	if err := os.WriteFile(filepath.Join(dir, "profiles", "ward-pc.json"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, hubtest.Options{DataDir: dir})
	uid := createUser(t, h, "noor", `{"sites":["north"]}`)
	createGroup(t, h, "Nurse", uid)
	createGroup(t, h, "Picker", uid)
	k := h.EnrollKioskProfile(t, "ward-pc-1", "north", "ward-pc")
	k.Dial("")

	// No PIN on this badge: Nurse (the profile requires it) is withheld,
	// Picker signs in, with the profile's apps for Picker.
	plain := h.RegisterBadge(t, k, "noor", authenticator.SoftOptions{})
	env, _ := tap(t, k, plain)
	if env.Type != wire.TypeSessionGrant {
		t.Fatalf("unverified tap: %s %s, want a Picker session (Nurse withheld)", env.Type, env.Data)
	}
	if g := grant(t, env); g.Role != "Picker" || !slices.Equal(g.Apps, []string{"pick-lists"}) {
		t.Errorf("unverified tap: role %q apps %v, want Picker with [pick-lists]", g.Role, g.Apps)
	}
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: grant(t, env).SessionID, Reason: wire.ReasonSignout}, wire.TypeAck, nil)

	// With a PIN both roles sign in: Picker with the profile's apps,
	// Nurse (no apps in the profile) with the policy's.
	pin := h.RegisterBadge(t, k, "noor", authenticator.SoftOptions{UserVerification: true})
	g := grant(t, first(tap(t, k, pin)))
	if want := []string{"ehr", "med-cart", "pick-lists"}; g.Role != "Nurse"+policy.RoleSeparator+"Picker" || !slices.Equal(g.Apps, want) {
		t.Errorf("verified tap: role %q apps %v, want Nurse and Picker with %v", g.Role, g.Apps, want)
	}
}
