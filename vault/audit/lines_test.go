package audit

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"
)

// memLines is an in-memory [Lines] with optimistic transactions: Append
// reads the head, calls next without the lock, and commits only if the
// head is still the one it read, else calls next again, as a serializable
// database retries a transaction that lost a race.
type memLines struct {
	mu      sync.Mutex
	head    []byte
	lines   map[int64][]byte
	cases   map[string][]int64
	retries int
}

func newMemLines() *memLines {
	return &memLines{lines: map[int64][]byte{}, cases: map[string][]int64{}}
}

func (m *memLines) Append(next func(head []byte) (NewLine, error)) error {
	for {
		m.mu.Lock()
		read := bytes.Clone(m.head)
		m.mu.Unlock()
		nl, err := next(read)
		if err != nil {
			return err
		}
		m.mu.Lock()
		if !bytes.Equal(m.head, read) {
			m.retries++
			m.mu.Unlock()
			continue
		}
		if _, ok := m.lines[nl.Seq]; ok {
			m.mu.Unlock()
			return StoreProblem(fmt.Sprintf("line %d exists", nl.Seq))
		}
		m.lines[nl.Seq], m.head = bytes.Clone(nl.Line), bytes.Clone(nl.Head)
		if nl.Case != "" {
			m.cases[nl.Case] = append(m.cases[nl.Case], nl.Seq)
		}
		m.mu.Unlock()
		return nil
	}
}

func (m *memLines) CaseLines(ref string, fn func(int64, []byte) bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, seq := range slices.Backward(m.cases[ref]) {
		line, ok := m.lines[seq]
		if !ok {
			return StoreProblem(fmt.Sprintf("line %d missing", seq))
		}
		if !fn(seq, line) {
			return nil
		}
	}
	return nil
}

func (m *memLines) Scan(fn func(int64, []byte) error) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, seq := range slices.Sorted(maps.Keys(m.lines)) {
		if err := fn(seq, m.lines[seq]); err != nil {
			return nil, err
		}
	}
	return m.head, nil
}

var linesKey = bytes.Repeat([]byte{7}, keySize)

