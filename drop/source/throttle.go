package source

import (
	"sync"
	"time"
)

// throttle limits failed logins for the whole drop. There are no addresses
// to throttle on behind Tor, so when failures outrun the refill rate every
// login waits, which keeps guessing at the rate the refill allows.
type throttle struct {
	mu     sync.Mutex
	tokens float64
	burst  float64
	refill time.Duration
	last   time.Time
	now    func() time.Time
}

func newThrottle(burst int, refill time.Duration) *throttle {
	return &throttle{tokens: float64(burst), burst: float64(burst), refill: refill, now: time.Now, last: time.Now()}
}

func (t *throttle) update() {
	now := t.now()
	t.tokens += float64(now.Sub(t.last)) / float64(t.refill)
	if t.tokens > t.burst {
		t.tokens = t.burst
	}
	t.last = now
}

// allow reports whether a login may be tried now.
func (t *throttle) allow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.update()
	return t.tokens >= 1
}

// failed spends one token.
func (t *throttle) failed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.update()
	t.tokens--
}
