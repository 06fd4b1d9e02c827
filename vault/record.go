package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"

	"cleandrop/vault/backend"
)

// A Record is one small metadata value another package keeps in the vault
// (officer accounts, read marks). Records are encrypted at rest like all
// metadata; they are for metadata only, never report content.
type Record struct {
	ID    string
	Value []byte
}

const maxRecord = 1 << 20

func checkRecord(kind, id string) error {
	if kind == "" || strings.ContainsRune(kind, '/') || id == "" || len(kind)+len(id) > 512 {
		return errors.New("vault: bad record kind or id")
	}
	return nil
}

// recordKey is the key of kind/id. In a shared store the id is hidden in
// the key ([keyer]) and kept, sealed, in the value: see [keyer.wrap].
func (k keyer) recordKey(kind, id string) ([]byte, error) {
	if err := checkRecord(kind, id); err != nil {
		return nil, err
	}
	return []byte("r/" + kind + "/" + k.part(id)), nil
}

// wrap adds id before value when keys hide it.
func (k keyer) wrap(id string, value []byte) []byte {
	if k.mac == nil {
		return value
	}
	out := binary.AppendUvarint(nil, uint64(len(id)))
	return append(append(out, id...), value...)
}

// unwrap undoes wrap; for a plain key the id is the key's last part.
func (k keyer) unwrap(key, value []byte, prefix int) (string, []byte, error) {
	if k.mac == nil {
		return string(key[prefix:]), value, nil
	}
	n, w := binary.Uvarint(value)
	if w <= 0 || n > uint64(len(value)-w) {
		return "", nil, errors.New("vault: malformed record")
	}
	return string(value[w : w+int(n)]), value[w+int(n):], nil
}

// PutRecord stores value under kind and id, replacing any earlier value.
func (s *Store) PutRecord(kind, id string, value []byte) error {
	k, err := s.k.recordKey(kind, id)
	if err != nil {
		return err
	}
	if len(value) > maxRecord {
		return errors.New("vault: record too large")
	}
	v := s.k.wrap(id, value)
	if err := s.update(func(tx backend.Tx) error { return s.put(tx, k, v) }); err != nil {
		return dbErr("put record", err)
	}
	return nil
}

// UpdateRecord reads kind/id (old is nil when absent), calls fn, and
// stores what fn returns in the same serializable transaction (a nil new
// value deletes the record). fn may run more than once when the
// transaction conflicts, so it must have no effect outside its return
// values. An error from fn is returned unchanged and nothing is stored.
func (s *Store) UpdateRecord(kind, id string, fn func(old []byte) (new []byte, err error)) error {
	k, err := s.k.recordKey(kind, id)
	if err != nil {
		return err
	}
	var fnErr error
	err = s.update(func(tx backend.Tx) error {
		fnErr = nil
		var old []byte
		switch v, err := tx.Get(k); {
		case err == nil:
			if _, old, err = s.k.unwrap(k, v, len(k)-len(s.k.part(id))); err != nil {
				return err
			}
		case !errors.Is(err, backend.ErrNotFound):
			return err
		}
		nv, err := fn(bytes.Clone(old))
		if err != nil {
			fnErr = err
			return err
		}
		if nv == nil {
			return s.del(tx, k)
		}
		if len(nv) > maxRecord {
			fnErr = errors.New("vault: record too large")
			return fnErr
		}
		return s.put(tx, k, s.k.wrap(id, nv))
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return dbErr("update record", err)
	}
	return nil
}

// Record returns the value stored under kind and id, or [ErrNotFound].
func (s *Store) Record(kind, id string) ([]byte, error) {
	k, err := s.k.recordKey(kind, id)
	if err != nil {
		return nil, err
	}
	var v []byte
	err = s.view(func(tx backend.Tx) error {
		raw, err := tx.Get(k)
		if err != nil {
			return dbErr("record", err)
		}
		_, v, err = s.k.unwrap(k, raw, len(k)-len(s.k.part(id)))
		return err
	})
	return v, err
}

// Records returns every record of kind, sorted by ID.
func (s *Store) Records(kind string) ([]Record, error) {
	prefix, err := s.k.recordKey(kind, "x")
	if err != nil {
		return nil, err
	}
	prefix = prefix[:len(prefix)-len(s.k.part("x"))]
	var out []Record
	err = s.view(func(tx backend.Tx) error {
		out = out[:0]
		return tx.Scan(prefix, func(k, v []byte) error {
			id, val, err := s.k.unwrap(k, v, len(prefix))
			if err != nil {
				return err
			}
			out = append(out, Record{ID: id, Value: bytes.Clone(val)})
			return nil
		})
	})
	if err != nil {
		return nil, dbErr("records", err)
	}
	if s.k.mac != nil {
		sortRecords(out)
	}
	return out, nil
}

// DeleteRecord removes a record; removing one that is absent is no error.
func (s *Store) DeleteRecord(kind, id string) error {
	k, err := s.k.recordKey(kind, id)
	if err != nil {
		return err
	}
	if err := s.update(func(tx backend.Tx) error { return s.del(tx, k) }); err != nil {
		return dbErr("delete record", err)
	}
	return nil
}
