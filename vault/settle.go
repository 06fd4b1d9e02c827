package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"

	"cleandrop/vault/backend"
	"cleandrop/vault/bundle"
)

// Settling a day. Whatever a store writes carries, besides the times the
// schedule sets, marks of when it was written that the vault cannot set:
// a PostgreSQL row's xmin (the number of the transaction that wrote it,
// which counts up with every commit, one cover commit a tick) and a Badger
// key's version (the same, in Badger's own counter) order a row among
// the ticks; an object's Last-Modified is the tick its upload completed.
// So at the first tick of every UTC day the store settles the days before:
// every case last updated on one of them is written again, its case,
// item, data and lookup records in one transaction (a case too large for
// one in several, one after the other), and in a shared
// store its objects are copied, in the store, to fresh names (then the
// old ones deleted). Afterwards those records carry the settling
// transaction's number and the objects the moment of their copy: a
// moment after midnight, in an order shuffled anew each day, for every
// case of the day. What is left of the old versions (dead tuples until
// PostgreSQL's vacuum, old versions until Badger's compaction, and each
// store's write-ahead log until it is recycled) is in
// docs/threat-model.md.

// settledKey holds the last day settled.
var settledKey = []byte("z/settled")

// errChanged: a case changed while it was being settled; the next day's
// settling takes it.
var errChanged = errors.New("vault: settle: the case changed meanwhile")

// settler runs the day's settling in its own goroutine.
type settler struct {
	mu      sync.Mutex
	running bool
	day     string // the day whose first tick last started a settling
	cases   int    // cases settled since the store opened
	rounds  int    // settlings finished
	wg      sync.WaitGroup
}

// due reports whether the tick of day today should start a settling.
func (st *settler) due(today string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return !st.running && st.day != today
}

func (st *settler) start(s *Store, today string) {
	st.mu.Lock()
	st.running, st.day = true, today
	st.mu.Unlock()
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		n, err := s.settle(today)
		st.mu.Lock()
		st.running = false
		st.cases += n
		st.rounds++
		st.mu.Unlock()
		switch {
		case err != nil && s.ctx.Err() == nil:
			s.log.Warn("vault: settle the days before today", "err", err)
			st.mu.Lock()
			st.day = "" // try again at the next tick
			st.mu.Unlock()
		case n > 0:
			s.log.Info("vault: settled the cases of the days before today", "count", n)
		}
	}()
}

func (st *settler) wait() { st.wg.Wait() }

