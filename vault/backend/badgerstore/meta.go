package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/internal/txretry"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Meta is a [backend.Meta] on Badger.
type Meta struct {
	db    *badger.DB
	owned bool
}

// OpenMeta opens (creating it on first use) a Badger database in dir,
// encrypted at rest with encryptionKey (16, 24 or 32 bytes), with
// synchronous writes: an Update that returned nil survives a crash.
// Badger's warnings and errors go to log.
func OpenMeta(dir string, encryptionKey []byte, log *slog.Logger) (*Meta, error) {
	opts := badger.DefaultOptions(dir).
		WithEncryptionKey(encryptionKey).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithSyncWrites(true).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithValueLogFileSize(64 << 20).
		WithNumVersionsToKeep(1).
		WithCompression(options.None).
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{log})
	if _, err := DropEmptyLogFiles(dir); err != nil {
		return nil, fmt.Errorf("open badger: %w", err)
	}
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open badger: %w", err)
	}
	return &Meta{db: db, owned: true}, nil
}

// NewMeta wraps a database the caller opened and will close.
func NewMeta(db *badger.DB) *Meta { return &Meta{db: db} }

// Update implements [backend.Meta].
func (m *Meta) Update(ctx context.Context, fn func(backend.Tx) error) error {
	return txretry.Do(ctx, func() error {
		txn := m.db.NewTransaction(true)
		defer txn.Discard()
		if err := fn(&tx{txn: txn}); err != nil {
			return err
		}
		if err := txn.Commit(); err != nil {
			if errors.Is(err, badger.ErrConflict) {
				return fmt.Errorf("badger commit: %w", backend.ErrConflict)
			}
			return fmt.Errorf("badger commit: %w", err)
		}
		return nil
	})
}

// View implements [backend.Meta].
func (m *Meta) View(ctx context.Context, fn func(backend.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.db.View(func(txn *badger.Txn) error { return fn(&tx{txn: txn}) })
}

// Close closes the database if [OpenMeta] opened it.
func (m *Meta) Close() error {
	if !m.owned {
		return nil
	}
	return m.db.Close()
}

type tx struct{ txn *badger.Txn }

func (t *tx) Get(key []byte) ([]byte, error) {
	item, err := t.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, backend.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("badger get: %w", err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("badger get: %w", err)
	}
	return v, nil
}

func (t *tx) Put(key, value []byte) error {
	// Badger keeps the slices until the commit: give it copies.
	if err := t.txn.Set(clone(key), clone(value)); err != nil {
		return fmt.Errorf("badger set: %w", err)
	}
	return nil
}

func (t *tx) PutIfAbsent(key, value []byte) (bool, error) {
	_, err := t.Get(key)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, backend.ErrNotFound) {
		return false, err
	}
	return true, t.Put(key, value)
}

func (t *tx) CompareAndSwap(key, old, value []byte) (bool, error) {
	if old == nil {
		return t.PutIfAbsent(key, value)
	}
	cur, err := t.Get(key)
	if errors.Is(err, backend.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if string(cur) != string(old) {
		return false, nil
	}
	return true, t.Put(key, value)
}

func (t *tx) Delete(key []byte) error {
	if err := t.txn.Delete(clone(key)); err != nil {
		return fmt.Errorf("badger delete: %w", err)
	}
	return nil
}

func (t *tx) Scan(prefix []byte, fn func(k, v []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := t.txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("badger scan: %w", err)
		}
		if err := fn(item.Key(), v); err != nil {
			return err
		}
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// badgerLogger passes Badger's warnings and errors to slog and drops the rest.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
	}
}

func (b badgerLogger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
	}
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
