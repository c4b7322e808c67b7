package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// FillWAL writes zeros over the write-ahead log from its end up to
// walPrealloc (64 MiB), so that the log's disk blocks are written before
// the hub's writes reach them, and syncs it. The hub calls it once at start;
// short-lived commands (the CLI) and tests do not need it.
//
// Blocks reserved with fallocate (see preallocate) are "unwritten" on
// ext4: the first write into each makes the file system convert it, a
// journalled metadata change, at writeback. Under steady writes those
// conversions and their journal commits delayed commits behind them: at
// 3,000 SCIM creates/s the p99 was 11.8 ms with fallocate and 7.9 ms with
// the log filled first (median of 7 runs of BenchmarkSCIMCreateUserAt3000;
// over 12 s runs 14.8-18.0 against 8.1-10.9 ms). It costs about 50 ms.
//
// SQLite ignores what lies past the log's last valid frame (frames carry a
// salt and a checksum, and zeros have neither), so a zero tail is as good
// as the stale frames a log keeps after it starts over. The fill holds the
// database's write lock, so no other process appends to the log meanwhile.
func (db *DB) FillWAL(ctx context.Context) error {
	tx, err := db.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		return fmt.Errorf("fill write-ahead log: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // nothing was written through it
	if err := fillZeros(db.path+"-wal", walPrealloc); err != nil {
		return fmt.Errorf("fill write-ahead log: %w", err)
	}
	return nil
}

// fillZeros extends the file at path with zeros to size bytes (nothing if
// it is that long already) and syncs it. A missing file is left missing.
func fillZeros(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	buf := make([]byte, 1<<20)
	for off := st.Size(); off < size; off += int64(len(buf)) {
		if _, err := f.WriteAt(buf[:min(int64(len(buf)), size-off)], off); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Sync makes every transaction committed so far durable. With
// synchronous=NORMAL a commit is written to the write-ahead log, not
// synced: a power cut may lose the last ones (the background checkpoints
// sync the log only when they can copy frames). What is kept elsewhere
// about them, such as the audit watch's audit.head naming a record, must
// wait for Sync. Frames already dropped from the log were synced into
// the database by the checkpoint that copied them.
func (db *DB) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	f, err := os.OpenFile(db.path+"-wal", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		// No log: every commit is in the database file.
		if err := db.file.Sync(); err != nil {
			return fmt.Errorf("sync database: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	return nil
}
