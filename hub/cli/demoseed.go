package cli

import (
	"context"

	"github.com/shiftgate/shiftgate/hub"
)

// DemoUser is a worker of the demo organisation.
type DemoUser struct {
	UserName, GivenName, FamilyName string
	Site                            string // one of DemoSites
	Role                            string // the group (role) they are in
}

// DisplayName is how the hub names the user on screens.
func (u DemoUser) DisplayName() string { return u.GivenName + " " + u.FamilyName }

// DemoSites returns the demo organisation's sites.
func DemoSites() []string { return []string{"north-ward", "south-ward"} }

// DemoUsers returns the demo organisation's workers, as SeedDemo creates
// them: active, each at one site and in one role group.
func DemoUsers() []DemoUser {
	return []DemoUser{
		{UserName: "amira.haddad", GivenName: "Amira", FamilyName: "Haddad", Site: "north-ward", Role: "Nurse"},
		{UserName: "ben.okafor", GivenName: "Ben", FamilyName: "Okafor", Site: "south-ward", Role: "Picker"},
		{UserName: "chen.li", GivenName: "Chen", FamilyName: "Li", Site: "north-ward", Role: "Supervisor"},
	}
}

// SeedDemo creates the demo organisation in a new hub, as `shiftgate-hub
// demo` does: DemoSites, DemoUsers and their role groups (Nurse, Picker,
// Supervisor), through the lifecycle engine, so it is audited like any
// other change. The kiosk's --demo mode uses it.
func SeedDemo(ctx context.Context, s *hub.Server) error {
	return seed(ctx, s.Engine(), s.Store())
}
