package push

// Leaver is an optional interface of a Handler. When a channel whose
// Hello was called ends, a Handler that is a Leaver is told by Leaving
// before the channel leaves the registry, while Connected still reports
// true for the device (for a channel a newer connection replaced, which
// left the registry then, Connected reports on the newer one, which may
// have ended too); Disconnected, which comes after, is too late for
// what a reader of Connected must find already done. The hub marks
// there when it last saw the kiosk: a reader that asks Connected (or
// ConnectedIDs) first and then reads those marks finds a kiosk that just
// left in one or the other, never in neither. Leaving is called whether
// or not a newer connection of the device has replaced the channel
// meanwhile (Disconnected is not, then): saying whether it has would
// take the registry's lock around the call. It runs on the connection's
// goroutine, after its requests have been handled: keep it short.
type Leaver interface {
	Leaving(deviceID string)
}

func (h *Hub) callLeaving(deviceID string) {
	l, ok := h.handler.(Leaver)
	if !ok {
		return
	}
	var err error
	defer h.recoverInto(&err, "leaving", deviceID)
	l.Leaving(deviceID)
}
