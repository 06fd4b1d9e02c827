// Package txretry runs a transaction again when it lost a race, for the
// implementations of [backend.Meta].
package txretry

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"cleandrop/vault/backend"
)

// Attempts bounds the runs of one Update.
const Attempts = 32

// Do calls attempt until it returns anything but an error wrapping
// [backend.ErrConflict], at most [Attempts] times, waiting a short random
// while (that grows) between attempts so that the losers spread out.
func Do(ctx context.Context, attempt func() error) error {
	var err error
	for i := 0; i < Attempts; i++ {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		err = attempt()
		if !errors.Is(err, backend.ErrConflict) {
			return err
		}
		// Jitter only spreads retries; it needs no secret randomness.
		wait := time.Duration(mrand.IntN(200<<min(i, 6))+50) * time.Microsecond
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return fmt.Errorf("%d attempts: %w", Attempts, err)
}