// TestLinesTwoLogsAppendingAtOnceMakeOneChain: two logs over one store,
// as two front-ends, each appending from many goroutines at once, give one
// chain holding every entry once, numbered without gap, that verifies.
func TestLinesTwoLogsAppendingAtOnceMakeOneChain(t *testing.T) {
	m := newMemLines()
	a, err := OpenLines(m, linesKey, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenLines(m, linesKey, testNow)
	if err != nil {
		t.Fatal(err)
	}
	const each = 40
	var wg sync.WaitGroup
	for i, l := range []*Log{a, b} {
		for j := range each {
			wg.Go(func() {
				if _, err := l.Append(Entry{Actor: fmt.Sprintf("officer %d", i), Action: "case.view", Detail: fmt.Sprint(j)}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	n, err := VerifyLines(m, linesKey)
	if err != nil || n != 2*each {
		t.Fatalf("VerifyLines = %d, %v; want %d entries", n, err, 2*each)
	}
	es, err := b.Entries(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, e := range es {
		if e.Seq != int64(len(es)-i) || e.Day != testDay {
			t.Fatalf("entry %d: seq %d day %s", i, e.Seq, e.Day)
		}
		seen[e.Actor+"/"+e.Detail] = true
	}
	if len(seen) != 2*each {
		t.Fatalf("%d distinct entries of %d", len(seen), 2*each)
	}
	t.Logf("%d entries, %d appends ran again after losing a race", n, m.retries)
}

// TestLinesCaseEntriesSeeOtherLogsEntries: a case page on one front-end
// shows what officers did on the other.
func TestLinesCaseEntriesSeeOtherLogsEntries(t *testing.T) {
	m := newMemLines()
	a, _ := OpenLines(m, linesKey, testNow)
	b, _ := OpenLines(m, linesKey, testNow)
	for i := range 7 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if _, err := l.Append(sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.CaseEntries("CD-7QK2-M4XD", nil, 2)
	if err != nil || len(got) != 2 || got[0].Seq != 6 || got[1].Seq != 4 {
		t.Fatalf("CaseEntries = %+v, %v; want seqs 6, 4", got, err)
	}
	got, err = b.CaseEntries("CD-7QK2-M4XD", func(e Entry) bool { return e.Action != "bundle.export" }, 0)
	if err != nil || len(got) != 2 || got[0].Seq != 4 || got[1].Seq != 3 {
		t.Fatalf("CaseEntries with a filter = %+v, %v; want seqs 4, 3", got, err)
	}
	// An index that names another case's line, or a changed line, is
	// found as the file log's index is checked.
	m.cases["CD-9ZZ1-AB3C"] = append(m.cases["CD-9ZZ1-AB3C"], 6)
	_, err = a.CaseEntries("CD-9ZZ1-AB3C", nil, 0)
	wantBroken(t, errors.Unwrap(err), 6, "entry of another case")
	m.cases["CD-9ZZ1-AB3C"] = m.cases["CD-9ZZ1-AB3C"][:1]
	m.lines[5] = bytes.Replace(m.lines[5], []byte("question.ask"), []byte("question.asK"), 1)
	_, err = a.CaseEntries("CD-9ZZ1-AB3C", nil, 0)
	wantBroken(t, errors.Unwrap(err), 5, "bad mac")
	m.lines[5] = bytes.Replace(m.lines[5], []byte("question.asK"), []byte("question.ask"), 1)
	if err := a.Backup(nil); !errors.Is(err, ErrInStore) {
		t.Fatalf("Backup = %v, want ErrInStore", err)
	}
	a.Tick(time.Now()) // does nothing, and does not block
	a.Close()
	if _, err := a.Append(sample(0)); err == nil {
		t.Fatal("append to a closed log")
	}
	if _, err := b.Append(sample(0)); err != nil {
		t.Fatal(err)
	}
}

// TestLinesTamperingIsDetected: a line changed, removed or moved in the
// store, a cut-off tail, a removed head or a wrong key fail verification
// with a Problem, and OpenLines refuses the log.
func TestLinesTamperingIsDetected(t *testing.T) {
	build := func(t *testing.T) *memLines {
		m := newMemLines()
		l, err := OpenLines(m, linesKey, testNow)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			if _, err := l.Append(sample(i)); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		tamper func(m *memLines)
		key    []byte
		line   int64
		msg    string
	}{
		{"changed", func(m *memLines) {
			m.lines[3] = bytes.Replace(m.lines[3], []byte("CD-7QK2-M4XD"), []byte("CD-7QK2-M4XE"), 1)
		}, linesKey, 3, "bad mac"},
		{"removed", func(m *memLines) { delete(m.lines, 3) }, linesKey, 3, "missing or out of place"},
		{"swapped", func(m *memLines) { m.lines[2], m.lines[3] = m.lines[3], m.lines[2] }, linesKey, 2, "seq 3 where 2 expected"},
		{"renumbered", func(m *memLines) { m.lines[7] = m.lines[6]; delete(m.lines, 6) }, linesKey, 6, "missing or out of place"},
		{"tail cut", func(m *memLines) { delete(m.lines, 6) }, linesKey, 0, "truncated after entry 5"},
		{"head removed", func(m *memLines) { m.head = nil }, linesKey, 0, "head missing"},
		{"head edited", func(m *memLines) { m.head = bytes.Replace(m.head, []byte(`"seq":6`), []byte(`"seq":5`), 1) }, linesKey, 0, "head: bad mac"},
		{"other key", func(*memLines) {}, bytes.Repeat([]byte{8}, keySize), 1, "bad mac"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := build(t)
			if n, err := VerifyLines(m, linesKey); err != nil || n != 6 {
				t.Fatalf("before: %d, %v", n, err)
			}
			tc.tamper(m)
			_, err := VerifyLines(m, tc.key)
			wantBroken(t, err, tc.line, tc.msg)
			if _, err := OpenLines(m, tc.key, testNow); !errors.Is(err, ErrBroken) {
				t.Fatalf("OpenLines = %v, want ErrBroken", err)
			}
		})
	}
}

// TestLinesStoreErrorsMarkedBrokenBecomeProblems: a value the store
// cannot authenticate is reported as a broken log, not an I/O error.
func TestLinesStoreErrorsMarkedBrokenBecomeProblems(t *testing.T) {
	m := failingLines{err: fmt.Errorf("a/line/3: %w (value fails authentication)", ErrBroken)}
	_, err := VerifyLines(m, linesKey)
	wantBroken(t, err, 1, "fails authentication")
	_, err = VerifyLines(failingLines{err: StoreProblem("a stored line fails authentication")}, linesKey)
	if p := wantBroken(t, err, 1, "a stored line fails authentication"); p.Hint != hintStore {
		t.Errorf("hint %q", p.Hint)
	}
	other := errors.New("connection refused")
	if _, err := VerifyLines(failingLines{err: other}, linesKey); !errors.Is(err, other) || errors.Is(err, ErrBroken) {
		t.Fatalf("VerifyLines = %v, want the store's error, not ErrBroken", err)
	}
}

type failingLines struct{ err error }

func (f failingLines) Append(func([]byte) (NewLine, error)) error     { return f.err }
func (f failingLines) Scan(func(int64, []byte) error) ([]byte, error) { return nil, f.err }
func (f failingLines) CaseLines(string, func(int64, []byte) bool) error {
	return f.err
}
