package desk

import (
	"context"
	"time"

	"cleandrop/drop/web"
)

// throttle limits failed sign-ins and failed API tokens, taken before the
// work and given back on success, so requests sent together cannot
// evaluate more guesses than the limits allow. There is no desk-wide
// budget: one name's failures never drain another's, and one circuit's
// failures never another circuit's.
//   - per login name: password and TOTP sign-ins;
//   - per officer name: well-formed API tokens (a malformed one is refused
//     before it touches any budget);
//   - per circuit ([web.Circuit]): both, so a flooder's own circuit runs
//     dry first.
//
// Names that were never an account are tracked the same way as real ones,
// so the throttle does not tell them apart. Each table is bounded and
// forgets only buckets that have refilled ([web.Buckets]).
type throttle struct {
	names    *web.Buckets
	tokens   *web.Buckets
	circuits *web.Buckets
}

// Throttle defaults: five failed sign-ins in a row per name, then one a
// minute; twenty failed tokens per officer, then one every three seconds;
// twenty failures of either kind per circuit, then one every three seconds.
const (
	nameBurst     = 5
	nameRefill    = time.Minute
	tokenBurst    = 20
	tokenRefill   = 3 * time.Second
	circuitBurst  = 20
	circuitRefill = 3 * time.Second
	maxNames      = 4096
	maxCircuits   = 1 << 16
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{
		names:    web.NewBuckets(nameBurst, nameRefill, maxNames, now),
		tokens:   web.NewBuckets(tokenBurst, tokenRefill, maxNames, now),
		circuits: web.NewBuckets(circuitBurst, circuitRefill, maxCircuits, now),
	}
}

// try is one taken attempt: give it back with refund when the work
// succeeded or was never done.
type try struct{ circuit, name *web.Bucket }

func (t try) refund() {
	t.circuit.Refund()
	t.name.Refund()
}

// take takes a try from the request's circuit and from key's bucket in
// table, or none.
func (t *throttle) take(ctx context.Context, table *web.Buckets, key string) (try, bool) {
	c := t.circuits.Get(web.Circuit(ctx))
	if !c.Take() {
		return try{}, false
	}
	n := table.Get(key)
	if !n.Take() {
		c.Refund()
		return try{}, false
	}
	return try{circuit: c, name: n}, true
}

// login takes a sign-in try for name.
func (t *throttle) login(ctx context.Context, name string) (try, bool) {
	return t.take(ctx, t.names, name)
}

// token takes a try for a well-formed API token of officer name.
func (t *throttle) token(ctx context.Context, name string) (try, bool) {
	return t.take(ctx, t.tokens, name)
}
