package vault

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"cleandrop/vault/backend"
)

// spaceErr marks a write of a batch that failed: with [ErrNoSpace] for
// want of space, and with [ErrStorage] always (a store that timed out
// included), except for the vault's own refusals (the free-space floor,
// Badger's reserve, a closed or closing vault).
func spaceErr(err error) error {
	switch {
	case err == nil, errors.Is(err, ErrStorage), errors.Is(err, ErrLowSpace), errors.Is(err, ErrNoSpace),
		errors.Is(err, context.Canceled), errors.Is(err, errClosed):
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, backend.ErrNoSpace):
		return fmt.Errorf("%w: %w: %w", ErrStorage, ErrNoSpace, err)
	}
	return fmt.Errorf("%w: %w", ErrStorage, err)
}

// Badger writes its write-ahead file, value log and tables through
// memory maps of files it makes at their full size without allocating
// them. On a full file system a write to such a page is not an error but
// SIGBUS, which kills the process (measured: a few stage changes on a
// full tmpfs). So the store never lets Badger meet a full disk: it writes
// to Badger only while badgerReserve bytes are free, enough for a new
// write-ahead file and the table its memtable flushes to. Every write of
// the store passes one place, the commit step's gate ([Store.atTick]) or
// the tick itself, where this is checked. Another process filling the disk
// between the check and the write can still bring the SIGBUS: keep the
// vault on a file system of its own, or keep min_free_mib well above this.
func (s *Store) badgerReserve() int64 { return 2 * s.mem.size }

// room refuses new writes of the vault for want of space: [Store.Room] for
// the embedded vault; nothing for a shared store, which keeps nothing on
// local disk.
func (s *Store) room() error {
	if s.objects != nil {
		return nil
	}
	return s.Room()
}

// Room reports whether files may be written on the file system of the
// vault's directory: the vault's own uploads and, beside them, the
// cleaner's spool. [ErrNoSpace] when less than Badger's reserve is free
// (embedded vault only), [ErrLowSpace] when less than [Options.MinFree].
// One statfs: cheap enough for every request and every few MiB of an
// upload. A failing statfs refuses nothing: the writes themselves then
// say whether there is room. A shared store keeps nothing there but its
// key, so only the floor counts, for the spool.
func (s *Store) Room() error {
	free, err := freeSpaceOf(s.dir)
	switch {
	case err != nil:
		return nil
	case s.objects == nil && free < s.badgerReserve():
		return ErrNoSpace
	case free < s.minFree:
		return ErrLowSpace
	}
	return nil
}

// badgerRoom returns [ErrNoSpace] when less than Badger's reserve is free.
func (s *Store) badgerRoom() error {
	if s.objects != nil {
		return nil
	}
	if free, err := freeSpaceOf(s.dir); err == nil && free < s.badgerReserve() {
		return ErrNoSpace
	}
	return nil
}

// freeSpaceOf is freeSpace; a variable for tests.
var freeSpaceOf = freeSpace
