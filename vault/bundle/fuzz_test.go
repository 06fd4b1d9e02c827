package bundle_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"cleandrop/vault/bundle"
)

// fuzzIdentity is the test key the seeds in testdata/fuzz/FuzzOpenBundle
// are sealed to (vault's TestFuzzSeeds writes them, from a real export).
const fuzzIdentity = "AGE-SECRET-KEY-1WZUJ99F3Q8GV5E2SNKCA2XCVWPUV4JJG0573U5L25SZCMT6NHAUQU9JA6J"

func FuzzOpenBundle(f *testing.F) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		th, err := bundle.Open(bytes.NewReader(data), []age.Identity{id}, out)
		ents, _ := os.ReadDir(parent)
		for _, e := range ents {
			if e.Name() != "out" {
				t.Fatalf("Open wrote %q beside its output directory", e.Name())
			}
		}
		if err != nil {
			if len(ents) != 0 {
				t.Fatalf("Open failed (%v) but left %v", err, ents)
			}
			return
		}
		filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type()&fs.ModeSymlink != 0 {
				t.Errorf("symlink written: %s", path)
			}
			return nil
		})
		for _, e := range th.Entries {
			if !filepath.IsLocal(e.File) {
				t.Errorf("entry %d: file %q is not local", e.ID, e.File)
			}
		}
	})
}
