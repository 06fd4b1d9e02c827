package durable

import (
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
