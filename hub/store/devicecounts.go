package store

import "time"

// DeviceCountQuery asks CountDevices how many enabled devices there are,
// and how many of them are away and for how long. Which devices have an
// open channel, and the sightings not yet written, live in the hub's
// memory, so the query carries them.
type DeviceCountQuery struct {
	// Now is the instant the durations of Over are measured back from.
	Now time.Time
	// Over are the durations DeviceCounts.Over counts devices away for
	// longer than, one count each, in this order.
	Over []time.Duration
	// Connected are the devices with an open channel: counted enrolled,
	// never away. IDs of unknown or disabled devices change nothing.
	Connected []string
	// Seen are sightings TouchDevices has not stored yet: a device is
	// away since the later of its sighting and its stored time.
	Seen map[string]time.Time
}

// DeviceCounts is what CountDevices counted, all in one read.
type DeviceCounts struct {
	// Enrolled is how many devices are DeviceActive.
	Enrolled int
	// Away is how many of those are not in DeviceCountQuery.Connected.
	Away int
	// Over holds, for each of DeviceCountQuery.Over, how many of those
	// away have been away for longer than it before Now: since their
	// LastSeen, or their Created if never seen, or their sighting in
	// DeviceCountQuery.Seen if that is later. A device away for exactly
	// the duration is not counted.
	Over []int
}
