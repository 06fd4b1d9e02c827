package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"
)

// File names inside a log's directory.
const (
	logName  = "audit.log"
	keyName  = "audit.key"
	headName = "audit.head"
)

const (
	// MaxLine is the longest line, newline included, that [Verify] accepts.
	MaxLine = 64 << 10

	keySize     = 32
	maxHeadFile = 1 << 10
)

var zeroHash = [sha256.Size]byte{}

// ErrBroken is wrapped by every verification failure: a line that was
// edited, removed, inserted, moved or forged, a cut-off tail, a missing or
// altered head or key. Errors reading the files (permissions, I/O) do not
// wrap it.
var ErrBroken = errors.New("audit log broken")

// Problem describes why a log failed verification. It wraps [ErrBroken].
type Problem struct {
	// Line is the 1-based line of audit.log at fault, or 0 when the fault is
	// not in one line (a missing tail, the head or the key).
	Line int64
	// Seq is the sequence number the fault concerns, when known.
	Seq int64
	// Reason says what is wrong, in a few words.
	Reason string
	// Hint says what an operator can do about it.
	Hint string

	partial bool // the last line lacks its newline
}

func (p *Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
	}
	return p.Reason
}

// Unwrap returns [ErrBroken].
func (p *Problem) Unwrap() error { return ErrBroken }

const (
	hintTampered = "keep copies of audit.log, audit.head and audit.key as they are and investigate; do not delete or edit them"
	hintPartial  = "the last entry was cut off by an interrupted write (a crash or a full disk) and was never acknowledged; keep a copy of audit.log, delete its unfinished last line, then open it again"
)

func broken(line, seq int64, reason string) *Problem {
	return &Problem{Line: line, Seq: seq, Reason: reason, Hint: hintTampered}
}

