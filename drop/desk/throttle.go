package desk

import (
	"sync"
	"time"
)

// bucket is a token bucket of failed sign-ins.
type bucket struct {
	tokens float64
	last   time.Time
}

// throttle limits failed sign-ins, for each login name and for the whole
// desk. Behind Tor there is no address to throttle on. Names that were
// never an account are tracked the same way as real ones, so the throttle
// does not tell them apart.
type throttle struct {
	mu     sync.Mutex
	now    func() time.Time
	global bucket
	names  map[string]*bucket

	globalBurst, nameBurst   float64
	globalRefill, nameRefill time.Duration
}

// Throttle defaults: five failures in a row per name, then one try a
// minute; fifty in a row for the whole desk, then one every two seconds.
const (
	nameBurst    = 5
	nameRefill   = time.Minute
	globalBurst  = 50
	globalRefill = 2 * time.Second
	maxNames     = 4096
)

func newThrottle(now func() time.Time) *throttle {
	t := now()
	return &throttle{
		now: now, names: map[string]*bucket{},
		global:      bucket{tokens: globalBurst, last: t},
		globalBurst: globalBurst, nameBurst: nameBurst,
		globalRefill: globalRefill, nameRefill: nameRefill,
	}
}

func refill(b *bucket, now time.Time, burst float64, every time.Duration) {
	b.tokens += float64(now.Sub(b.last)) / float64(every)
	if b.tokens > burst {
		b.tokens = burst
	}
	b.last = now
}

// name returns the bucket of a login name; t.mu is held.
func (t *throttle) name(n string, now time.Time) *bucket {
	b, ok := t.names[n]
	if !ok {
		if len(t.names) >= maxNames {
			for k, v := range t.names {
				if refill(v, now, t.nameBurst, t.nameRefill); v.tokens >= t.nameBurst {
					delete(t.names, k)
				}
			}
		}
		b = &bucket{tokens: t.nameBurst, last: now}
		if len(t.names) < maxNames {
			t.names[n] = b
		}
	}
	refill(b, now, t.nameBurst, t.nameRefill)
	return b
}

// allow reports whether a sign-in as name may be tried now.
func (t *throttle) allow(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	refill(&t.global, now, t.globalBurst, t.globalRefill)
	return t.global.tokens >= 1 && t.name(name, now).tokens >= 1
}

// failed spends a token of name and of the desk.
func (t *throttle) failed(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	refill(&t.global, now, t.globalBurst, t.globalRefill)
	t.global.tokens--
	t.name(name, now).tokens--
}
