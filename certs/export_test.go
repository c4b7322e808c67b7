package certs

// SetExternalReadHook makes h's reloads of the operator's certificate
// (UseExternalCert) call hook before they read the files, for tests to
// hold a reload where a slow file system would.
func SetExternalReadHook(h *Hub, hook func()) {
	h.mu.RLock()
	e := h.ext
	h.mu.RUnlock()
	e.mu.Lock()
	e.testHookRead = hook
	e.mu.Unlock()
}
