package push

// ConnectedIDs returns the devices with an open channel, in no order: what
// Connected reports true for, read at one instant. The kiosk metrics pass
// it to one store read instead of asking Connected for every enrolled
// kiosk they have listed.
func (h *Hub) ConnectedIDs() []string {
	h.connMu.RLock()
	defer h.connMu.RUnlock()
	ids := make([]string, 0, len(h.conns))
	for id := range h.conns {
		ids = append(ids, id)
	}
	return ids
}
