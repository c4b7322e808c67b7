//go:build !linux

package sqlite

// preallocate is a no-op where fallocate(2) is not available: the
// write-ahead log's blocks are allocated as it grows.
func preallocate(string, int64) error { return nil }
