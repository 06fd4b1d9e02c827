package web

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Bucket limits failures (failed logins): at most Burst at once, refilled
// at one per Refill. A try is taken before the work it guards and given
// back only when the work succeeds, so requests that arrive together can
// never evaluate more guesses than the bucket holds.
type Bucket struct {
	mu     sync.Mutex
	tokens float64
	burst  float64
	refill time.Duration
	last   time.Time
	now    func() time.Time
}

// NewBucket makes a full bucket. now may be nil (time.Now).
func NewBucket(burst int, refill time.Duration, now func() time.Time) *Bucket {
	if now == nil {
		now = time.Now
	}
	return &Bucket{tokens: float64(burst), burst: float64(burst), refill: refill, last: now(), now: now}
}

// update refills for the time gone by; b.mu is held.
func (b *Bucket) update() {
	t := b.now()
	b.tokens += float64(t.Sub(b.last)) / float64(b.refill)
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.last = t
}

// Take spends one try if one is left and reports whether it did. Take it
// before the work; a caller whose try succeeded gives it back with
// [Bucket.Refund].
func (b *Bucket) Take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.update()
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Refund gives back a try taken by [Bucket.Take] whose work succeeded (or
// was never done).
func (b *Bucket) Refund() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.update()
	b.tokens = min(b.tokens+1, b.burst)
}

// Full reports whether the bucket has refilled completely: it is then no
// different from a new one, and a caller keeping many buckets can forget it.
func (b *Bucket) Full() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.update()
	return b.tokens >= b.burst
}

// Buckets keeps one [Bucket] per key (a circuit, a login name) in bounded
// memory. It forgets only full buckets, which are the same as new ones, so
// no one can reset another key's spent tries, or drain them, by filling
// the table. While the table is full of spent buckets a new key gets a
// fresh bucket that is not kept: it is neither blocked nor tracked. What
// then still bounds its work is the fair queue ([Fair]).
type Buckets struct {
	mu     sync.Mutex
	burst  int
	refill time.Duration
	now    func() time.Time
	max    int
	m      map[string]*Bucket
	swept  time.Time
}

// NewBuckets keeps at most max buckets of burst tries refilled at one per
// refill. now may be nil (time.Now).
func NewBuckets(burst int, refill time.Duration, max int, now func() time.Time) *Buckets {
	if now == nil {
		now = time.Now
	}
	return &Buckets{burst: burst, refill: refill, now: now, max: max, m: map[string]*Bucket{}}
}

// Get returns the bucket of key.
func (bs *Buckets) Get(key string) *Bucket {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if b, ok := bs.m[key]; ok {
		return b
	}
	if len(bs.m) >= bs.max {
		// A sweep is a pass over the table: at most once per refill
		// interval, as no bucket refills a whole try faster than that.
		if t := bs.now(); t.Sub(bs.swept) >= bs.refill {
			bs.swept = t
			for k, b := range bs.m {
				if b.Full() {
					delete(bs.m, k)
				}
			}
		}
	}
	b := NewBucket(bs.burst, bs.refill, bs.now)
	if len(bs.m) < bs.max {
		bs.m[key] = b
	}
	return b
}

// Len is how many buckets are kept.
func (bs *Buckets) Len() int {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return len(bs.m)
}

// A Budget limits failures per key (a login name): a try is taken before
// the work it guards and given back when the work succeeds. [Buckets]
// keeps budgets in this process's memory; [SharedBuckets] in a store that
// every front-end shares.
type Budget interface {
	// Take spends one try of key's budget if one is left and reports
	// whether it did; an error means the budget could not be read, and
	// no try was taken.
	Take(key string) (bool, error)
	// Refund gives back a try that Take took.
	Refund(key string) error
}

// Take spends a try of key's bucket.
func (bs *Buckets) Take(key string) (bool, error) { return bs.Get(key).Take(), nil }

// Refund gives a try back to key's bucket.
func (bs *Buckets) Refund(key string) error { bs.Get(key).Refund(); return nil }

