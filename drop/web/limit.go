package web

import (
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
