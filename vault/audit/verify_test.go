package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// forge returns a line for entry seq after prev, with a MAC under key.
func forge(t *testing.T, key []byte, seq int64, prev []byte) []byte {
	t.Helper()
	h := sha256.Sum256(bytes.TrimSuffix(prev, []byte("\n")))
	if prev == nil {
		h = zeroHash
	}
	line, err := encodeRecord(key, record{Seq: seq, Day: testDay, Actor: "mallory", Action: "case.view", Prev: hex.EncodeToString(h[:])})
	if err != nil {
		t.Fatal(err)
	}
	return append(line, '\n')
}

func TestVerifyDetects(t *testing.T) {
	const n = 5
	otherKey := bytes.Repeat([]byte{7}, keySize)
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, lines [][]byte, key []byte)
		line   int64
		msg    string
	}{
		{"first line deleted", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, lines[1:])
		}, 1, "line 1: seq 2 where 1 expected"},
		{"middle line deleted", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, append(lines[:2:2], lines[3:]...))
		}, 3, "line 3: seq 4 where 3 expected"},
		{"last line deleted", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, lines[:n-1])
		}, 0, "log truncated after entry 4 (head says 5)"},
		{"two lines deleted from the tail", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, lines[:n-2])
		}, 0, "log truncated after entry 3 (head says 5)"},
		{"tail cut inside the last line", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, append(lines[:n-1:n-1], lines[n-1][:20]))
		}, 5, "line 5: incomplete line: log truncated after entry 4 (head says 5)"},
		{"log emptied", func(t *testing.T, dir string, _ [][]byte, _ []byte) {
			writeLines(t, dir, nil)
		}, 0, "log truncated after entry 0 (head says 5)"},
		{"two lines swapped", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			lines[1], lines[2] = lines[2], lines[1]
			writeLines(t, dir, lines)
		}, 2, "line 2: seq 3 where 2 expected"},
		{"line duplicated", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, append(lines[:3:3], lines[2:]...))
		}, 4, "line 4: seq 3 where 4 expected"},
		{"forged line appended without the key", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, append(lines, forge(t, otherKey, n+1, lines[n-1])))
		}, n + 1, "line 6: bad mac"},
		{"forged line inserted without the key", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, append(lines[:2:2], append([][]byte{forge(t, otherKey, 3, lines[1])}, lines[2:]...)...))
		}, 3, "line 3: bad mac"},
		{"line replaced by a key holder, chain not kept", func(t *testing.T, dir string, lines [][]byte, key []byte) {
			lines[2] = forge(t, key, 3, lines[0])
			writeLines(t, dir, lines)
		}, 3, "line 3: hash chain broken (entry edited, removed or moved)"},
		{"last line replaced by a key holder", func(t *testing.T, dir string, lines [][]byte, key []byte) {
			lines[n-1] = forge(t, key, n, lines[n-2])
			writeLines(t, dir, lines)
		}, n, "line 5: does not match audit.head"},
		{"space added", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			lines[1] = bytes.Replace(lines[1], []byte(`,"day"`), []byte(`, "day"`), 1)
			writeLines(t, dir, lines)
		}, 2, "line 2: not in canonical form"},
		{"key re-cased", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			lines[1] = bytes.Replace(lines[1], []byte(`"actor"`), []byte(`"Actor"`), 1)
			writeLines(t, dir, lines)
		}, 2, "line 2: not in canonical form"},
		{"field added", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			lines[1] = bytes.Replace(lines[1], []byte(`{"seq"`), []byte(`{"x":1,"seq"`), 1)
			writeLines(t, dir, lines)
		}, 2, "line 2: not in canonical form"},
		{"empty line inserted", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			writeLines(t, dir, append(lines[:2:2], append([][]byte{[]byte("\n")}, lines[2:]...)...))
		}, 3, "line 3: not valid JSON"},
		{"invalid UTF-8", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			lines[3] = bytes.Replace(lines[3], []byte("Ana"), []byte("A\xffa"), 1)
			writeLines(t, dir, lines)
		}, 4, "line 4: not valid UTF-8"},
		{"over-long line", func(t *testing.T, dir string, lines [][]byte, _ []byte) {
			lines[1] = append(bytes.Repeat([]byte("x"), MaxLine), '\n')
			writeLines(t, dir, lines)
		}, 2, "line 2: longer than 65536 bytes"},
		{"head deleted", func(t *testing.T, dir string, _ [][]byte, _ []byte) {
			os.Remove(filepath.Join(dir, headName))
		}, 0, "audit.head missing"},
		{"head seq edited", func(t *testing.T, dir string, _ [][]byte, _ []byte) {
			editFile(t, dir, headName, `"seq":5`, `"seq":4`)
		}, 0, "audit.head: bad mac"},
		{"head emptied", func(t *testing.T, dir string, _ [][]byte, _ []byte) {
			os.WriteFile(filepath.Join(dir, headName), nil, 0o600)
		}, 0, "audit.head: incomplete"},
		{"head not JSON", func(t *testing.T, dir string, _ [][]byte, _ []byte) {
			os.WriteFile(filepath.Join(dir, headName), []byte("seq 5\n"), 0o600)
		}, 0, "audit.head: not valid JSON"},
		{"key replaced", func(t *testing.T, dir string, _ [][]byte, _ []byte) {
			os.WriteFile(filepath.Join(dir, keyName), otherKey, 0o600)
		}, 0, "audit.head: bad mac"},
		{"key deleted", func(t *testing.T, dir string, _ [][]byte, _ []byte) {
			os.Remove(filepath.Join(dir, keyName))
		}, 0, "audit.key missing"},
		{"key cut short", func(t *testing.T, dir string, _ [][]byte, key []byte) {
			os.WriteFile(filepath.Join(dir, keyName), key[:31], 0o600)
		}, 0, "audit.key: 31 bytes where 32 expected"},
		{"key too long", func(t *testing.T, dir string, _ [][]byte, key []byte) {
			os.WriteFile(filepath.Join(dir, keyName), append(key, 0), 0o600)
		}, 0, "audit.key: longer than 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeLog(t, n)
			key, err := os.ReadFile(filepath.Join(dir, keyName))
			if err != nil {
				t.Fatal(err)
			}
			tt.tamper(t, dir, readLines(t, dir), key)
			_, err = Verify(dir)
			wantBroken(t, err, tt.line, tt.msg)
			p := wantOpenRefuses(t, dir)
			if p.Line != tt.line {
				t.Errorf("Open: problem on line %d, want %d", p.Line, tt.line)
			}
			// Refusing must not have "repaired" anything.
			_, err = Verify(dir)
			wantBroken(t, err, tt.line, tt.msg)
		})
	}
}

