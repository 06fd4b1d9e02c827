package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// Case returns the case with the given reference, or [ErrNotFound].
func (s *Store) Case(ref string) (Case, error) {
	var c Case
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		c, err = loadCase(txn, normalizeRef(ref))
		return err
	})
	return c, err
}

// CaseByLookup returns the case whose [Access.Lookup] is lookup, or
// [ErrNotFound].
func (s *Store) CaseByLookup(lookup []byte) (Case, error) {
	if len(lookup) == 0 {
		return Case{}, ErrNotFound
	}
	var c Case
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(lookupKey(lookup))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return dbErr("lookup", err)
		}
		ref, err := it.ValueCopy(nil)
		if err != nil {
			return dbErr("lookup", err)
		}
		c, err = loadCase(txn, string(ref))
		return err
	})
	return c, err
}

// Cases returns every case, sorted by reference.
func (s *Store) Cases() ([]Case, error) {
	var cs []Case
	err := s.db.View(func(txn *badger.Txn) error {
		var refs []string
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("c/")})
		for it.Rewind(); it.Valid(); it.Next() {
			refs = append(refs, string(it.Item().Key()[2:]))
		}
		it.Close()
		for _, ref := range refs {
			c, err := loadCase(txn, ref)
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Ref < cs[j].Ref })
	return cs, nil
}

// OpenItem returns the ciphertext of item id of case ref exactly as stored:
// a binary age file. It returns [ErrNotFound] for an unknown case or item.
func (s *Store) OpenItem(ref string, id int) (io.ReadCloser, error) {
	var rec itemRecord
	var inline []byte
	ref = normalizeRef(ref)
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if rec, err = loadItem(txn, ref, id); err != nil {
			return err
		}
		if rec.Blob != "" || rec.Pack != "" {
			return nil
		}
		it, err := txn.Get(dataKey(ref, id))
		if err != nil {
			return dbErr(fmt.Sprintf("item %d", id), err)
		}
		inline, err = it.ValueCopy(nil)
		return dbErr("read item data", err)
	})
	if err != nil {
		return nil, err
	}
	switch {
	case rec.Pack != "":
		if packDay(rec.Pack) == "" || rec.Off < 0 || rec.Size < 0 {
			return nil, fmt.Errorf("vault: item %d: bad pack extent", id)
		}
		f, err := openBlob(filepath.Join(s.dir, packDir, rec.Pack))
		if err != nil {
			return nil, fmt.Errorf("vault: item %d: %w", id, err)
		}
		return extent{io.NewSectionReader(f, rec.Off, rec.Size), f}, nil
	case rec.Blob != "":
		f, err := openBlob(filepath.Join(s.blobs, rec.Blob))
		if err != nil {
			return nil, fmt.Errorf("vault: item %d: %w", id, err)
		}
		return f, nil
	}
	return io.NopCloser(bytes.NewReader(inline)), nil
}

// extent is one item's bytes in a pack, closing the pack's file.
type extent struct {
	*io.SectionReader
	io.Closer
}

func loadRecord(txn *badger.Txn, ref string) (caseRecord, error) {
	var rec caseRecord
	it, err := txn.Get(caseKey(ref))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return rec, ErrNotFound
	}
	if err != nil {
		return rec, dbErr("read case", err)
	}
	v, err := it.ValueCopy(nil)
	if err != nil {
		return rec, dbErr("read case", err)
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("vault: read case: %w", err)
	}
	return rec, nil
}

func loadItem(txn *badger.Txn, ref string, id int) (itemRecord, error) {
	var rec itemRecord
	it, err := txn.Get(itemKey(ref, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return rec, ErrNotFound
	}
	if err != nil {
		return rec, dbErr("read item", err)
	}
	v, err := it.ValueCopy(nil)
	if err != nil {
		return rec, dbErr("read item", err)
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("vault: read item: %w", err)
	}
	return rec, nil
}

func loadCase(txn *badger.Txn, ref string) (Case, error) {
	rec, err := loadRecord(txn, ref)
	if err != nil {
		return Case{}, err
	}
	c := Case{
		Ref:     rec.Ref,
		Agency:  rec.Agency,
		Stage:   rec.Stage,
		Opened:  rec.Opened,
		Updated: rec.Updated,
		Access:  rec.Access,
		History: rec.History,
		Custody: rec.Custody,
		Items:   make([]Item, 0, rec.Items),
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: itemPrefix(ref), PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var ir itemRecord
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return Case{}, dbErr("read item", err)
		}
		if err := json.Unmarshal(v, &ir); err != nil {
			return Case{}, fmt.Errorf("vault: read item: %w", err)
		}
		c.Items = append(c.Items, ir.Item)
	}
	return c, nil
}

// dbError is a Badger failure as the vault reports it: the operation the
// caller named and, when Badger's error is one of its sentinels, that
// sentinel. It never holds Badger's own error text, which may quote the
// key (case references, lookup keys).
type dbError struct {
	op    string
	cause error // a Badger sentinel, or nil
}

func (e *dbError) Error() string {
	if e.cause == nil {
		return "vault: " + e.op + ": storage failure"
	}
	return "vault: " + e.op + ": " + e.cause.Error()
}

func (e *dbError) Unwrap() error { return e.cause }

// badgerSentinels are the Badger errors a caller may branch on; their
// texts are constants that name no key.
var badgerSentinels = []error{
	badger.ErrConflict, badger.ErrDBClosed, badger.ErrTxnTooBig, badger.ErrDiscardedTxn,
	badger.ErrReadOnlyTxn, badger.ErrBlockedWrites, badger.ErrEmptyKey, badger.ErrInvalidKey,
	badger.ErrBannedKey, badger.ErrNoRewrite, badger.ErrRejected, badger.ErrTruncateNeeded,
	badger.ErrEncryptionKeyMismatch, badger.ErrInvalidDataKeyID, badger.ErrInvalidEncryptionKey,
}

// dbErr wraps an error from Badger for operation op (a fixed name, never
// a key): [badger.ErrKeyNotFound] becomes [ErrNotFound], a known sentinel
// is kept for errors.Is, and anything else keeps only op.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *dbError
	switch {
	case errors.Is(err, badger.ErrKeyNotFound), errors.Is(err, ErrNotFound):
		return ErrNotFound
	case errors.As(err, &de), errors.Is(err, errClosed):
		return err
	}
	e := &dbError{op: op}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrNoSpace) {
		e.cause = ErrNoSpace
		return e
	}
	for _, s := range badgerSentinels {
		if errors.Is(err, s) {
			e.cause = s
			break
		}
	}
	return e
}
