package vault

import (
	"errors"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// A Record is one small metadata value another package keeps in the vault
// (officer accounts, read marks). Records are encrypted at rest like all
// metadata; they are for metadata only, never report content.
type Record struct {
	ID    string
	Value []byte
}

const maxRecord = 1 << 20

func recordKey(kind, id string) ([]byte, error) {
	if kind == "" || strings.ContainsRune(kind, '/') || id == "" || len(kind)+len(id) > 512 {
		return nil, errors.New("vault: bad record kind or id")
	}
	return []byte("r/" + kind + "/" + id), nil
}

// PutRecord stores value under kind and id, replacing any earlier value.
func (s *Store) PutRecord(kind, id string, value []byte) error {
	k, err := recordKey(kind, id)
	if err != nil {
		return err
	}
	if len(value) > maxRecord {
		return errors.New("vault: record too large")
	}
	if err := s.atTick(func() error {
		return s.db.Update(func(txn *badger.Txn) error { return s.set(txn, k, value) })
	}); err != nil {
		return dbErr("put record", err)
	}
	return nil
}

// Record returns the value stored under kind and id, or [ErrNotFound].
func (s *Store) Record(kind, id string) ([]byte, error) {
	k, err := recordKey(kind, id)
	if err != nil {
		return nil, err
	}
	var v []byte
	err = s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return dbErr("record", err)
		}
		v, err = it.ValueCopy(nil)
		return dbErr("record", err)
	})
	return v, err
}

// Records returns every record of kind, sorted by ID.
func (s *Store) Records(kind string) ([]Record, error) {
	prefix, err := recordKey(kind, "x")
	if err != nil {
		return nil, err
	}
	prefix = prefix[:len(prefix)-1]
	var out []Record
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return dbErr("records", err)
			}
			out = append(out, Record{ID: string(it.Item().Key()[len(prefix):]), Value: v})
		}
		return nil
	})
	if err != nil {
		return nil, dbErr("records", err)
	}
	return out, nil
}

// DeleteRecord removes a record; removing one that is absent is no error.
func (s *Store) DeleteRecord(kind, id string) error {
	k, err := recordKey(kind, id)
	if err != nil {
		return err
	}
	if err := s.atTick(func() error {
		return s.db.Update(func(txn *badger.Txn) error { return s.del(txn, k) })
	}); err != nil {
		return dbErr("delete record", err)
	}
	return nil
}
