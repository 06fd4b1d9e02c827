package vault

import (
	"errors"
	mrand "math/rand/v2"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TEMPORARY: this Badger implementation of UpdateRecord stands in for the
// one the vault gets on backend.Meta; it is replaced when the vault is
// rewired onto the backend interfaces.

// UpdateRecord reads kind/id (old is nil when absent), calls fn, and stores
// what fn returns in the same serializable transaction (a nil new value
// deletes the record). fn may run more than once when the transaction
// conflicts, so it must have no effect outside its return values. An error
// from fn is returned unchanged and nothing is stored.
func (s *Store) UpdateRecord(kind, id string, fn func(old []byte) (new []byte, err error)) error {
	k, err := recordKey(kind, id)
	if err != nil {
		return err
	}
	var fnErr error
	err = s.atTick(func() error {
		for attempt := 1; ; attempt++ {
			err := s.db.Update(func(txn *badger.Txn) error {
				var old []byte
				it, err := txn.Get(k)
				switch {
				case errors.Is(err, badger.ErrKeyNotFound):
				case err != nil:
					return err
				default:
					if old, err = it.ValueCopy(nil); err != nil {
						return err
					}
				}
				v, err := fn(old)
				switch {
				case err != nil:
					fnErr = err
					return err
				case v == nil && old == nil:
					return nil
				case v == nil:
					return s.del(txn, k)
				case len(v) > maxRecord:
					fnErr = errors.New("vault: record too large")
					return fnErr
				}
				return s.set(txn, k, v)
			})
			if errors.Is(err, badger.ErrConflict) && attempt < commitAttempts {
				time.Sleep(time.Duration(mrand.IntN(2000)+100) * time.Microsecond) // #nosec G404 -- only spreads retries of a conflicting commit
				continue
			}
			return err
		}
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return dbErr("update record", err)
	}
	return nil
}
