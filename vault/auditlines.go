package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"cleandrop/vault/audit"
	"cleandrop/vault/backend"
)

// The audit log of a shared store ([Store.AuditLines]):
//
//	a/head                     the head (audit.head's content)
//	a/line/<seq %016d>         a line (audit.log's line, without its newline)
//	a/case/<ref>/<seq %016d>   the index of a case's lines (empty values)
//
// Values are sealed like every record; the case reference is an HMAC
// ([keyer]). The keys show the number of entries, and of each case's
// entries, which are not secrets of the log: supervisors read them.
var (
	auditHeadKey    = []byte("a/head")
	auditLinePrefix = []byte("a/line/")
)

func (k keyer) auditCasePrefix(ref string) []byte { return []byte("a/case/" + k.part(ref) + "/") }

// auditLabel derives the audit log's MAC key from the vault key.
const auditLabel = "cleandrop vault: audit log MACs v1"

// ErrNotShared is returned by [Store.AuditLines] on the embedded store,
// whose audit log lives in its own files.
var ErrNotShared = errors.New("vault: not a shared store")

// AuditLines is the audit log of a shared store: it implements
// audit.Lines, with every append one serializable transaction of the
// store's metadata on the store's commit schedule, so that every front-end
// appends to one chain.
type AuditLines struct {
	s    *Store       // nil: read only ([OpenSharedAudit])
	meta backend.Meta // sealed
	k    keyer
	key  []byte
	ctx  context.Context
}

// AuditLines returns the audit log kept in this shared store, or
// [ErrNotShared].
func (s *Store) AuditLines() (*AuditLines, error) {
	if s.auditKey == nil {
		return nil, ErrNotShared
	}
	return &AuditLines{s: s, meta: s.meta, k: s.k, key: s.auditKey, ctx: s.ctx}, nil
}

// Key is the audit log's MAC key, derived from the vault key: the same on
// every front-end, and never stored.
func (a *AuditLines) Key() []byte { return bytes.Clone(a.key) }

func auditLineKey(seq int64) []byte { return fmt.Appendf(nil, "%s%016d", auditLinePrefix, seq) }

// auditBroken marks a stored value of the log that fails authentication
// (changed, moved from another row, or sealed under another vault key) as
// a broken log.
func auditBroken(what string, err error) error {
	if errors.Is(err, backend.ErrTampered) {
		return audit.StoreProblem(what + " fails authentication (changed, or moved from another row)")
	}
	return err
}

// Append implements audit.Lines.
func (a *AuditLines) Append(next func(head []byte) (audit.NewLine, error)) error {
	if a.s == nil {
		return errors.New("vault: audit log opened read only")
	}
	var nextErr error
	err := a.s.update(func(tx backend.Tx) error {
		nextErr = nil
		hb, err := tx.Get(auditHeadKey)
		switch {
		case errors.Is(err, backend.ErrNotFound):
			hb = nil
		case err != nil:
			return auditBroken("the stored head", err)
		}
		nl, err := next(hb)
		if err != nil {
			nextErr = err
			return err
		}
		ok, err := tx.PutIfAbsent(auditLineKey(nl.Seq), nl.Line)
		if err != nil {
			return err
		}
		if !ok {
			nextErr = audit.StoreProblem(fmt.Sprintf("line %d is already stored, past the head", nl.Seq))
			return nextErr
		}
		if nl.Case != "" {
			k := fmt.Appendf(a.k.auditCasePrefix(nl.Case), "%016d", nl.Seq)
			if err := tx.Put(k, []byte{}); err != nil {
				return err
			}
		}
		return tx.Put(auditHeadKey, nl.Head)
	})
	if nextErr != nil {
		return nextErr
	}
	if err != nil && !errors.Is(err, audit.ErrBroken) {
		return dbErr("append audit line", err)
	}
	return err
}

// Scan implements audit.Lines.
func (a *AuditLines) Scan(fn func(seq int64, line []byte) error) ([]byte, error) {
	if a.ctx.Err() != nil {
		return nil, errClosed
	}
	ctx, cancel := context.WithTimeout(a.ctx, metaTimeout)
	defer cancel()
	var hb []byte
	var fnErr error
	err := a.meta.View(ctx, func(tx backend.Tx) error {
		var err error
		hb, err = tx.Get(auditHeadKey)
		switch {
		case errors.Is(err, backend.ErrNotFound):
			hb = nil
		case err != nil:
			return auditBroken("the stored head", err)
		}
		err = tx.Scan(auditLinePrefix, func(k, v []byte) error {
			seq, err := strconv.ParseInt(string(k[len(auditLinePrefix):]), 10, 64)
			if err != nil || !bytes.Equal(k, auditLineKey(seq)) {
				return audit.StoreProblem(fmt.Sprintf("%q in the log's rows is not a line's key", k))
			}
			if err := fn(seq, v); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
		return auditBroken("a stored line", err)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil && !errors.Is(err, audit.ErrBroken) {
		return nil, dbErr("read audit lines", err)
	}
	return hb, err
}

// CaseLines implements audit.Lines.
func (a *AuditLines) CaseLines(ref string, fn func(seq int64, line []byte) bool) error {
	if a.ctx.Err() != nil {
		return errClosed
	}
	ctx, cancel := context.WithTimeout(a.ctx, metaTimeout)
	defer cancel()
	prefix := a.k.auditCasePrefix(ref)
	err := a.meta.View(ctx, func(tx backend.Tx) error {
		var seqs []int64
		err := tx.Scan(prefix, func(k, _ []byte) error {
			seq, err := strconv.ParseInt(string(k[len(prefix):]), 10, 64)
			if err != nil || seq < 1 {
				return audit.StoreProblem(fmt.Sprintf("%q in a case's index is not a line's key", k))
			}
			seqs = append(seqs, seq)
			return nil
		})
		if err != nil {
			return auditBroken("a case's index", err)
		}
		for _, seq := range slices.Backward(seqs) {
			line, err := tx.Get(auditLineKey(seq))
			if errors.Is(err, backend.ErrNotFound) {
				return audit.StoreProblem(fmt.Sprintf("line %d, which a case's index names, is missing", seq))
			}
			if err != nil {
				return auditBroken("a stored line", err)
			}
			if !fn(seq, line) {
				return nil
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, audit.ErrBroken) {
		return dbErr("read audit lines", err)
	}
	return err
}

// OpenSharedAudit opens, read only, the audit log of the shared stores
// whose vault key is in dir, without opening the vault: for verifying it
// while front-ends run. It gives [ErrOtherKey] if the stores were made
// with another key. Closing sh.Meta is the caller's.
func OpenSharedAudit(ctx context.Context, dir string, sh Shared) (*AuditLines, error) {
	v, err := readShared(dir, sh.Meta)
	if err != nil {
		return nil, err
	}
	err = v.meta.View(ctx, func(tx backend.Tx) error {
		_, err := proveKey(tx, false) // no vault yet: an empty log
		return err
	})
	if errors.Is(err, ErrOtherKey) {
		return nil, err
	}
	if err != nil {
		return nil, dbErr("check key", err)
	}
	return &AuditLines{meta: v.meta, k: v.k, key: v.auditKey, ctx: ctx}, nil
}
