package backendtest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/badgerstore"
)

// Unsure is a [backend.Meta] whose commit can be made to end as when the
// connection to a database is lost after the commit was sent: once armed
// ([Unsure.Arm]), the next Update that writes at least MinPuts keys
// returns [backend.ErrUncertain], having committed or not as armed. Other
// Updates, and every one while it is not armed, pass through.
type Unsure struct {
	backend.Meta
	MinPuts int

	armed atomic.Int32 // 0: no; 1: commit, then fail; 2: fail without committing
}

// OpenUnsure opens the stores of a shared vault on Badger under dir, its
// metadata store an [Unsure] whose uncertain commit is one of at least two
// keys (a case's; the schedule's cover write puts one).
func OpenUnsure(t testing.TB, dir string) (*Unsure, backend.Blobs) {
	t.Helper()
	meta, err := badgerstore.OpenMeta(filepath.Join(dir, "meta"), make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := badgerstore.OpenBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Unsure{Meta: meta, MinPuts: 2}, blobs
}

// Arm makes the next Update of at least MinPuts keys uncertain: landed
// says whether it commits all the same.
func (u *Unsure) Arm(landed bool) {
	if landed {
		u.armed.Store(1)
	} else {
		u.armed.Store(2)
	}
}

// Armed reports whether the uncertain commit is still to come.
func (u *Unsure) Armed() bool { return u.armed.Load() != 0 }

// errLost aborts the transaction of an uncertain commit that does not land.
var errLost = errors.New("backendtest: commit lost")

// Update implements [backend.Meta].
func (u *Unsure) Update(ctx context.Context, fn func(backend.Tx) error) error {
	var puts int
	var lost bool
	err := u.Meta.Update(ctx, func(tx backend.Tx) error {
		puts, lost = 0, false
		if err := fn(&countingTx{Tx: tx, puts: &puts}); err != nil {
			return err
		}
		if puts >= u.MinPuts && u.armed.Load() == 2 && u.armed.CompareAndSwap(2, 0) {
			lost = true
			return errLost
		}
		return nil
	})
	if lost || err == nil && puts >= u.MinPuts && u.armed.CompareAndSwap(1, 0) {
		return fmt.Errorf("backendtest: %w: the connection closed after the commit was sent", backend.ErrUncertain)
	}
	return err
}

// countingTx counts the keys a transaction writes.
type countingTx struct {
	backend.Tx
	puts *int
}

func (t *countingTx) Put(k, v []byte) error {
	*t.puts++
	return t.Tx.Put(k, v)
}

func (t *countingTx) PutIfAbsent(k, v []byte) (bool, error) {
	*t.puts++
	return t.Tx.PutIfAbsent(k, v)
}

func (t *countingTx) CompareAndSwap(k, old, v []byte) (bool, error) {
	*t.puts++
	return t.Tx.CompareAndSwap(k, old, v)
}
