package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

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
			return fmt.Errorf("vault: lookup: %w", bare(err))
		}
		ref, err := it.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("vault: lookup: %w", err)
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
			return fmt.Errorf("vault: item %d: %w", id, bare(err))
		}
		inline, err = it.ValueCopy(nil)
		return err
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
		return rec, fmt.Errorf("vault: read case: %w", bare(err))
	}
	if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
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
		return rec, fmt.Errorf("vault: read item: %w", bare(err))
	}
	if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
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
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &ir) }); err != nil {
			return Case{}, fmt.Errorf("vault: read item: %w", err)
		}
		c.Items = append(c.Items, ir.Item)
	}
	return c, nil
}

// bare returns the cause of a Badger error without the key it concerns.
// Keys hold case references and lookup keys, which must not reach a log,
// and Badger formats the key into the message ("DB::Get key: %q err: %v")
// rather than wrapping the cause.
func bare(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	msg := err.Error()
	const prefix = "DB::Get key: "
	if !strings.HasPrefix(msg, prefix) {
		return err
	}
	key, qerr := strconv.QuotedPrefix(msg[len(prefix):])
	if qerr != nil {
		return errors.New("badger: read failed")
	}
	return errors.New("badger: " + strings.TrimPrefix(msg[len(prefix)+len(key):], " err: "))
}
