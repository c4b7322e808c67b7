//go:build !unix

package authenticator

// openNonblock is 0 where there is no O_NONBLOCK open flag (Windows
// ignores it, js and wasip1 lack it); there a named pipe cannot be left
// under a badge's name the way mkfifo leaves one on Unix.
const openNonblock = 0
