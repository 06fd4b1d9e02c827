package jurisdiction

import (
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds an operator's pack files to the loader: it may refuse
// them, never panic, and what it accepts passes Check.
func FuzzLoad(f *testing.F) {
	base := map[string][]byte{}
	for _, name := range []string{fileMeta, fileBodies, fileLaws, filePages} {
		b, err := embedded.ReadFile("packs/xk/" + name)
		if err != nil {
			f.Fatal(err)
		}
		base[name] = b
	}
	for i, name := range []string{fileMeta, fileBodies, fileLaws, filePages} {
		f.Add(uint8(i), base[name])
	}
	f.Add(uint8(0), []byte(`{"code":"xk","rules":[{"name":"process","fallback":"process","met":["closed"],"days":1}]}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		names := []string{fileMeta, fileBodies, fileLaws, filePages}
		m := fstest.MapFS{}
		for _, n := range names {
			m[n] = &fstest.MapFile{Data: base[n]}
		}
		m[names[int(which)%len(names)]] = &fstest.MapFile{Data: data}
		p, err := load(m, "fuzz")
		if err == nil {
			if probs := Check(p); len(probs) > 0 {
				t.Fatalf("accepted a pack with problems: %v", probs)
			}
		}
	})
}