// SharedBuckets keeps one bucket per key as a record of a [Records] store,
// so that front-ends sharing the store spend from one budget: two
// front-ends do not give twice the tries. A record holds the tries left
// and the Unix minute they were counted at; a bucket refills by whole
// minutes, and a full bucket's record is deleted, so the store holds only
// the keys with tries spent in the last minutes. Every Take is one
// compare-and-swap in the store, so requests that arrive together at any
// front-ends cannot spend more than the bucket holds.
type SharedBuckets struct {
	st        Records
	kind      string
	burst     int64
	perMinute int64
	now       func() time.Time

	mu    sync.Mutex
	swept time.Time
}

// NewSharedBuckets keeps buckets of burst tries, refilled at one per
// refill (counted in whole minutes, so at least one a minute), as records
// of kind in st. now may be nil (time.Now).
func NewSharedBuckets(st Records, kind string, burst int, refill time.Duration, now func() time.Time) *SharedBuckets {
	if now == nil {
		now = time.Now
	}
	return &SharedBuckets{st: st, kind: kind, burst: int64(burst), perMinute: max(1, int64(time.Minute/refill)), now: now}
}

// errNoTry aborts a Take that finds the bucket empty, and errFull a
// Refund that finds nothing to give back: neither writes.
var (
	errNoTry = errors.New("web: no try left")
	errFull  = errors.New("web: bucket full")
)

// left is what a bucket record holds at minute m: the tries left after
// refilling. A missing or unreadable record is a full bucket.
func (b *SharedBuckets) left(rec []byte, m int64) int64 {
	if len(rec) != 16 {
		return b.burst
	}
	n := int64(binary.BigEndian.Uint64(rec[:8]))  // #nosec G115 -- written from a count in [0, burst]
	at := int64(binary.BigEndian.Uint64(rec[8:])) // #nosec G115 -- written from a positive minute
	if d := m - at; d > 0 {
		if d >= b.burst {
			return b.burst
		}
		n += d * b.perMinute
	}
	return min(max(n, 0), b.burst)
}

func bucketRecord(n, m int64) []byte {
	out := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(n)) // #nosec G115 -- a count in [0, burst]
	return binary.BigEndian.AppendUint64(out, uint64(m))                 // #nosec G115 -- a positive minute
}

// Take spends one try of key's bucket.
func (b *SharedBuckets) Take(key string) (bool, error) {
	m := b.now().Unix() / 60
	b.sweep(m)
	err := b.st.UpdateRecord(b.kind, key, func(old []byte) ([]byte, error) {
		n := b.left(old, m)
		if n < 1 {
			return nil, errNoTry
		}
		return bucketRecord(n-1, m), nil
	})
	switch {
	case errors.Is(err, errNoTry):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("web: take a try: %w", err)
	}
	return true, nil
}

// Refund gives one try back to key's bucket; a bucket that is full again
// is deleted.
func (b *SharedBuckets) Refund(key string) error {
	m := b.now().Unix() / 60
	err := b.st.UpdateRecord(b.kind, key, func(old []byte) ([]byte, error) {
		if old == nil {
			return nil, errFull
		}
		n := b.left(old, m) + 1
		if n >= b.burst {
			return nil, nil
		}
		return bucketRecord(n, m), nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return fmt.Errorf("web: give a try back: %w", err)
	}
	return nil
}

// sweep deletes the records of buckets that have refilled, at most once
// per minute per front-end.
func (b *SharedBuckets) sweep(m int64) {
	b.mu.Lock()
	t := time.Unix(m*60, 0)
	if t.Sub(b.swept) < time.Minute {
		b.mu.Unlock()
		return
	}
	b.swept = t
	b.mu.Unlock()
	recs, err := b.st.Records(b.kind)
	if err != nil {
		return
	}
	for _, r := range recs {
		if b.left(r.Value, m) < b.burst {
			continue
		}
		_ = b.st.UpdateRecord(b.kind, r.ID, func(old []byte) ([]byte, error) {
			if old != nil && b.left(old, m) < b.burst {
				return nil, errFull // spent again meanwhile
			}
			return nil, nil
		})
	}
}
