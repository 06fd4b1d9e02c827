package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Lines keeps a log's lines and its head in a transactional store that
// several front-ends share, in place of audit.log and audit.head
// ([OpenLines]). The vault's shared store implements it
// (vault.Store.AuditLines). Lines and head are the bytes this package
// gives: a line is audit.log's line without its newline, the head is
// audit.head's content.
type Lines interface {
	// Append reads the head (nil for an empty log) and calls next with
	// it; next returns the new line, and Append stores it, its place in
	// its case's index and the new head in the serializable transaction
	// it read the head in, refusing a seq that already has a line. When
	// that transaction loses a race with another append, Append calls
	// next again with the head that won. An error from next is returned
	// unchanged. A stored value that fails authentication gives a
	// [StoreProblem].
	Append(next func(head []byte) (NewLine, error)) error
	// Scan reads the head and calls fn for every line, in increasing seq,
	// all from one consistent snapshot, and returns the head (nil if
	// none). An error from fn stops the scan and is returned. A stored
	// value that fails authentication, or a key that is not a line's,
	// gives a [StoreProblem].
	Scan(fn func(seq int64, line []byte) error) (head []byte, err error)
	// CaseLines calls fn for the lines the index of case ref names,
	// newest first, until fn returns false, from one snapshot.
	CaseLines(ref string, fn func(seq int64, line []byte) bool) error
}

// NewLine is a line for [Lines.Append] to store.
type NewLine struct {
	Seq  int64
	Line []byte // audit.log's line, without its newline
	Head []byte // the head after it, audit.head's content
	Case string // the entry's case reference, to index the line under; "" for none
}

// OpenLines opens the log kept in lines, whose MACs are made with key
// (32 bytes, the same on every front-end that shares lines). It verifies
// the whole log, as [VerifyLines] does, and refuses a broken one. now
// gives the day of each entry; nil means [time.Now].
//
// Each [Log.Append] is one transaction of lines' store: the head is read
// and advanced and the line written together, so front-ends appending at
// once make one chain, with neither a gap nor a fork. The store's own
// schedule decides when it commits: [Log.Tick] does nothing on such a
// log. [Log.Entries] reads and verifies the whole chain, entries other
// front-ends appended included; [Log.CaseEntries] reads the lines the
// store's index of the case names, checking each (form, MAC, seq, case),
// as the file log does. [Log.Backup] refuses: the store is backed up with
// its own tools.
func OpenLines(lines Lines, key []byte, now func() time.Time) (*Log, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("open audit log: key of %d bytes, want %d", len(key), keySize)
	}
	if now == nil {
		now = time.Now
	}
	l := &Log{key: append([]byte(nil), key...), now: now, lines: lines}
	if _, err := scanLines(lines, l.key, nil); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return l, nil
}

// VerifyLines checks the log kept in lines, as [Verify] checks one in a
// directory: every line's form and MAC, the sequence numbers, the hash
// chain, and that the chain ends at the entry the head names, from one
// snapshot. It returns the number of good entries; for a broken log the
// error is a [*Problem] whose Line is the seq at fault.
func VerifyLines(lines Lines, key []byte) (int64, error) {
	if len(key) != keySize {
		return 0, fmt.Errorf("verify audit log: key of %d bytes, want %d", len(key), keySize)
	}
	return scanLines(lines, key, nil)
}

const hintStore = "keep a dump of the database as it is and investigate; do not repair the audit rows by hand"

// StoreProblem is the error a [Lines] returns for what it finds wrong in
// the store (a value that fails authentication, a stray key), in a few
// words; the log adds the entry it was reading.
func StoreProblem(reason string) *Problem {
	return &Problem{Reason: reason, Hint: hintStore}
}

// brokenStore is a problem with the log kept in a store.
func brokenStore(seq int64, reason string) *Problem {
	return &Problem{Line: seq, Seq: seq, Reason: reason, Hint: hintStore}
}

