package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// The budgets per name are in memory ([web.Buckets]), or, with
// [Config.Shared], records of the shared store ([web.SharedBuckets]), so
// that several front-ends spend from one budget per name. The budgets per
// circuit are always in memory: a circuit belongs to one tor, so to one
// front-end.
//
// Names that were never an account are tracked the same way as real ones,
// so the throttle does not tell them apart. A budget is named by a
// SHA-256 of the name tried, never the name itself (a password typed in
// the name field stays out of the store's keys), and a string that can be
// no account (not a valid login name) is counted in one budget shared by
// all such strings. Each table in memory is bounded and forgets only
// buckets that have refilled.
type throttle struct {
	names    web.Budget
	tokens   web.Budget
	circuits *web.Buckets
}

// Throttle defaults: five failed sign-ins in a row per name, then one a
// minute; twenty failed tokens per officer, then one every three seconds
// (in the shared store, which counts whole minutes: twenty a minute);
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

// Record kinds of the shared budgets.
const (
	kindNameBudget  = "throttle.login"
	kindTokenBudget = "throttle.token"
)

// notAName is the budget key of every string that is no valid login name.
const notAName = "~"

// budgetKey names the budget of a login name.
func budgetKey(name string) string {
	if !nameRe.MatchString(name) {
		return notAName
	}
	sum := sha256.Sum256([]byte("cleandrop login budget " + name))
	return hex.EncodeToString(sum[:16])
}

func newThrottle(shared web.Records, now func() time.Time) *throttle {
	t := &throttle{
		names:    web.NewBuckets(nameBurst, nameRefill, maxNames, now),
		tokens:   web.NewBuckets(tokenBurst, tokenRefill, maxNames, now),
		circuits: web.NewBuckets(circuitBurst, circuitRefill, maxCircuits, now),
	}
	if shared != nil {
		t.names = web.NewSharedBuckets(shared, kindNameBudget, nameBurst, nameRefill, now)
		t.tokens = web.NewSharedBuckets(shared, kindTokenBudget, tokenBurst, tokenRefill, now)
	}
	return t
}

// try is one taken attempt: give it back with refund when the work
// succeeded or was never done.
type try struct {
	circuit *web.Bucket
	table   web.Budget
	key     string
}

// refund gives the try back; it reports a budget it could not write to
// (the try then stays spent).
func (t try) refund() error {
	t.circuit.Refund()
	return t.table.Refund(t.key)
}

// take takes a try from the request's circuit and from key's budget in
// table, or none. The error is a budget that could not be read: nothing
// is taken then.
func (t *throttle) take(ctx context.Context, table web.Budget, key string) (try, bool, error) {
	key = budgetKey(key)
	c := t.circuits.Get(web.Circuit(ctx))
	if !c.Take() {
		return try{}, false, nil
	}
	ok, err := table.Take(key)
	if !ok || err != nil {
		c.Refund()
		return try{}, false, err
	}
	return try{circuit: c, table: table, key: key}, true, nil
}

// login takes a sign-in try for name.
func (t *throttle) login(ctx context.Context, name string) (try, bool, error) {
	return t.take(ctx, t.names, name)
}

// token takes a try for a well-formed API token of officer name.
func (t *throttle) token(ctx context.Context, name string) (try, bool, error) {
	return t.take(ctx, t.tokens, name)
}

// refund gives a try back; a budget that cannot be written keeps it spent,
// which is logged.
func (h *handler) refund(t try) {
	if err := t.refund(); err != nil {
		h.log.Warn("give a try back", "err", err)
	}
}