// settle writes again every case updated after the last settled day and
// before today, and returns how many it settled.
func (s *Store) settle(today string) (int, error) {
	var settled string
	var refs []string
	err := s.view(func(tx backend.Tx) error {
		refs = refs[:0]
		switch v, err := tx.Get(settledKey); {
		case err == nil:
			settled = string(v)
		case !errors.Is(err, backend.ErrNotFound):
			return err
		}
		return tx.Scan([]byte("c/"), func(_, v []byte) error {
			var rec caseRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("vault: read case: %w", err)
			}
			if rec.Updated > settled && rec.Updated < today {
				refs = append(refs, rec.Ref)
			}
			return nil
		})
	})
	if err != nil {
		return 0, dbErr("settle", err)
	}
	// The order of the rewrites must not be the order of the reports.
	mrand.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
	n := 0
	for _, ref := range refs {
		if s.ctx.Err() != nil {
			return n, s.ctx.Err()
		}
		switch err := s.settleCase(ref, today); {
		case errors.Is(err, errChanged):
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	yesterday := bundle.Midnight(today).AddDate(0, 0, -1).Format("2006-01-02")
	if err := s.update(func(tx backend.Tx) error {
		// Another front-end may have settled further already.
		if v, err := tx.Get(settledKey); err == nil && string(v) >= yesterday {
			return nil
		}
		return s.put(tx, settledKey, []byte(yesterday))
	}); err != nil {
		return n, dbErr("settle", err)
	}
	return n, nil
}

// settleCase writes case ref again, unless it was updated today or
// changes meanwhile ([errChanged]).
func (s *Store) settleCase(ref, today string) error {
	var rec caseRecord
	var items []itemRecord
	err := s.view(func(tx backend.Tx) error {
		var err error
		if rec, err = s.loadRecord(tx, ref); err != nil {
			return err
		}
		items = items[:0]
		return tx.Scan(s.k.itemPrefix(ref), func(_, v []byte) error {
			var ir itemRecord
			if err := json.Unmarshal(v, &ir); err != nil {
				return fmt.Errorf("vault: read item: %w", err)
			}
			items = append(items, ir)
			return nil
		})
	})
	if err != nil {
		return err
	}
	if rec.Updated >= today {
		return errChanged
	}
	for i, chunk := range s.settleChunks(items) {
		if err := s.settleChunk(ref, rec, chunk, i == 0); err != nil {
			return err
		}
	}
	return nil
}

// settleChunks splits a case's items into runs that each fit in one
// transaction ([Store.budget]) beside the case record: a case that grew
// over many batches can outgrow one, and its settling then failed every
// day, and with it the settling of the cases after it. The runs are
// written one after the other, each in a transaction of its own, all at
// the day's settling.
func (s *Store) settleChunks(items []itemRecord) [][]itemRecord {
	budget := s.budget()
	if budget <= 0 {
		return [][]itemRecord{items}
	}
	var chunks [][]itemRecord
	start, size := 0, int64(0)
	for i, it := range items {
		n := recordSize(it)
		if it.Blob == "" && it.Pack == "" && it.Object == "" {
			n += entrySize(maxItemKey, valueThreshold-1) // its inline data, at most
		}
		if i > start && size+n > budget {
			chunks = append(chunks, items[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(chunks, items[start:])
}

// settleChunk writes items of case ref again, and with the first chunk
// the case and its lookup, in one transaction, unless the case changed
// since rec was read ([errChanged]).
func (s *Store) settleChunk(ref string, rec caseRecord, items []itemRecord, first bool) error {
	// Copy the items' objects first: the transaction then points at the
	// copies, and on any failure the copies are deleted again.
	copies := map[int]string{}
	var made []string
	drop := func(names []string) { s.deleteObjects(names, "settle: delete an object") }
	if c, ok := s.objects.(backend.Copier); ok {
		for _, it := range items {
			if it.Object == "" {
				continue
			}
			ctx, cancel := context.WithTimeout(s.ctx, objectTimeout)
			name, size, err := c.Copy(ctx, it.Object)
			cancel()
			if err == nil {
				made = append(made, name)
				if size != it.Size {
					err = fmt.Errorf("copy holds %d bytes, not %d", size, it.Size)
				}
			}
			if err != nil {
				drop(made)
				return dbErr("settle: copy object", err)
			}
			copies[it.ID] = name
		}
	}
	err := s.update(func(tx backend.Tx) error {
		cur, err := s.loadRecord(tx, ref)
		if err != nil {
			return err
		}
		if cur.Updated != rec.Updated || cur.Items != rec.Items || cur.Batches != rec.Batches || len(cur.Custody) != len(rec.Custody) {
			return errChanged
		}
		if first {
			v, err := json.Marshal(cur)
			if err != nil {
				return err
			}
			if err := s.put(tx, s.k.caseKey(ref), v); err != nil {
				return err
			}
		}
		for _, it := range items {
			if n, ok := copies[it.ID]; ok {
				it.Object = n
			}
			v, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := s.put(tx, s.k.itemKey(ref, it.ID), v); err != nil {
				return err
			}
			if it.Blob == "" && it.Pack == "" && it.Object == "" {
				data, err := tx.Get(s.k.dataKey(ref, it.ID))
				if err != nil {
					return err
				}
				if err := s.put(tx, s.k.dataKey(ref, it.ID), data); err != nil {
					return err
				}
			}
		}
		if first && len(cur.Access.Lookup) > 0 {
			lk := s.k.lookupKey(cur.Access.Lookup)
			v, err := tx.Get(lk)
			if err != nil {
				return err
			}
			if err := s.put(tx, lk, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		drop(made)
		if errors.Is(err, errChanged) {
			return err
		}
		return dbErr("settle", err)
	}
	// The records point at the copies: the originals go.
	var originals []string
	for _, it := range items {
		if _, ok := copies[it.ID]; ok {
			originals = append(originals, it.Object)
		}
	}
	drop(originals)
	return nil
}
