package web

import (
	"sync"
	"time"
)

// Bucket limits failures (failed logins): at most Burst at once, refilled
// at one per Refill. Behind Tor there are no addresses to limit on, so
// both interfaces limit per drop, and the desk also per login name.
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

// Allow reports whether one more try may be made now.
func (b *Bucket) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.update()
	return b.tokens >= 1
}

// Failed spends one token.
func (b *Bucket) Failed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.update()
	b.tokens--
}

// Full reports whether the bucket has refilled completely, so a caller
// keeping many buckets can forget it.
func (b *Bucket) Full() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.update()
	return b.tokens >= b.burst
}
