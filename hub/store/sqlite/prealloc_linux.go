package sqlite

import (
	"errors"
	"os"
	"syscall"
)

// preallocate reserves size bytes of disk blocks for the file at path
// without changing its size (FALLOC_FL_KEEP_SIZE), so that later writes
// within that range land on blocks the file already owns. A missing file,
// or a file system without fallocate, is not an error: the blocks are then
// allocated as the file grows, as without this call.
func preallocate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	const keepSize = 0x01 // FALLOC_FL_KEEP_SIZE
	err = syscall.Fallocate(int(f.Fd()), keepSize, 0, size)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return nil
	}
	return err
}
