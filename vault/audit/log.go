package audit

import (
	"bytes"
	"cleandrop/vault/durable"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on the fields of an [Entry], in bytes.
const (
	MaxActor  = 128
	MaxAction = 64
	MaxCase   = 64
	MaxDetail = 512
)

// Entry is one officer action.
type Entry struct {
	// Seq numbers entries 1, 2, 3, ... in the order they were appended.
	// [Log.Append] sets it.
	Seq int64
	// Day is the UTC day the entry was appended, "2006-01-02".
	// [Log.Append] sets it.
	Day string
	// Actor is who acted: an officer's name, or "admin". Required.
	Actor string
	// Action names what was done, such as "login" or "stage.change":
	// lower-case letters, digits, '.', '_' and '-'. Required.
	Action string
	// Case is the case reference acted on, such as "CD-7QK2-M4XD", if any:
	// letters, digits and '-'.
	Case string
	// Detail is a short, non-sensitive note, such as "received -> triage".
	// Never report content, receipts, passwords, file names or addresses.
	Detail string
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	dir string
	key []byte
	now func() time.Time

	mu   sync.Mutex
	f    *os.File // nil once closed
	seq  int64
	last [sha256.Size]byte
	size int64
	err  error // set when a write failed: the file's state is unknown

	scheduled bool       // entries wait for the next Tick
	queue     []*waiting // entries waiting for it

	// cases indexes the entries that name a case, by case reference, in
	// log order, for [Log.CaseEntries]: 16 bytes per such entry.
	cases map[string][]lineAt

	// lines, when not nil, keeps the log in a shared store ([OpenLines])
	// instead of dir's files; closed then marks a closed log.
	lines  Lines
	closed bool
}

// lineAt is where entry seq's line starts in the log file.
type lineAt struct{ seq, off int64 }

// waiting is an entry that waits for the next tick, and its result.
type waiting struct {
	e    Entry
	done chan written
}

type written struct {
	e   Entry
	err error
}

// Open opens the audit log in dir, creating dir, the log and its key if
// they do not exist. It verifies the whole log, as [Verify] does, and
// refuses to open a broken one: the error then wraps a [*Problem] whose
// Hint says what to do. now gives the day of each entry; nil means
// [time.Now].
func Open(dir string, now func() time.Time) (*Log, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, logName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l := &Log{dir: dir, now: now, f: f, cases: map[string][]lineAt{}}
	if err := l.load(); err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return l, nil
}

// load locks the log, makes a key for a new one, verifies it and brings
// the head up to date with it.
func (l *Log) load() error {
	if err := lock(l.f); err != nil {
		return err
	}
	for _, name := range []string{keyName, headName} {
		if err := os.Remove(durable.TempPath(l.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	key, err := readKey(l.dir)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = l.create()
	}
	if err != nil {
		return err
	}
	l.key = key
	h, err := readHead(l.dir, key)
	if err != nil {
		return err
	}
	rf, err := os.Open(filepath.Join(l.dir, logName))
	if err != nil {
		return err
	}
	defer rf.Close()
	t, err := scan(rf, key, &h, func(e Entry, off int64) {
		if e.Case != "" {
			l.cases[e.Case] = append(l.cases[e.Case], lineAt{e.Seq, off})
		}
	})
	if err != nil {
		return err
	}
	l.seq, l.last, l.size = t.n, t.last, t.size
	if t.n > h.Seq {
		// A crash after the line was synced but before the head was.
		return writeHead(l.dir, key, t.n, t.last)
	}
	return nil
}

// create starts a new log: a new key, and a head for no entries. The head
// is written before the key, so a key never exists without a head.
func (l *Log) create() ([]byte, error) {
	fi, err := l.f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() != 0 || !freshHead(l.dir) {
		return nil, broken(0, 0, "audit.key missing")
	}
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := writeHead(l.dir, key, 0, zeroHash); err != nil {
		return nil, err
	}
	if err := durable.WriteFile(l.dir, keyName, key, 0o600, false); err != nil {
		return nil, fmt.Errorf("write %s: %w", keyName, err)
	}
	return key, nil
}

// Append adds e to the log, with Seq and Day set, and returns it as
// written. It returns only after the line and the new head are on disk.
// After a failed write the log refuses further appends; open it again.
func (l *Log) Append(e Entry) (Entry, error) {
	e.Seq, e.Day = 0, ""
	if err := check(e); err != nil {
		return Entry{}, fmt.Errorf("append audit entry: %w", err)
	}
	if l.lines != nil {
		return l.appendLines(e)
	}
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return Entry{}, errors.New("append audit entry: log closed")
	}
	if l.scheduled {
		w := &waiting{e: e, done: make(chan written, 1)}
		l.queue = append(l.queue, w)
		l.mu.Unlock()
		r := <-w.done
		return r.e, r.err
	}
	defer l.mu.Unlock()
	e, err := l.write(e)
	if err != nil {
		return Entry{}, err
	}
	// The files' own times would say when an officer acted to the second;
	// like the entries, they say the day. Failing here loses nothing.
	day, _ := time.Parse(time.DateOnly, e.Day)
	for _, p := range l.touched() {
		os.Chtimes(p, day, day)
	}
	return e, nil
}

// write appends e to the log file and replaces the head; l.mu is held.
func (l *Log) write(e Entry) (Entry, error) {
	if l.err != nil {
		return Entry{}, fmt.Errorf("append audit entry: log unusable after a failed write: %w", l.err)
	}
	e.Seq = l.seq + 1
	e.Day = l.now().UTC().Format(time.DateOnly)
	line, err := encodeRecord(l.key, record{
		Seq: e.Seq, Day: e.Day, Actor: e.Actor, Action: e.Action,
		Case: e.Case, Detail: e.Detail, Prev: hex.EncodeToString(l.last[:]),
	})
	if err != nil {
		return Entry{}, fmt.Errorf("append audit entry: %w", err)
	}
	hash := sha256.Sum256(line)
	line = append(line, '\n')
	if len(line) > MaxLine {
		return Entry{}, errors.New("append audit entry: line too long")
	}
	if _, err = l.f.Write(line); err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		l.err = err
		// Best effort: take back a partial line, so that the next Open
		// finds the log as it was.
		if l.f.Truncate(l.size) == nil {
			l.f.Sync()
		}
		return Entry{}, fmt.Errorf("append audit entry: %w", err)
	}
	if e.Case != "" {
		l.cases[e.Case] = append(l.cases[e.Case], lineAt{e.Seq, l.size})
	}
	l.seq, l.last, l.size = e.Seq, hash, l.size+int64(len(line))
	if err := writeHead(l.dir, l.key, l.seq, l.last); err != nil {
		// The entry is on disk; the next Open brings the head up to date.
		l.err = err
		return Entry{}, fmt.Errorf("append audit entry: %w", err)
	}
	return e, nil
}

// touched lists the files and the directory an append writes.
func (l *Log) touched() []string {
	return []string{filepath.Join(l.dir, logName), filepath.Join(l.dir, headName), l.dir}
}

// Tick puts the log on a schedule and runs one tick of it: from the first
// call on, [Log.Append] waits for the next Tick, which writes the waiting
// entries, then sets the modification time of the log's files and
// directory to at (and so their change time to about at), whether or not
// anything was written. A server wires it to the vault's schedule
// (vault.Store.OnTick), so the log's file times follow that schedule and
// not anyone's actions. A zero at ends the schedule: waiting entries are
// written at once, and later ones as they come.
//
// A log in a store ([OpenLines]) commits on its store's schedule: Tick
// does nothing, and never waits (an append holds the log's lock while it
// waits for the store's commit step, which the tick's goroutine opens).
func (l *Log) Tick(at time.Time) {
	if l.lines != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scheduled = !at.IsZero()
	l.flush()
	if at.IsZero() || l.f == nil {
		return
	}
	// The access time goes a day past the tick: in the future, a relatime
	// mount leaves it alone when the files are read.
	for _, p := range l.touched() {
		os.Chtimes(p, at.Add(24*time.Hour), at)
	}
}

// flush writes the waiting entries and answers their callers; l.mu is
// held.
func (l *Log) flush() {
	for _, w := range l.queue {
		var r written
		if l.f == nil {
			r.err = errors.New("append audit entry: log closed")
		} else {
			r.e, r.err = l.write(w.e)
		}
		w.done <- r
	}
	l.queue = nil
}

// Entries returns the entries for which filter returns true (all, if
// filter is nil), newest first, at most limit of them (all, if limit <= 0).
// It verifies the log as it reads it and fails if the log is broken.
func (l *Log) Entries(filter func(Entry) bool, limit int) ([]Entry, error) {
	if l.lines != nil {
		return l.entriesLines(filter, limit)
	}
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return nil, errors.New("read audit log: log closed")
	}
	want := head{Seq: l.seq, Hash: hex.EncodeToString(l.last[:])}
	size := l.size
	l.mu.Unlock()

	rf, err := os.Open(filepath.Join(l.dir, logName))
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rf.Close()
	c := newest{filter: filter, limit: limit}
	_, err = scan(io.NewSectionReader(rf, 0, size), l.key, &want, func(e Entry, _ int64) { c.add(e) })
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return c.entries(), nil
}