func editFile(t *testing.T, dir, name, old, new string) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q: %s", name, old, b)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyFlippedBytes flips bits in every byte of the log, one at a
// time, and checks that Verify names the line holding that byte.
func TestVerifyFlippedBytes(t *testing.T) {
	const n = 7
	dir := makeLog(t, n)
	path := filepath.Join(dir, logName)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := int64(1); line <= n; line++ {
		t.Run(fmt.Sprintf("line %d", line), func(t *testing.T) {
			start := 0
			for i := int64(1); i < line; i++ {
				start += bytes.IndexByte(orig[start:], '\n') + 1
			}
			end := start + bytes.IndexByte(orig[start:], '\n') // the newline belongs to the line
			for i := start; i <= end; i++ {
				for _, mask := range []byte{0x01, 0x20, 0x80} {
					b := bytes.Clone(orig)
					b[i] ^= mask
					if err := os.WriteFile(path, b, 0o600); err != nil {
						t.Fatal(err)
					}
					_, err := Verify(dir)
					p := wantBroken(t, err, line, fmt.Sprintf("line %d: ", line))
					if t.Failed() {
						t.Fatalf("byte %d of line %d (%q) ^ %#x: %v (problem %+v)", i-start, line, orig[i], mask, err, p)
					}
					if p := wantOpenRefuses(t, dir); p.Line != line {
						t.Fatalf("byte %d ^ %#x: Open problem on line %d", i-start, mask, p.Line)
					}
				}
			}
		})
	}
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Verify(dir); err != nil || got != n {
		t.Errorf("Verify of the restored log = %d, %v", got, err)
	}
}

// TestHalfWrittenLine simulates a crash in the middle of writing a line
// that was never acknowledged.
func TestHalfWrittenLine(t *testing.T) {
	tests := []struct {
		name    string
		partial string
	}{
		{"start of an entry", `{"seq":4,"day":"2025-03-`},
		{"one byte", `{`},
		{"all but the newline", ""}, // filled in below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeLog(t, 3)
			path := filepath.Join(dir, logName)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			partial := []byte(tt.partial)
			if len(partial) == 0 {
				key, _ := os.ReadFile(filepath.Join(dir, keyName))
				lines := readLines(t, dir)
				partial = bytes.TrimSuffix(forge(t, key, 4, lines[2]), []byte("\n"))
			}
			if err := os.WriteFile(path, append(bytes.Clone(before), partial...), 0o600); err != nil {
				t.Fatal(err)
			}

			n, err := Verify(dir)
			p := wantBroken(t, err, 4, "line 4: incomplete last line (write interrupted, perhaps by a crash)")
			if n != 3 {
				t.Errorf("Verify counted %d good entries, want 3", n)
			}
			if !strings.Contains(p.Hint, "delete its unfinished last line") {
				t.Errorf("Verify hint %q", p.Hint)
			}

			p = wantOpenRefuses(t, dir)
			if p.Line != 4 || !strings.Contains(p.Hint, "never acknowledged") {
				t.Errorf("Open problem %+v, want line 4 with a hint", p)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, append(before, partial...)) {
				t.Error("Open changed the log it refused")
			}

			// Following the hint: drop the unfinished line and carry on.
			if err := os.WriteFile(path, before, 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := Open(dir, testNow)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if e, err := l.Append(sample(3)); err != nil || e.Seq != 4 {
				t.Fatalf("Append after repair = %+v, %v", e, err)
			}
			if n, err := Verify(dir); err != nil || n != 4 {
				t.Errorf("Verify after repair = %d, %v", n, err)
			}
		})
	}
}
