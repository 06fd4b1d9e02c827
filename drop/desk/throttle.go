package desk

import (
	"sync"
	"time"

	"cleandrop/drop/web"
)

// throttle limits failed sign-ins, for each login name and for the whole
// desk. Behind Tor there is no address to throttle on. Names that were
// never an account are tracked the same way as real ones, so the throttle
// does not tell them apart.
type throttle struct {
	mu     sync.Mutex
	now    func() time.Time
	global *web.Bucket
	names  map[string]*web.Bucket
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
	return &throttle{now: now, global: web.NewBucket(globalBurst, globalRefill, now), names: map[string]*web.Bucket{}}
}

// name returns the bucket of a login name, forgetting full buckets when
// too many are kept.
func (t *throttle) name(n string) *web.Bucket {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.names[n]; ok {
		return b
	}
	if len(t.names) >= maxNames {
		for k, v := range t.names {
			if v.Full() {
				delete(t.names, k)
			}
		}
	}
	b := web.NewBucket(nameBurst, nameRefill, t.now)
	if len(t.names) < maxNames {
		t.names[n] = b
	}
	return b
}

// allow reports whether a sign-in as name may be tried now.
func (t *throttle) allow(name string) bool {
	return t.global.Allow() && t.name(name).Allow()
}

// failed spends a token of name and of the desk.
func (t *throttle) failed(name string) {
	t.global.Failed()
	t.name(name).Failed()
}
