package bundle_test

import (
	"bytes"
	"errors"
	"io"
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

// FuzzReferralReader: whatever the bytes, every error names a file that is
// not a referral bundle or a damaged one; the items come in the manifest's
// order, each of its size, each name of its checksum, and nothing follows
// the last.
func FuzzReferralReader(f *testing.F) {
	from, _ := age.GenerateX25519Identity()
	to, _ := age.GenerateX25519Identity()
	export := writeExport(f, from)
	var ref bytes.Buffer
	if _, err := bundle.MakeReferral(bytes.NewReader(export), []age.Identity{from}, "a2", []age.Recipient{to.Recipient()}, &ref, bundle.OpenOptions{}); err != nil {
		f.Fatal(err)
	}
	valid := ref.Bytes()
	f.Add(valid)
	f.Add(valid[:len(valid)-1100])
	f.Add(export)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		rr, err := bundle.NewReferralReader(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, bundle.ErrNotReferral) && !errors.Is(err, bundle.ErrTampered) {
				t.Fatalf("NewReferralReader: %v is neither ErrNotReferral nor ErrTampered", err)
			}
			return
		}
		m := rr.Manifest()
		for i := 0; ; i++ {
			it, name, body, err := rr.Next()
			if err == io.EOF {
				if i != len(m.Items) {
					t.Fatalf("io.EOF after %d of %d items", i, len(m.Items))
				}
				return
			}
			if err != nil {
				if !errors.Is(err, bundle.ErrTampered) {
					t.Fatalf("Next: %v is not ErrTampered", err)
				}
				return
			}
			if i >= len(m.Items) || it.ID != m.Items[i].ID {
				t.Fatalf("item %d is not the manifest's %d", it.ID, i)
			}
			if (name != nil) != (it.NameFile != "") || (name != nil && sum(name) != it.NameSHA256) {
				t.Fatalf("item %d: a name where the manifest has none, or not its checksum", it.ID)
			}
			ct, err := io.ReadAll(body)
			if err != nil {
				return // cut short: the tar reader says so
			}
			if int64(len(ct)) != it.Size {
				t.Fatalf("item %d: %d bytes, the manifest says %d", it.ID, len(ct), it.Size)
			}
		}
	})
}