// scanLines reads and checks every line and the head of lines, and gives
// visit each good entry in order. It returns the number of entries.
func scanLines(lines Lines, key []byte, visit func(Entry)) (int64, error) {
	var n int64
	var last [sha256.Size]byte
	hb, err := lines.Scan(func(seq int64, line []byte) error {
		want := n + 1
		if seq != want {
			return brokenStore(want, fmt.Sprintf("line %d missing or out of place (found %d): entry removed or moved", want, seq))
		}
		if len(line)+1 > MaxLine {
			return brokenStore(want, fmt.Sprintf("longer than %d bytes", MaxLine))
		}
		rec, e, p := decodeEntry(key, line, want)
		if p != nil {
			p.Hint = hintStore
			return p
		}
		if rec.Prev != hex.EncodeToString(last[:]) {
			return brokenStore(want, "hash chain broken (entry edited, removed or moved)")
		}
		n, last = want, sha256.Sum256(line)
		if visit != nil {
			visit(e)
		}
		return nil
	})
	if err != nil {
		var p *Problem
		switch {
		case errors.As(err, &p):
			if p.Line == 0 {
				p.Line, p.Seq = n+1, n+1
			}
			return n, p
		case errors.Is(err, ErrBroken):
			return n, &Problem{Line: n + 1, Seq: n + 1, Reason: err.Error(), Hint: hintStore}
		}
		return n, fmt.Errorf("read audit log: %w", err)
	}
	if hb == nil {
		if n > 0 {
			return n, brokenStore(0, fmt.Sprintf("head missing (%d entries)", n))
		}
		return 0, nil
	}
	h, p := decodeHead(key, hb)
	if p != nil {
		p.Reason = "head" + p.Reason[len("audit.head"):]
		p.Hint = hintStore
		return n, p
	}
	switch {
	case n < h.Seq:
		return n, brokenStore(0, fmt.Sprintf("log truncated after entry %d (head says %d)", n, h.Seq))
	case n > h.Seq:
		return n, brokenStore(h.Seq+1, fmt.Sprintf("entries past the head (head says %d, found %d)", h.Seq, n))
	case h.Hash != hex.EncodeToString(last[:]):
		return n, brokenStore(n, "does not match the head (entry replaced)")
	}
	return n, nil
}

// appendLines is [Log.Append] on a log in a store; e is checked.
func (l *Log) appendLines(e Entry) (Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return Entry{}, errors.New("append audit entry: log closed")
	}
	var out Entry
	err := l.lines.Append(func(hb []byte) (NewLine, error) {
		prev := hex.EncodeToString(zeroHash[:])
		var seq int64
		if hb != nil {
			h, p := decodeHead(l.key, hb)
			if p != nil {
				p.Hint = hintStore
				return NewLine{}, p
			}
			seq, prev = h.Seq, h.Hash
		}
		w := e
		w.Seq = seq + 1
		w.Day = l.now().UTC().Format(time.DateOnly)
		line, err := encodeRecord(l.key, record{
			Seq: w.Seq, Day: w.Day, Actor: w.Actor, Action: w.Action,
			Case: w.Case, Detail: w.Detail, Prev: prev,
		})
		if err != nil {
			return NewLine{}, err
		}
		if len(line)+1 > MaxLine {
			return NewLine{}, errors.New("line too long")
		}
		hash := sha256.Sum256(line)
		nh, err := encodeHead(l.key, head{Seq: w.Seq, Hash: hex.EncodeToString(hash[:])})
		if err != nil {
			return NewLine{}, err
		}
		out = w
		return NewLine{Seq: w.Seq, Line: line, Head: nh, Case: w.Case}, nil
	})
	if err != nil {
		return Entry{}, fmt.Errorf("append audit entry: %w", err)
	}
	return out, nil
}

// entriesLines is [Log.Entries] and [Log.CaseEntries] on a log in a
// store: the whole chain is read and checked.
func (l *Log) entriesLines(filter func(Entry) bool, limit int) ([]Entry, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, errors.New("read audit log: log closed")
	}
	c := newest{filter: filter, limit: limit}
	if _, err := scanLines(l.lines, l.key, c.add); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return c.entries(), nil
}

// Verify checks the whole log, as [Verify] or [VerifyLines] does, and
// returns the number of good entries.
func (l *Log) Verify() (int64, error) {
	if l.lines != nil {
		return VerifyLines(l.lines, l.key)
	}
	return Verify(l.dir)
}

// caseEntriesLines is [Log.CaseEntries] on a log in a store: the lines
// the store's index of the case names, newest first, each checked (form,
// MAC, seq, case) as the file log checks the lines its index names.
func (l *Log) caseEntriesLines(ref string, filter func(Entry) bool, limit int) ([]Entry, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, errors.New("read audit log: log closed")
	}
	var got []Entry
	var bad error
	err := l.lines.CaseLines(ref, func(seq int64, line []byte) bool {
		_, e, p := decodeEntry(l.key, line, seq)
		switch {
		case p != nil:
			p.Hint = hintStore
			bad = p
			return false
		case e.Case != ref:
			bad = brokenStore(seq, "entry of another case where the case's index says")
			return false
		case filter != nil && !filter(e):
			return true
		}
		got = append(got, e)
		return limit <= 0 || len(got) < limit
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		var p *Problem
		if !errors.As(err, &p) && errors.Is(err, ErrBroken) {
			err = brokenStore(0, err.Error())
		}
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return got, nil
}

// ErrInStore is returned by [Log.Backup] on a log kept in a store
// ([OpenLines]): the store is backed up with the database's own tools.
var ErrInStore = errors.New("audit log kept in the shared store: back it up with the database")
