package vault

import (
	"encoding/json"
	"errors"
	"strings"
)

// A batch commits in one transaction, and Badger takes a transaction only
// up to a size its memtable sets: 15% of the memtable, counting each
// entry's key, its value when under the value threshold (else a pointer
// into the value log) and a few bytes more. A report of many files with
// long names, sealed to post-quantum recipients, outgrew it: 1000 files
// with 1000-byte names for such an agency failed at the commit, after
// every byte had been sent ("Txn is too big to fit into one request").
// So a batch counts what its commit will write and refuses, with
// [ErrBatchFull], an item that would not fit, before the item's data is
// read; and at the commit its small items go to a pack rather than into
// the transaction when they would not fit there.

// ErrBatchFull: the batch holds as much as one commit can take; the item
// was refused before any of its data was read.
var ErrBatchFull = errors.New("vault: the batch holds as much as one commit can take")

// valueThreshold is Badger's value threshold (badgerOptions): values at
// least this long go to its value log.
const valueThreshold = 4 << 10

// txnRoom is what a batch may put in its commit's transaction besides its
// items: the case record (at most a pointer into the value log once past
// the threshold), the lookup key, a cleaning note and a margin.
const txnRoom = 16 << 10

// budget is the room for a batch's items in one transaction: for Badger,
// 15% of its memtable less [txnRoom]; 0 for a shared store, whose
// database sets no such bound.
func (s *Store) budget() int64 {
	if s.db == nil {
		return 0
	}
	return s.mem.size*15/100 - txnRoom
}

// entrySize over-estimates what Badger counts for a key of k bytes with a
// value of n bytes: the key, the value or its pointer, its two meta
// bytes and the key's version.
func entrySize(k, n int) int64 {
	if n >= valueThreshold {
		n = 12
	}
	return int64(k + n + 2 + 10)
}

// maxItemKey bounds an item's or its data's key: the prefix, a case
// reference or its HMAC, and the item number.
const maxItemKey = 64

// itemSize over-estimates what an item's record adds to the commit, with
// the largest numbers and pack name it could hold.
func itemSize(p *pending) int64 {
	return recordSize(itemRecord{
		Item: Item{ID: 1 << 30, Batch: 1 << 30, Kind: p.kind, Day: "2006-01-02", Size: 1 << 62,
			SHA256: strings.Repeat("0", 64), Name: p.name, Purpose: p.purpose},
		Pack: strings.Repeat("p", 48), Off: 1 << 62,
	})
}

// recordSize is what the item record ir adds to a transaction.
func recordSize(ir itemRecord) int64 {
	v, err := json.Marshal(ir)
	if err != nil {
		return 1 << 40
	}
	return entrySize(maxItemKey, len(v))
}

// inlineSize is what an item kept inline adds to the commit: its data's
// entry.
func inlineSize(p *pending) int64 {
	if p.inline == nil {
		return 0
	}
	return entrySize(maxItemKey, len(p.inline))
}
