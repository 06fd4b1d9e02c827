package vault

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"cleandrop/vault/backend"
)

// Badger makes new files (a memtable's write-ahead file, then a table and
// the compactions that follow it) when its memtable fills, that is at the
// write that finds it full. Were that a report's commit, the new files'
// birth times would be that commit's moment. So the store never lets the
// memtable fill: it rotates it itself, at a tick, once an hour (the first
// tick of each UTC hour) and at any tick where what it wrote since the
// last rotation could have filled a quarter of it. Badger's own rotation
// is then never reached unless more than three quarters of a memtable is
// written between two ticks.

// memTableSize is Badger's memtable size; a variable for tests. Its arena
// is allocated whole and, on memory Go reuses, cleared whole: at 16 MiB
// it was 21 MiB of the server's ~35 MiB of live heap, and the server's
// peak during a 1 GiB upload fell from 108-111 to 89-90 MiB at 4 MiB
// (docs/benchmarks.md). It also bounds a transaction (15% of it, less
// [txnRoom]): one report or answer takes 934 attachments with 30-byte
// names, 314 with 1000-byte names, for an agency with X25519 keys, and
// 235 and 157 for one with post-quantum keys, whose sealed names are
// longer; a batch refuses the item past that ([ErrBatchFull]), and a
// large case settles in several transactions.
var memTableSize int64 = 4 << 20

// entryOverhead over-estimates what Badger adds to a key and its value in
// its memtable and write-ahead file (skiplist node, entry header,
// checksum, encryption).
const entryOverhead = 128

// memtable counts the bytes written to Badger since its memtable was last
// rotated, over-estimating.
type memtable struct {
	size    int64 // Badger's memtable size, as the store opened it
	written atomic.Int64
	hour    time.Time // the hour of the last rotation; used by the schedule's goroutine only
}

// put writes k = v in tx and counts it. A transaction that runs again
// counts again: the count only over-estimates.
func (s *Store) put(tx backend.Tx, k, v []byte) error {
	s.mem.written.Add(int64(len(k)+len(v)) + entryOverhead)
	return tx.Put(k, v)
}

// del deletes k in tx and counts it.
func (s *Store) del(tx backend.Tx, k []byte) error {
	s.mem.written.Add(int64(len(k)) + entryOverhead)
	return tx.Delete(k)
}

// update runs fn in a read-write transaction of the metadata store at the
// next commit step ([Store.atTick]), run again if it conflicts.
func (s *Store) update(fn func(tx backend.Tx) error) error {
	return s.atTick(func() error {
		ctx, cancel := context.WithTimeout(s.ctx, metaTimeout)
		defer cancel()
		return s.meta.Update(ctx, fn)
	})
}

// sortRecords sorts records by ID: a shared store's keys hide the IDs, so
// its scans come in no useful order.
func sortRecords(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
}

// rotateDue reports whether the tick at should rotate the memtable.
func (m *memtable) rotateDue(at time.Time) bool {
	return at.Truncate(time.Hour) != m.hour || m.written.Load() >= m.size/4
}

// rotate flushes Badger's memtable to a table and starts a new one, now,
// on the tick. Badger's only way to ask for that is DropPrefix, which
// blocks writes, flushes the memtables and drops the keys under a prefix:
// the prefix is the cover key's, rewritten at every tick. No write is under
// way: every write of the store waits at a commit step's gate (atTick), and
// the next gate opens only after the tick, and so this rotation, is done.
func (s *Store) rotate(at time.Time) {
	if err := s.db.DropPrefix(coverKey); err != nil {
		s.log.Warn("vault: rotate the memtable", "err", dbErr("rotate", err))
		return
	}
	s.mem.written.Store(0)
	s.mem.hour = at.Truncate(time.Hour)
}
