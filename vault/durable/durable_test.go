package durable

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(dir, "key", []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "key", []byte("two"), 0o600, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwrote without replace: %v", err)
	}
	if err := WriteFile(dir, "pub", []byte("a"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "pub", []byte("b"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		body string
		mode os.FileMode
	}{"key": {"one", 0o600}, "pub": {"b", 0o644}} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		st, _ := os.Stat(filepath.Join(dir, name))
		if string(b) != want.body || st.Mode().Perm() != want.mode {
			t.Errorf("%s: %q %v", name, b, st.Mode())
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// TestWriterWritesEverything: a file written through a Writer in pieces
// of odd sizes, past several writeback points, holds exactly what was
// written once synced.
func TestWriterWritesEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 3*WritebackEvery+12345)
	for i := range want {
		want[i] = byte(i * 7)
	}
	w := NewWriter(f)
	for rest := want; len(rest) > 0; {
		n := min(len(rest), 1<<20+333)
		if k, err := w.Write(rest[:n]); err != nil || k != n {
			t.Fatalf("write: %d of %d, %v", k, n, err)
		}
		rest = rest[n:]
	}
	if w.started < 3*WritebackEvery || w.off-w.started >= WritebackEvery {
		t.Fatalf("writeback started up to %d of %d, want past %d and within %d of the end", w.started, w.off, 3*WritebackEvery, WritebackEvery)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes (%v), want %d equal", len(got), err, len(want))
	}
}
