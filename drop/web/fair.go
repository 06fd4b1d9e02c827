package web

import (
	"context"
	"errors"
	"sync"
)

// ErrBusy is returned by [Fair.Do] when the key already has as much work
// waiting or running as it may: the caller answers 429 at once.
var ErrBusy = errors.New("busy: too much work queued for this client")

// Fair runs costly work (argon2 derivations, 64 MiB each) at most Slots at
// a time across the process, taking turns across keys (circuits): each key
// has its own queue, and a freed slot goes to the next key in a round,
// not to whoever asked first. A key may have at most PerKey calls waiting
// or running; more are refused at once, so one flooder can neither hold
// the queue nor make the process hold its work.
type Fair struct {
	slots, perKey int
	// After, when set, runs after each call's fn while its slot is still
	// held: cmd sets it to collect the garbage a derivation left, so the
	// next one reuses its memory instead of adding to it. It runs in a
	// goroutine of its own: Do returns when fn has, and the slot passes on
	// when After has.
	After func()
	// Before, when set, runs in the slot just before each call's fn.
	Before func()

	mu     sync.Mutex
	active int
	keys   map[string]*fairKey // keys with work waiting or running
	ring   []*fairKey          // keys with work waiting, in turn order
}

type fairKey struct {
	name    string
	n       int             // waiting or running
	waiting []chan struct{} // closed when granted a slot
	inRing  bool
}

// NewFair runs at most slots calls at once, with at most perKey waiting
// or running per key.
func NewFair(slots, perKey int) *Fair {
	return &Fair{slots: max(1, slots), perKey: max(1, perKey), keys: map[string]*fairKey{}}
}

// Do runs fn when a slot is free and key's turn has come. It returns
// [ErrBusy] at once when key already has PerKey calls waiting or running,
// and ctx's error if ctx ends before fn starts; fn has not run then.
func (f *Fair) Do(ctx context.Context, key string, fn func()) error {
	f.mu.Lock()
	k := f.keys[key]
	if k == nil {
		k = &fairKey{name: key}
		f.keys[key] = k
	}
	if k.n >= f.perKey {
		f.mu.Unlock()
		return ErrBusy
	}
	k.n++
	if f.active < f.slots && len(f.ring) == 0 {
		f.active++
		f.mu.Unlock()
		f.run(k, fn)
		return nil
	}
	ch := make(chan struct{})
	k.waiting = append(k.waiting, ch)
	if !k.inRing {
		k.inRing = true
		f.ring = append(f.ring, k)
	}
	f.mu.Unlock()

	select {
	case <-ch:
		f.run(k, fn)
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		select {
		case <-ch:
			// Granted just now: pass the slot on.
			f.mu.Unlock()
			f.done(k)
		default:
			for i, c := range k.waiting {
				if c == ch {
					k.waiting = append(k.waiting[:i], k.waiting[i+1:]...)
					break
				}
			}
			k.n--
			if len(k.waiting) == 0 && k.inRing {
				k.inRing = false
				for i, r := range f.ring {
					if r == k {
						f.ring = append(f.ring[:i], f.ring[i+1:]...)
						break
					}
				}
			}
			if k.n == 0 {
				delete(f.keys, k.name)
			}
			f.mu.Unlock()
		}
		return ctx.Err()
	}
}

func (f *Fair) run(k *fairKey, fn func()) {
	ok := false
	defer func() {
		if !ok { // Before or fn panicked: free the slot
			f.done(k)
		}
	}()
	if f.Before != nil {
		f.Before()
	}
	fn()
	ok = true
	if f.After == nil {
		f.done(k)
		return
	}
	go func() {
		defer f.done(k)
		f.After()
	}()
}

// done frees k's slot and hands it to the next key in turn.
func (f *Fair) done(k *fairKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k.n--
	if k.n == 0 {
		delete(f.keys, k.name)
	}
	if len(f.ring) == 0 {
		f.active--
		return
	}
	next := f.ring[0]
	f.ring = f.ring[1:]
	ch := next.waiting[0]
	next.waiting = next.waiting[1:]
	if len(next.waiting) > 0 {
		f.ring = append(f.ring, next) // back of the round
	} else {
		next.inRing = false
	}
	close(ch) // the slot passes on; active is unchanged
}

// Queued is how many calls are waiting or running, for tests and metrics.
func (f *Fair) Queued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, k := range f.keys {
		n += k.n
	}
	return n
}
