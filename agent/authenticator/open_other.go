//go:build !unix

package authenticator

// openNonblock and openNoFollow are 0 where there are no such open flags (Windows ignores
// them, js and wasip1 lack them); there a named pipe cannot be left under a badge's name the
// way mkfifo leaves one on Unix, and readBadge's Lstat is what refuses a symbolic link.
const (
	openNonblock = 0
	openNoFollow = 0
)

// linkOpened is false: no open refuses a link here (openNoFollow is 0).
func linkOpened(error) bool { return false }