// record is one line of audit.log. Field order is the wire order.
type record struct {
	Seq    int64  `json:"seq"`
	Day    string `json:"day"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Case   string `json:"case,omitempty"`
	Detail string `json:"detail,omitempty"`
	Prev   string `json:"prev"`
	Mac    string `json:"mac,omitempty"`
}

// head is the content of audit.head.
type head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	Mac  string `json:"mac,omitempty"`
}

// Domain separation between the two kinds of MAC'd text.
const (
	entryDomain = "cleandrop audit entry v1\n"
	headDomain  = "cleandrop audit head v1\n"
)

func mac(key []byte, domain string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(domain))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// encodeRecord returns the line for r (without newline), its mac filled in.
func encodeRecord(key []byte, r record) ([]byte, error) {
	r.Mac = ""
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	r.Mac = mac(key, entryDomain, body)
	return json.Marshal(r)
}

func encodeHead(key []byte, h head) ([]byte, error) {
	h.Mac = ""
	body, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	h.Mac = mac(key, headDomain, body)
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// canonical decodes line into v and reports whether line is exactly what
// encoding v again gives. That pins every byte: no extra spaces, fields,
// escapes or differently cased keys can hide in a line.
func canonical(line []byte, v any) (bad string) {
	if !utf8.Valid(line) {
		return "not valid UTF-8"
	}
	if err := json.Unmarshal(line, v); err != nil {
		return "not valid JSON"
	}
	again, err := json.Marshal(v)
	if err != nil || !bytes.Equal(again, line) {
		return "not in canonical form (entry edited)"
	}
	return ""
}

// decodeHead checks and decodes the content of audit.head.
func decodeHead(key, b []byte) (head, *Problem) {
	var h head
	line, ok := bytes.CutSuffix(b, []byte("\n"))
	if !ok {
		return h, broken(0, 0, "audit.head: incomplete")
	}
	if bad := canonical(line, &h); bad != "" {
		return h, broken(0, 0, "audit.head: "+bad)
	}
	want := h
	want.Mac = ""
	body, _ := json.Marshal(want)
	if !hmac.Equal([]byte(h.Mac), []byte(mac(key, headDomain, body))) {
		return h, broken(0, h.Seq, "audit.head: bad mac (altered, or audit.key replaced)")
	}
	if h.Seq < 0 {
		return h, broken(0, h.Seq, "audit.head: negative seq")
	}
	if h.Seq == 0 && h.Hash != hex.EncodeToString(zeroHash[:]) {
		return h, broken(0, 0, "audit.head: hash of an empty log is not zero")
	}
	return h, nil
}

// tail is where a scan ended.
type tail struct {
	n    int64             // good entries, = seq of the last
	last [sha256.Size]byte // hash of the last good line, zero if none
	size int64             // bytes of good lines
}

// scan reads lines from r and checks each: form, MAC, seq, chain. If want
// is not nil, the line with seq want.Seq must hash to want.Hash, and the log
// must reach it. visit, if not nil, sees each good entry in order. The error
// is a *Problem for a bad log, anything else for failed reads.
func scan(r io.Reader, key []byte, want *head, visit func(e Entry, off int64)) (tail, error) {
	var t tail
	br := bufio.NewReaderSize(r, MaxLine)
	for {
		lineNo := t.n + 1
		raw, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return t, broken(lineNo, 0, fmt.Sprintf("longer than %d bytes", MaxLine))
		case err == io.EOF && len(raw) == 0:
			return t, t.end(want)
		case err == io.EOF:
			if want != nil && lineNo <= want.Seq {
				return t, broken(lineNo, t.n, fmt.Sprintf("incomplete line: log truncated after entry %d (head says %d)", t.n, want.Seq))
			}
			return t, &Problem{Line: lineNo, Seq: 0, partial: true,
				Reason: "incomplete last line (write interrupted, perhaps by a crash)",
				Hint:   hintPartial}
		case err != nil:
			return t, fmt.Errorf("read %s: %w", logName, err)
		}
		line := raw[:len(raw)-1]

		rec, e, p := decodeEntry(key, line, lineNo)
		if p != nil {
			return t, p
		}
		if rec.Prev != hex.EncodeToString(t.last[:]) {
			return t, broken(lineNo, rec.Seq, "hash chain broken (entry edited, removed or moved)")
		}
		hash := sha256.Sum256(line)
		if want != nil && rec.Seq == want.Seq && hex.EncodeToString(hash[:]) != want.Hash {
			return t, broken(lineNo, rec.Seq, "does not match audit.head (entry replaced)")
		}
		off := t.size
		t.n, t.last = rec.Seq, hash
		t.size += int64(len(raw))
		if visit != nil {
			visit(e, off)
		}
	}
}

// decodeEntry checks one line (without its newline) that should hold entry
// seq: its form, its MAC, its seq and its fields. Its place in the hash
// chain is the caller's to check.
func decodeEntry(key, line []byte, seq int64) (record, Entry, *Problem) {
	var rec record
	if bad := canonical(line, &rec); bad != "" {
		return rec, Entry{}, broken(seq, 0, bad)
	}
	sum := rec.Mac
	rec.Mac = ""
	body, err := json.Marshal(rec)
	if err != nil {
		return rec, Entry{}, broken(seq, 0, "not valid JSON")
	}
	if !hmac.Equal([]byte(sum), []byte(mac(key, entryDomain, body))) {
		return rec, Entry{}, broken(seq, rec.Seq, "bad mac (entry forged or edited)")
	}
	if rec.Seq != seq {
		return rec, Entry{}, broken(seq, rec.Seq, fmt.Sprintf("seq %d where %d expected", rec.Seq, seq))
	}
	e := Entry{Seq: rec.Seq, Day: rec.Day, Actor: rec.Actor, Action: rec.Action, Case: rec.Case, Detail: rec.Detail}
	if err := check(e); err != nil {
		return rec, Entry{}, broken(seq, rec.Seq, fmt.Sprintf("invalid entry: %v", err))
	}
	if _, err := time.Parse(time.DateOnly, e.Day); err != nil {
		return rec, Entry{}, broken(seq, rec.Seq, "invalid entry: bad day")
	}
	return rec, e, nil
}

func (t tail) end(want *head) error {
	if want != nil && t.n < want.Seq {
		return broken(0, t.n, fmt.Sprintf("log truncated after entry %d (head says %d)", t.n, want.Seq))
	}
	return nil
}

var errTooLong = errors.New("too long")

// readSmall reads a file of at most limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLong
	}
	return b, nil
}

// readKey reads audit.key. A missing key gives an error wrapping
// fs.ErrNotExist.
func readKey(dir string) ([]byte, error) {
	b, err := readSmall(filepath.Join(dir, keyName), keySize)
	switch {
	case errors.Is(err, errTooLong):
		return nil, broken(0, 0, fmt.Sprintf("audit.key: longer than %d bytes", keySize))
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", keyName, err)
	case len(b) != keySize:
		return nil, broken(0, 0, fmt.Sprintf("audit.key: %d bytes where %d expected", len(b), keySize))
	}
	return b, nil
}

// readHead reads and checks audit.head.
func readHead(dir string, key []byte) (head, error) {
	b, err := readSmall(filepath.Join(dir, headName), maxHeadFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return head{}, broken(0, 0, "audit.head missing")
	case errors.Is(err, errTooLong):
		return head{}, broken(0, 0, "audit.head: too long")
	case err != nil:
		return head{}, fmt.Errorf("read %s: %w", headName, err)
	}
	h, p := decodeHead(key, b)
	if p != nil {
		return h, p
	}
	return h, nil
}

// Verify checks the log in dir: every line's form and MAC, the sequence
// numbers, the hash chain, and that the log reaches the entry recorded in
// audit.head. It only reads, so it can run while a [Log] appends; entries
// appended after the head was read count too.
//
// It returns the number of good entries. If the log is broken, that is the
// number before the first bad line, and the error is a [*Problem] (wrapping
// [ErrBroken]) naming the line and what is wrong with it. A directory with
// no audit.log at all gives an error wrapping [fs.ErrNotExist].
func Verify(dir string) (n int64, err error) {
	// A line being appended right now can look unfinished: look again
	// before calling it a crash.
	for range 3 {
		n, err = verify(dir)
		var p *Problem
		if !errors.As(err, &p) || !p.partial {
			break
		}
		time.Sleep(settle)
	}
	return n, err
}

// settle is how long Verify waits before it looks again at an unfinished
// last line. Tests may set it.
var settle = 20 * time.Millisecond

func verify(dir string) (n int64, err error) {
	key, err := readKey(dir)
	if errors.Is(err, fs.ErrNotExist) {
		// No key: either nothing was ever logged, or the key was removed.
		fi, lerr := os.Stat(filepath.Join(dir, logName))
		switch {
		case errors.Is(lerr, fs.ErrNotExist):
			return 0, fmt.Errorf("verify audit log: no %s in %s: %w", logName, dir, fs.ErrNotExist)
		case lerr != nil:
			return 0, fmt.Errorf("verify audit log: %w", lerr)
		case fi.Size() == 0 && freshHead(dir):
			return 0, nil // Open was interrupted before it wrote the key
		}
		return 0, broken(0, 0, "audit.key missing")
	}
	if err != nil {
		return 0, err
	}
	h, err := readHead(dir, key)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(filepath.Join(dir, logName))
	if errors.Is(err, fs.ErrNotExist) {
		if h.Seq == 0 {
			return 0, nil
		}
		return 0, broken(0, 0, fmt.Sprintf("audit.log missing (head says %d entries)", h.Seq))
	}
	if err != nil {
		return 0, fmt.Errorf("verify audit log: %w", err)
	}
	defer f.Close()
	t, err := scan(f, key, &h, nil)
	return t.n, err
}

// freshHead reports whether dir has no audit.head, or one that claims an
// empty log. It cannot check the head's MAC: it is called without a key.
func freshHead(dir string) bool {
	b, err := readSmall(filepath.Join(dir, headName), maxHeadFile)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	var h head
	line, _ := bytes.CutSuffix(b, []byte("\n"))
	return json.Unmarshal(line, &h) == nil && h.Seq == 0
}
