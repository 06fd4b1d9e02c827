package backend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by [Tx.Get] for a missing key and by
// [Blobs.Open] for a blob that does not exist or is not committed.
var ErrNotFound = errors.New("not found")

// ErrConflict marks a transaction that lost a race with another one. An
// implementation wraps its engine's serialization failures in it;
// [Meta.Update] retries on it, and returns it (wrapped) only when every
// attempt lost.
var ErrConflict = errors.New("transaction conflict")

// ErrNoSpace marks a write the store refused for want of space: a
// PostgreSQL that cannot extend its files (SQLSTATE 53100), an object
// store that answers 507 or names its own "storage full".
var ErrNoSpace = errors.New("store has no space left")

// ErrUncertain marks a commit whose outcome is unknown: the connection was
// lost after the commit was sent, so the transaction may have landed.
// Only the commit of [Meta.Update] returns it; it is not retried.
var ErrUncertain = errors.New("commit outcome unknown")

// ErrSwept is returned by [Upload.Commit] when [Blobs.Sweep] removed the
// upload first (it was idle for longer than the sweep's age).
var ErrSwept = errors.New("upload was swept")

// Meta is a transactional key-value store for the vault's records.
type Meta interface {
	// Update runs fn in a read-write, serializable transaction and
	// commits it if fn returns nil. If the transaction conflicts with
	// another one, Update runs fn again in a new transaction, a bounded
	// number of times: fn must have no effect outside tx. An error from
	// fn rolls the transaction back and is returned as it is.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction that sees one consistent
	// snapshot.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Close releases the store. It does not wait for running
	// transactions.
	Close() error
}

// Tx is one transaction of a [Meta]. It must not be used after the
// function it was given to returns, nor from several goroutines.
type Tx interface {
	// Get returns a copy of the value under key, or [ErrNotFound].
	Get(key []byte) ([]byte, error)
	// Put sets key to value.
	Put(key, value []byte) error
	// PutIfAbsent sets key to value if key has no value, and reports
	// whether it did.
	PutIfAbsent(key, value []byte) (bool, error)
	// CompareAndSwap sets key to value if its current value is old, and
	// reports whether it did. A nil old means "key has no value" (the
	// same as PutIfAbsent).
	CompareAndSwap(key, old, value []byte) (bool, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
	// Scan calls fn for every key that starts with prefix, in increasing
	// byte order, with its value. k and v are valid only during the call.
	// An error from fn stops the scan and is returned. A nil prefix scans
	// everything.
	Scan(prefix []byte, fn func(k, v []byte) error) error
}

// Blobs keeps sealed blobs under random names.
type Blobs interface {
	// Create starts a blob. Its ctx governs the upload until Commit or
	// Abort: cancelling it fails the upload.
	Create(ctx context.Context) (Upload, error)
	// Open returns a committed blob, or [ErrNotFound].
	Open(ctx context.Context, name string) (Blob, error)
	// Delete removes a committed blob; a missing blob is not an error.
	Delete(ctx context.Context, name string) error
	// List calls fn for every committed blob with its size, in no
	// particular order. An error from fn stops the listing and is
	// returned.
	List(ctx context.Context, fn func(name string, size int64) error) error
	// Sweep removes the uploads that were neither committed nor aborted
	// and have been idle for longer than olderThan (an aborted batch, a
	// crashed front-end), and reports how many it removed. It is safe
	// while this and other front-ends create and commit: a commit that
	// races it either wins, and the blob stays, or fails with
	// [ErrSwept] and leaves nothing.
	Sweep(ctx context.Context, olderThan time.Duration) (int, error)
}

// Upload is a blob being written. Nothing of it can be listed or opened
// before Commit returns nil.
type Upload interface {
	io.Writer
	// Name is the blob's name, 32 hex digits (128 random bits).
	Name() string
	// Commit makes the blob visible, durably, and returns its size. After
	// a failed Commit nothing is visible.
	Commit(ctx context.Context) (int64, error)
	// Abort discards the upload. It may be called after Commit, when it
	// does nothing.
	Abort(ctx context.Context) error
}

// Blob is a committed blob being read. Both backends serve ranges, so
// ReadAt reads from any offset without reading what comes before.
type Blob interface {
	io.ReadCloser
	io.ReaderAt
	Size() int64
}

// NewName returns a fresh blob name: 128 random bits in hex.
func NewName() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("backend: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// ValidName reports whether name has the form [NewName] gives.
func ValidName(name string) bool {
	if len(name) != 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Copier is a [Blobs] that copies a committed blob inside the store, to a
// fresh name, without the bytes passing through the caller. The copy is
// committed when Copy returns; the original stays until deleted. The vault
// uses it to settle a day's blobs: a copy made after the day is over
// carries that later moment as its time (an object's Last-Modified), not
// the moment its reporter's upload ended.
type Copier interface {
	Copy(ctx context.Context, name string) (newName string, size int64, err error)
}