// newest collects, from entries read oldest first, the newest limit (all,
// if limit <= 0) that filter accepts (all, if filter is nil), in memory
// for at most twice limit.
type newest struct {
	filter func(Entry) bool
	limit  int
	got    []Entry
}

func (c *newest) add(e Entry) {
	if c.filter != nil && !c.filter(e) {
		return
	}
	c.got = append(c.got, e)
	if c.limit > 0 && len(c.got) >= 2*c.limit {
		c.got = append(c.got[:0], c.got[len(c.got)-c.limit:]...)
	}
}

// entries returns what was collected, newest first.
func (c *newest) entries() []Entry {
	got := c.got
	if c.limit > 0 && len(got) > c.limit {
		got = got[len(got)-c.limit:]
	}
	slices.Reverse(got)
	return got
}

// CaseEntries returns the entries about case ref for which filter returns
// true (all, if filter is nil), newest first, at most limit of them (all,
// if limit <= 0). Unlike [Log.Entries] it reads only the lines of that
// case, found by an index the log keeps in memory, newest first, and stops
// at limit: a case page costs what its own entries cost, not the log's
// length. Each line read is checked (form, MAC, seq); the hash chain
// through the whole log is checked by [Open], [Log.Entries] and [Verify].
func (l *Log) CaseEntries(ref string, filter func(Entry) bool, limit int) ([]Entry, error) {
	if l.lines != nil {
		return l.caseEntriesLines(ref, filter, limit)
	}
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return nil, errors.New("read audit log: log closed")
	}
	at := slices.Clone(l.cases[ref])
	l.mu.Unlock()
	if len(at) == 0 {
		return nil, nil
	}
	rf, err := os.Open(filepath.Join(l.dir, logName))
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rf.Close()
	var got []Entry
	buf := make([]byte, MaxLine)
	for i := len(at) - 1; i >= 0; i-- {
		n, err := rf.ReadAt(buf, at[i].off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		end := bytes.IndexByte(buf[:n], '\n')
		if end < 0 {
			return nil, fmt.Errorf("read audit log: %w", broken(at[i].seq, 0, "line not where the index says"))
		}
		_, e, p := decodeEntry(l.key, buf[:end], at[i].seq)
		switch {
		case p != nil:
			return nil, fmt.Errorf("read audit log: %w", p)
		case e.Case != ref:
			return nil, fmt.Errorf("read audit log: %w", broken(at[i].seq, e.Seq, "entry of another case where the index says"))
		case filter != nil && !filter(e):
			continue
		}
		got = append(got, e)
		if limit > 0 && len(got) == limit {
			break
		}
	}
	return got, nil
}

