package audit

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz/FuzzVerify")

// fuzzKey is the fixed key of the fuzz target's log, so that its seeds stay
// valid from run to run.
var fuzzKey = bytes.Repeat([]byte{0x42}, keySize)

const fuzzEntries = 4

// fuzzFixture builds a log of fuzzEntries entries under fuzzKey and returns
// its head file and log file.
func fuzzFixture(t testing.TB) (headFile, logFile []byte) {
	t.Helper()
	dir := t.TempDir()
	if err := writeHead(dir, fuzzKey, 0, zeroHash); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, keyName), fuzzKey, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fuzzEntries {
		if _, err := l.Append(sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	headFile, err = os.ReadFile(filepath.Join(dir, headName))
	if err != nil {
		t.Fatal(err)
	}
	logFile, err = os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	return headFile, logFile
}

// FuzzVerify writes fuzzed bytes as audit.log beside a valid key and head
// for a log of fuzzEntries entries. Verify must not panic, must report
// every failure as ErrBroken, and may accept only a log that holds the
// entries the head vouches for.
func FuzzVerify(f *testing.F) {
	headFile, logFile := fuzzFixture(f)
	f.Add(logFile)
	defer func(d time.Duration) { settle = d }(settle)
	settle = 0 // no writer runs here: do not wait on unfinished lines
	// One directory for all inputs: a fuzz function never runs in parallel
	// with itself in one process, and Verify changes nothing.
	dir := f.TempDir()
	for name, b := range map[string][]byte{keyName: fuzzKey, headName: headFile} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, logName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := Verify(dir)
		if n < 0 || n > int64(bytes.Count(data, []byte("\n"))) {
			t.Fatalf("Verify counted %d entries in %d lines", n, bytes.Count(data, []byte("\n")))
		}
		if err == nil {
			if n < fuzzEntries || !bytes.HasPrefix(data, logFile) {
				t.Fatalf("Verify accepted %d entries not extending the real log", n)
			}
			return
		}
		var p *Problem
		if !errors.Is(err, ErrBroken) || !errors.As(err, &p) {
			t.Fatalf("Verify error %v is not a *Problem wrapping ErrBroken", err)
		}
		if p.Reason == "" || p.Hint == "" {
			t.Fatalf("problem without reason or hint: %+v", p)
		}
	})
}

// TestFuzzSeeds keeps the seed corpus in step with the log format: the
// valid seed must verify. Run with -update to rewrite the seeds.
func TestFuzzSeeds(t *testing.T) {
	_, logFile := fuzzFixture(t)
	lines := bytes.SplitAfter(logFile, []byte("\n"))
	seeds := map[string][]byte{
		"valid":          logFile,
		"empty":          {},
		"truncated_tail": bytes.Join(lines[:2], nil),
		"partial_line":   append(bytes.Clone(logFile), lines[0][:30]...),
		"swapped":        bytes.Join([][]byte{lines[1], lines[0], lines[2], lines[3]}, nil),
		"invalid_utf8":   bytes.Replace(logFile, []byte("admin"), []byte("adm\xc3\x28n"), 1),
		"not_json":       []byte("seq 1\n"),
		"deep_nesting":   append(bytes.Repeat([]byte("["), 10000), '\n'),
		"long_line":      append(bytes.Repeat([]byte("a"), MaxLine+10), '\n'),
		"no_newline":     bytes.TrimSuffix(logFile, []byte("\n")),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range seeds {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("%v (run go test -run TestFuzzSeeds -update)", err)
			}
			if got := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(want))); string(b) != got {
				t.Errorf("seed %s is stale (run go test -run TestFuzzSeeds -update)", name)
			}
		})
	}
}

// FuzzCaseEntries opens a log of seven entries about two cases, then
// replaces audit.log under the open log with fuzzed bytes, as an attacker
// with the disk but not the key would. A case page reads its entries
// through the log's in-memory index: CaseEntries must not panic, must
// report every failure as ErrBroken, and may return only entries the log
// really holds for that case (no key, no forgery: each is one written, at
// its own seq); the untouched log gives back exactly what was written.
func FuzzCaseEntries(f *testing.F) {
	dir := f.TempDir()
	if err := writeHead(dir, fuzzKey, 0, zeroHash); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, keyName), fuzzKey, 0o600); err != nil {
		f.Fatal(err)
	}
	l, err := Open(dir, testNow)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { l.Close() })
	for i := range 7 {
		if _, err := l.Append(sample(i)); err != nil {
			f.Fatal(err)
		}
	}
	refs := []string{"CD-7QK2-M4XD", "CD-9ZZ1-AB3C", "CD-0000-0000"}
	want := map[string][]Entry{}
	for _, ref := range refs {
		if want[ref], err = l.CaseEntries(ref, nil, 0); err != nil {
			f.Fatal(err)
		}
	}
	if len(want[refs[0]]) != 3 || len(want[refs[1]]) != 1 || len(want[refs[2]]) != 0 {
		f.Fatalf("the fixture's case entries: %v", want)
	}
	logFile, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.SplitAfter(logFile, []byte("\n"))
	f.Add(logFile)
	f.Add(logFile[:len(logFile)/2])
	f.Add(bytes.Join([][]byte{lines[0], lines[1], lines[3], lines[2], lines[4], lines[5], lines[6]}, nil))
	f.Add(bytes.Replace(logFile, []byte("CD-9ZZ1-AB3C"), []byte("CD-7QK2-M4XD"), 1))
	f.Add(bytes.Replace(logFile, []byte("\n"), []byte(" \n"), 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, logName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, ref := range refs {
			got, err := l.CaseEntries(ref, nil, 0)
			if err != nil {
				if !errors.Is(err, ErrBroken) {
					t.Fatalf("%s: error %v is not ErrBroken", ref, err)
				}
				continue
			}
			if bytes.Equal(data, logFile) && len(got) != len(want[ref]) {
				t.Fatalf("%s: the untouched log gave %d entries of %d", ref, len(got), len(want[ref]))
			}
			for _, e := range got {
				i := slices.IndexFunc(want[ref], func(w Entry) bool { return w.Seq == e.Seq })
				if i < 0 || !reflect.DeepEqual(e, want[ref][i]) {
					t.Fatalf("%s: returned %+v, never written for it", ref, e)
				}
			}
		}
	})
}
