package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"

	"cleandrop/vault/backend"
)

// Case returns the case with the given reference, or [ErrNotFound].
func (s *Store) Case(ref string) (Case, error) {
	var c Case
	err := s.view(func(tx backend.Tx) error {
		var err error
		c, err = s.loadCase(tx, normalizeRef(ref))
		return err
	})
	return c, err
}

// AccessByLookup returns the reference and the access record of the case
// whose [Access.Lookup] is lookup, or [ErrNotFound]: what a follow-up
// login needs. It reads two records whatever the case holds; a login that
// loaded the whole case read every item's record too, each scan a round
// trip on PostgreSQL, on the reporter's wait.
func (s *Store) AccessByLookup(lookup []byte) (string, Access, error) {
	if len(lookup) == 0 {
		return "", Access{}, ErrNotFound
	}
	var rec caseRecord
	err := s.view(func(tx backend.Tx) error {
		ref, err := tx.Get(s.k.lookupKey(lookup))
		if err != nil {
			return dbErr("lookup", err)
		}
		rec, err = s.loadRecord(tx, string(ref))
		return err
	})
	if err != nil {
		return "", Access{}, err
	}
	return rec.Ref, rec.Access, nil
}

// Cases returns every case, sorted by reference.
func (s *Store) Cases() ([]Case, error) {
	var cs []Case
	err := s.view(func(tx backend.Tx) error {
		cs = cs[:0]
		var refs []string
		err := tx.Scan([]byte("c/"), func(_, v []byte) error {
			var rec caseRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("vault: read case: %w", err)
			}
			refs = append(refs, rec.Ref)
			return nil
		})
		if err != nil {
			return dbErr("cases", err)
		}
		for _, ref := range refs {
			c, err := s.loadCase(tx, ref)
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
	rc, err := s.openItem(ref, id)
	if errors.Is(err, errObjectMoved) {
		// Another front-end settled the case between the record's read
		// and the object's open: the record now names the copy.
		rc, err = s.openItem(ref, id)
	}
	return rc, err
}

// beforeObjectOpen, set by tests, runs between an item record's read and
// its object's open.
var beforeObjectOpen func()

// errObjectMoved is openItem's error for an object its record named and
// the shared store no longer holds.
var errObjectMoved = errors.New("object not found")

func (s *Store) openItem(ref string, id int) (io.ReadCloser, error) {
	var rec itemRecord
	var inline []byte
	ref = normalizeRef(ref)
	err := s.view(func(tx backend.Tx) error {
		var err error
		if rec, err = s.loadItem(tx, ref, id); err != nil {
			return err
		}
		if rec.Blob != "" || rec.Pack != "" || rec.Object != "" {
			return nil
		}
		inline, err = tx.Get(s.k.dataKey(ref, id))
		return dbErr(fmt.Sprintf("item %d", id), err)
	})
	if err != nil {
		return nil, err
	}
	switch {
	case rec.Object != "":
		if s.objects == nil || !backend.ValidName(rec.Object) {
			return nil, fmt.Errorf("vault: item %d: bad object name", id)
		}
		if beforeObjectOpen != nil {
			beforeObjectOpen()
		}
		b, err := s.objects.Open(s.ctx, rec.Object)
		if errors.Is(err, backend.ErrNotFound) {
			return nil, fmt.Errorf("vault: item %d: %w", id, errObjectMoved)
		}
		if err != nil {
			return nil, fmt.Errorf("vault: item %d: %w", id, dbErr("open object", err))
		}
		if b.Size() != rec.Size {
			b.Close()
			return nil, fmt.Errorf("vault: item %d: object is %d bytes, not %d", id, b.Size(), rec.Size)
		}
		return extent{io.NewSectionReader(b, 0, rec.Size), b}, nil
	case rec.Pack != "":
		if s.packs == nil || packDay(rec.Pack) == "" || rec.Off < 0 || rec.Size < 0 {
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

// extent is one item's bytes in a pack or an object, closing the file or
// object.
type extent struct {
	*io.SectionReader
	io.Closer
}

// view runs fn in a read-only transaction of the metadata store.
func (s *Store) view(fn func(tx backend.Tx) error) error {
	if s.ctx.Err() != nil {
		return errClosed
	}
	ctx, cancel := context.WithTimeout(s.ctx, metaTimeout)
	defer cancel()
	return s.meta.View(ctx, fn)
}

// metaTimeout bounds one transaction of the metadata store, retries
// included: a database that stops answering fails the request rather
// than hold it.
const metaTimeout = time.Minute

func (s *Store) loadRecord(tx backend.Tx, ref string) (caseRecord, error) {
	var rec caseRecord
	v, err := tx.Get(s.k.caseKey(ref))
	if err != nil {
		return rec, dbErr("read case", err)
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("vault: read case: %w", err)
	}
	return rec, nil
}

func (s *Store) loadItem(tx backend.Tx, ref string, id int) (itemRecord, error) {
	var rec itemRecord
	v, err := tx.Get(s.k.itemKey(ref, id))
	if err != nil {
		return rec, dbErr("read item", err)
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("vault: read item: %w", err)
	}
	return rec, nil
}

func (s *Store) loadCase(tx backend.Tx, ref string) (Case, error) {
	rec, err := s.loadRecord(tx, ref)
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
	err = tx.Scan(s.k.itemPrefix(ref), func(_, v []byte) error {
		var ir itemRecord
		if err := json.Unmarshal(v, &ir); err != nil {
			return fmt.Errorf("vault: read item: %w", err)
		}
		c.Items = append(c.Items, ir.Item)
		return nil
	})
	if err != nil {
		return Case{}, dbErr("read item", err)
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

// Is makes every dbError an [ErrStorage].
func (e *dbError) Is(target error) bool { return target == ErrStorage }

// badgerSentinels are the Badger errors a caller may branch on; their
// texts are constants that name no key.
var badgerSentinels = []error{
	badger.ErrConflict, badger.ErrDBClosed, badger.ErrTxnTooBig, badger.ErrDiscardedTxn,
	badger.ErrReadOnlyTxn, badger.ErrBlockedWrites, badger.ErrEmptyKey, badger.ErrInvalidKey,
	badger.ErrBannedKey, badger.ErrNoRewrite, badger.ErrRejected, badger.ErrTruncateNeeded,
	badger.ErrEncryptionKeyMismatch, badger.ErrInvalidDataKeyID, badger.ErrInvalidEncryptionKey,
	backend.ErrConflict, backend.ErrTampered, backend.ErrSwept,
	context.DeadlineExceeded, context.Canceled,
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
	case errors.Is(err, badger.ErrKeyNotFound), errors.Is(err, ErrNotFound), errors.Is(err, backend.ErrNotFound):
		return ErrNotFound
	case errors.As(err, &de), errors.Is(err, errClosed):
		return err
	}
	e := &dbError{op: op}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrNoSpace) || errors.Is(err, backend.ErrNoSpace) {
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