// Close closes the log. Closing a closed log does nothing.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines != nil {
		l.closed = true
		return nil
	}
	if l.f == nil {
		return nil
	}
	l.flush()
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("close audit log: %w", err)
	}
	return nil
}

// check enforces the limits on an entry's fields.
func check(e Entry) error {
	switch {
	case e.Actor == "":
		return errors.New("no actor")
	case len(e.Actor) > MaxActor:
		return fmt.Errorf("actor longer than %d bytes", MaxActor)
	case !printable(e.Actor):
		return errors.New("actor: invalid UTF-8 or control characters")
	case e.Action == "":
		return errors.New("no action")
	case len(e.Action) > MaxAction:
		return fmt.Errorf("action longer than %d bytes", MaxAction)
	case !only(e.Action, "abcdefghijklmnopqrstuvwxyz0123456789._-"):
		return errors.New("action: want lower-case letters, digits, '.', '_' or '-'")
	case len(e.Case) > MaxCase:
		return fmt.Errorf("case longer than %d bytes", MaxCase)
	case !only(e.Case, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"):
		return errors.New("case: want letters, digits or '-'")
	case len(e.Detail) > MaxDetail:
		return fmt.Errorf("detail longer than %d bytes", MaxDetail)
	case !printable(e.Detail):
		return errors.New("detail: invalid UTF-8 or control characters")
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

func only(s, set string) bool {
	for i := 0; i < len(s); i++ {
		found := false
		for j := 0; j < len(set); j++ {
			if s[i] == set[j] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// writeHead replaces audit.head with one for entry seq, whose line hashes
// to last.
func writeHead(dir string, key []byte, seq int64, last [sha256.Size]byte) error {
	b, err := encodeHead(key, head{Seq: seq, Hash: hex.EncodeToString(last[:])})
	if err == nil {
		err = durable.WriteFile(dir, headName, b, 0o600, true)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", headName, err)
	}
	return nil
}
